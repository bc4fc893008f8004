#include "api/reflection_v1.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/impl/server_initializer.h>

#include <set>
#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace aexd::api {
namespace {

namespace v1 = grpc::reflection::v1;
namespace pb = google::protobuf;

/// The answer to one request; lookups are in memory, so they run on the reaction's thread.
class Answer {
 public:
  Answer(const std::vector<std::string>& services, const v1::ServerReflectionRequest& request,
         v1::ServerReflectionResponse& out)
      : services_(services), out_(out) {
    out_.set_valid_host(request.host());
    *out_.mutable_original_request() = request;
    fill(request);
  }

 private:
  void fill(const v1::ServerReflectionRequest& request) {
    const pb::DescriptorPool& pool = *pb::DescriptorPool::generated_pool();
    switch (request.message_request_case()) {
      case v1::ServerReflectionRequest::kListServices:
        for (const auto& name : services_) out_.mutable_list_services_response()->add_service()->set_name(name);
        return;
      case v1::ServerReflectionRequest::kFileByFilename:
        return files(pool.FindFileByName(request.file_by_filename()), "file " + request.file_by_filename());
      case v1::ServerReflectionRequest::kFileContainingSymbol:
        return files(pool.FindFileContainingSymbol(request.file_containing_symbol()),
                     "symbol " + request.file_containing_symbol());
      case v1::ServerReflectionRequest::kFileContainingExtension: {
        const auto& ext = request.file_containing_extension();
        const auto* type = pool.FindMessageTypeByName(ext.containing_type());
        const auto* field = type ? pool.FindExtensionByNumber(type, ext.extension_number()) : nullptr;
        return files(field ? field->file() : nullptr,
                     "extension " + ext.containing_type() + "(" + std::to_string(ext.extension_number()) + ")");
      }
      case v1::ServerReflectionRequest::kAllExtensionNumbersOfType: {
        const auto* type = pool.FindMessageTypeByName(request.all_extension_numbers_of_type());
        if (!type) return error(grpc::StatusCode::NOT_FOUND, "type " + request.all_extension_numbers_of_type());
        std::vector<const pb::FieldDescriptor*> extensions;
        pool.FindAllExtensions(type, &extensions);
        auto* numbers = out_.mutable_all_extension_numbers_response();
        numbers->set_base_type_name(type->full_name());
        for (const auto* e : extensions) numbers->add_extension_number(e->number());
        return;
      }
      default:
        return error(grpc::StatusCode::UNIMPLEMENTED, "unknown request");
    }
  }

  /// The file and, as v1alpha does, every file it imports (a client needs them to build it).
  void files(const pb::FileDescriptor* file, const std::string& what) {
    if (!file) return error(grpc::StatusCode::NOT_FOUND, what + " not found");
    std::set<std::string> sent;
    std::vector<const pb::FileDescriptor*> todo{file};
    auto* response = out_.mutable_file_descriptor_response();
    while (!todo.empty()) {
      const auto* f = todo.back();
      todo.pop_back();
      if (!sent.insert(f->name()).second) continue;
      pb::FileDescriptorProto proto;
      f->CopyTo(&proto);
      if (!proto.SerializeToString(response->add_file_descriptor_proto()))
        return error(grpc::StatusCode::INTERNAL, "cannot encode " + f->name());
      for (int i = 0; i < f->dependency_count(); ++i) todo.push_back(f->dependency(i));
    }
  }

  void error(grpc::StatusCode code, const std::string& message) {
    auto* e = out_.mutable_error_response();
    e->set_error_code(code);
    e->set_error_message(message);
  }

  const std::vector<std::string>& services_;
  v1::ServerReflectionResponse& out_;
};

/// Read, answer, write, until the client half-closes: one operation in flight at a time, so
/// reactions never overlap and Finish runs once (after a failed read or write).
class Stream final : public grpc::ServerBidiReactor<v1::ServerReflectionRequest, v1::ServerReflectionResponse> {
 public:
  explicit Stream(const std::vector<std::string>& services) : services_(services) { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);
    response_.Clear();
    Answer{services_, request_, response_};
    StartWrite(&response_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  const std::vector<std::string>& services_;
  v1::ServerReflectionRequest request_;
  v1::ServerReflectionResponse response_;
};

class Service final : public v1::ServerReflection::CallbackService {
 public:
  grpc::ServerBidiReactor<v1::ServerReflectionRequest, v1::ServerReflectionResponse>* ServerReflectionInfo(
      grpc::CallbackServerContext*) override {
    return new Stream(*services_);
  }
  /// The server's own list of service names, owned by the grpc::Server.
  void set_services(const std::vector<std::string>* services) { services_ = services; }

 private:
  const std::vector<std::string>* services_ = nullptr;
};

class Plugin final : public grpc::ServerBuilderPlugin {
 public:
  std::string name() override { return "aexd_reflection_v1"; }
  // Before the server starts, so no call can see an unset list; gRPC appends to it while starting.
  void InitServer(grpc::ServerInitializer* si) override {
    service_->set_services(si->GetServiceList());
    si->RegisterService(service_);
  }
  void Finish(grpc::ServerInitializer*) override {}
  void ChangeArguments(const std::string&, void*) override {}

 private:
  std::shared_ptr<Service> service_ = std::make_shared<Service>();
};

class Option final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->push_back(std::make_unique<Plugin>());
  }
};

}  // namespace

std::unique_ptr<grpc::ServerBuilderOption> reflection_v1() { return std::make_unique<Option>(); }

}  // namespace aexd::api
