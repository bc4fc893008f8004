// What ghz and grpcurl rely on to work without .proto files: health checks and reflection.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <grpcpp/generic/generic_stub.h>

#include <future>
#include <set>
#include <string_view>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "support/test_server.h"

using namespace aexd;
using namespace aexd::test;

namespace {

grpc::ByteBuffer bytes(const std::string& raw) {
  grpc::Slice slice(raw);
  return grpc::ByteBuffer(&slice, 1);
}

std::string text(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  REQUIRE(buffer.Dump(&slices).ok());
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

}  // namespace

TEST_CASE("the standard health service reports SERVING") {
  TestServer server;
  grpc::GenericStub stub(server.channel());
  grpc::ClientContext ctx;
  const grpc::ByteBuffer request = bytes("");
  grpc::ByteBuffer reply;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", {}, &request, &reply,
                 [&](grpc::Status s) { done.set_value(s); });
  REQUIRE(done.get_future().get().ok());
  CHECK(text(reply) == std::string("\x08\x01", 2));  // HealthCheckResponse{status: SERVING}
}

TEST_CASE("server reflection lists the agentic services") {
  TestServer server;
  grpc::GenericStub stub(server.channel());
  grpc::ClientContext ctx;
  grpc::CompletionQueue cq;
  void* tag = nullptr;
  bool ok = false;
  auto call = stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  REQUIRE(cq.Next(&tag, &ok));
  REQUIRE(ok);
  call->WriteLast(bytes(std::string("\x3a\x00", 2)), grpc::WriteOptions(),
                  reinterpret_cast<void*>(2));  // list_services
  REQUIRE(cq.Next(&tag, &ok));
  REQUIRE(ok);
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(3));
  REQUIRE(cq.Next(&tag, &ok));
  REQUIRE(ok);
  const std::string listing = text(reply);
  for (const char* service : {"ai.stigmer.agentic.agentexecution.v1.AgentExecutionCommandController",
                              "ai.stigmer.agentic.agentexecution.v1.AgentExecutionQueryController",
      "aexd.v1.ExecutionDispatch",
                              "ai.stigmer.agentic.agent.v1.AgentCommandController",
                              "ai.stigmer.agentic.session.v1.SessionQueryController", "grpc.health.v1.Health"})
    CHECK_MESSAGE(listing.find(service) != std::string::npos, service);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  while (cq.Next(&tag, &ok) && tag != reinterpret_cast<void*>(4)) {
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

namespace {

namespace reflection = grpc::reflection::v1;
using ReflectionStream =
    grpc::ClientReaderWriter<reflection::ServerReflectionRequest, reflection::ServerReflectionResponse>;

/// A reflection stream of either version. v1alpha's messages are field for field v1's: gRPC 1.51
/// compiles them into libgrpc++_reflection without installing their header, so v1alpha is v1's
/// generated messages on the v1alpha method.
std::unique_ptr<ReflectionStream> open_reflection(const std::shared_ptr<grpc::Channel>& channel,
                                                  grpc::ClientContext& ctx, std::string_view version) {
  if (version == "v1") return reflection::ServerReflection::NewStub(channel)->ServerReflectionInfo(&ctx);
  const grpc::internal::RpcMethod method("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                         grpc::internal::RpcMethod::BIDI_STREAMING, channel);
  return std::unique_ptr<ReflectionStream>(
      grpc::internal::ClientReaderWriterFactory<reflection::ServerReflectionRequest,
                                                reflection::ServerReflectionResponse>::Create(channel.get(), method,
                                                                                              &ctx));
}

reflection::ServerReflectionResponse ask(ReflectionStream& stream, const reflection::ServerReflectionRequest& request) {
  REQUIRE(stream.Write(request));
  reflection::ServerReflectionResponse response;
  REQUIRE(stream.Read(&response));
  return response;
}

}  // namespace

TEST_CASE("both reflection versions list every service, health included, and describe each of them") {
  TestServer server;
  const std::set<std::string> expected{
      "ai.stigmer.agentic.agent.v1.AgentCommandController",
      "ai.stigmer.agentic.agent.v1.AgentQueryController",
      "ai.stigmer.agentic.agentinstance.v1.AgentInstanceCommandController",
      "ai.stigmer.agentic.agentinstance.v1.AgentInstanceQueryController",
      "ai.stigmer.agentic.session.v1.SessionCommandController",
      "ai.stigmer.agentic.session.v1.SessionQueryController",
      "ai.stigmer.agentic.agentexecution.v1.AgentExecutionCommandController",
      "ai.stigmer.agentic.agentexecution.v1.AgentExecutionQueryController",
      "aexd.v1.ExecutionDispatch",
      "grpc.health.v1.Health",
      "grpc.reflection.v1alpha.ServerReflection",
      "grpc.reflection.v1.ServerReflection",
  };
  for (const char* version : {"v1alpha", "v1"}) {
    INFO("grpc.reflection." << std::string(version));
    grpc::ClientContext ctx;
    auto stream = open_reflection(server.channel(), ctx, version);
    reflection::ServerReflectionRequest list;
    list.set_list_services("");
    const auto listed = ask(*stream, list);
    REQUIRE(listed.has_list_services_response());
    std::set<std::string> names;
    for (const auto& s : listed.list_services_response().service()) names.insert(s.name());
    CHECK(names == expected);

    for (const auto& name : names) {
      INFO("service " << name);
      reflection::ServerReflectionRequest symbol;
      symbol.set_file_containing_symbol(name);
      const auto described = ask(*stream, symbol);
      REQUIRE(described.has_file_descriptor_response());
      // The files come with their imports: what a client gets must build on its own. gRPC 1.51's
      // v1alpha keeps one response per stream, so it resends earlier answers' files too; clients
      // (grpcurl) take each file once by name, and so does this one.
      google::protobuf::SimpleDescriptorDatabase files;
      std::set<std::string> added;
      for (const auto& bytes : described.file_descriptor_response().file_descriptor_proto()) {
        google::protobuf::FileDescriptorProto file;
        REQUIRE(file.ParseFromString(bytes));
        if (added.insert(file.name()).second) REQUIRE(files.Add(file));
      }
      google::protobuf::DescriptorPool pool(&files);
      CHECK(pool.FindServiceByName(name) != nullptr);
    }
    stream->WritesDone();
    CHECK(stream->Finish().ok());
  }
}

TEST_CASE("health answers through the stub generated from grpc/health/v1/health.proto") {
  TestServer server;
  auto stub = grpc::health::v1::Health::NewStub(server.channel());
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckResponse response;
  REQUIRE(stub->Check(&ctx, grpc::health::v1::HealthCheckRequest{}, &response).ok());
  CHECK(response.status() == grpc::health::v1::HealthCheckResponse::SERVING);
}
