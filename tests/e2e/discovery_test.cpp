// What ghz and grpcurl rely on to work without .proto files: health checks and reflection.
#include <grpcpp/generic/generic_stub.h>

#include <future>

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
