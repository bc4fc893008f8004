#include "api/services.h"

#include <chrono>
#include <memory>

#include "domain/idempotency.h"

namespace aexd::api {
namespace {

/// A write job that runs `work(tx, out, &encoded)` and replies with the state as the write encoded it.
template <class Work>
auto replying_with_written(grpc::ByteBuffer* response, Work work) {
  return [response, work](store::Tx& tx) {
    Execution out;
    model::SnapshotPtr encoded;
    auto status = work(tx, out, &encoded);
    if (status.ok()) *response = encoded->message();
    return status;
  };
}

/// The create's idempotency key from its request header, checked; null without the header.
grpc::Status read_idempotency(const grpc::CallbackServerContext& ctx, const Execution& request,
                              std::chrono::milliseconds ttl, std::shared_ptr<const pipeline::Idempotency>& out) {
  const auto& headers = ctx.client_metadata();
  const auto found = headers.find(grpc::string_ref(kIdempotencyKeyHeader.data(), kIdempotencyKeyHeader.size()));
  if (found == headers.end()) return grpc::Status::OK;
  const std::string_view key(found->second.data(), found->second.size());
  if (auto s = validate_idempotency_key(key); !s.ok()) return s;
  // Hashed here, on the gRPC thread, rather than on the writer that every create shares.
  out = std::make_shared<pipeline::Idempotency>(
      pipeline::Idempotency{std::string(key), request_fingerprint(request), ttl});
  return grpc::Status::OK;
}

}  // namespace

grpc::ServerUnaryReactor* ExecutionCommands::create(grpc::CallbackServerContext* ctx, const Bytes* request,
                                                    Bytes* response) {
  auto input = std::make_shared<Execution>();
  std::shared_ptr<const pipeline::Idempotency> idempotency;
  auto checked = decode_request(*request, *input);
  if (checked.ok()) checked = read_idempotency(*ctx, *input, backend_.idempotency_ttl, idempotency);
  if (!checked.ok())
    return detail::admit(backend_, ctx, methods::kExecutionCreate, {}, [&](auto done) { done(checked); });
  return write_call(
      backend_, ctx, methods::kExecutionCreate, {},
      replying_with_written(response, [input, idempotency](store::Tx& tx, Execution& out, model::SnapshotPtr* encoded) {
        return pipeline::create_execution(tx, *input, out, encoded, idempotency.get());
      }));
}

grpc::ServerUnaryReactor* ExecutionCommands::update(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) {
  return command_call<Execution, Execution>(
      backend_, ctx, methods::kExecutionUpdate, req, resp,
      [](store::Tx& tx, const Execution& r, Execution& out) { return pipeline::update(tx, r, out); });
}

grpc::ServerUnaryReactor* ExecutionCommands::updateStatus(grpc::CallbackServerContext* ctx, const Bytes* request,
                                                          Bytes* response) {
  auto input = std::make_shared<exv1::AgentExecutionUpdateStatusInput>();
  if (auto decoded = decode_request(*request, *input); !decoded.ok())
    return detail::admit(backend_, ctx, methods::kExecutionUpdateStatus, {}, [&](auto done) { done(decoded); });
  return write_call(
      backend_, ctx, methods::kExecutionUpdateStatus, input->execution_id(),
      replying_with_written(response, [input](store::Tx& tx, Execution& out, model::SnapshotPtr* encoded) {
        return pipeline::update_status(tx, *input, out, encoded);
      }));
}

grpc::ServerUnaryReactor* ExecutionCommands::delete_(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) {
  return command_call<res::ApiResourceId, Execution>(
      backend_, ctx, methods::kExecutionDelete, req, resp,
      [](store::Tx& tx, const res::ApiResourceId& r, Execution& out) { return pipeline::remove(tx, r.value(), out); });
}

grpc::ServerUnaryReactor* ExecutionCommands::cancel(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) {
  return command_call<exv1::CancelAgentExecutionInput, Execution>(
      backend_, ctx, methods::kExecutionCancel, req, resp,
      [](store::Tx& tx, const exv1::CancelAgentExecutionInput& r, Execution& out) {
        return pipeline::transition(tx, r.id(), Lifecycle::cancel, r.reason(), out);
      });
}

grpc::ServerUnaryReactor* ExecutionCommands::terminate(grpc::CallbackServerContext* ctx, const Bytes* req,
                                                       Bytes* resp) {
  return command_call<exv1::TerminateAgentExecutionInput, Execution>(
      backend_, ctx, methods::kExecutionTerminate, req, resp,
      [](store::Tx& tx, const exv1::TerminateAgentExecutionInput& r, Execution& out) {
        return pipeline::transition(tx, r.id(), Lifecycle::terminate, r.reason(), out);
      });
}

grpc::ServerUnaryReactor* ExecutionCommands::pause(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) {
  return command_call<exv1::PauseAgentExecutionInput, Execution>(
      backend_, ctx, methods::kExecutionPause, req, resp,
      [](store::Tx& tx, const exv1::PauseAgentExecutionInput& r, Execution& out) {
        return pipeline::transition(tx, r.id(), Lifecycle::pause, r.reason(), out);
      });
}

grpc::ServerUnaryReactor* ExecutionCommands::resume(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) {
  return command_call<exv1::ResumeAgentExecutionInput, Execution>(
      backend_, ctx, methods::kExecutionResume, req, resp,
      [](store::Tx& tx, const exv1::ResumeAgentExecutionInput& r, Execution& out) {
        return pipeline::transition(tx, r.id(), Lifecycle::resume, "", out);
      });
}

}  // namespace aexd::api
