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

grpc::ServerUnaryReactor* ExecutionCommands::create(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  auto input = std::make_shared<Execution>();
  std::shared_ptr<const pipeline::Idempotency> idempotency;
  auto checked = decode(*request, *input);
  if (checked.ok()) checked = read_idempotency(*ctx, *input, backend_.idempotency_ttl, idempotency);
  if (!checked.ok())
    return detail::admit(backend_, ctx, methods::kExecutionCreate, {}, [&](auto done) { done(checked); });
  return write_call(
      backend_, ctx, methods::kExecutionCreate, {},
      replying_with_written(response, [input, idempotency](store::Tx& tx, Execution& out, model::SnapshotPtr* encoded) {
        return pipeline::create_execution(tx, *input, out, encoded, idempotency.get());
      }));
}

grpc::ServerUnaryReactor* ExecutionCommands::update(grpc::CallbackServerContext* ctx, const Execution* req,
                                                    Execution* resp) {
  return write_call(backend_, ctx, methods::kExecutionUpdate, req->metadata().id(),
                    [req, resp](store::Tx& tx) { return pipeline::update(tx, *req, *resp); });
}

grpc::ServerUnaryReactor* ExecutionCommands::updateStatus(grpc::CallbackServerContext* ctx,
                                                          const grpc::ByteBuffer* request, grpc::ByteBuffer* response) {
  auto input = std::make_shared<exv1::AgentExecutionUpdateStatusInput>();
  if (auto decoded = decode(*request, *input); !decoded.ok())
    return detail::admit(backend_, ctx, methods::kExecutionUpdateStatus, {}, [&](auto done) { done(decoded); });
  return write_call(
      backend_, ctx, methods::kExecutionUpdateStatus, input->execution_id(),
      replying_with_written(response, [input](store::Tx& tx, Execution& out, model::SnapshotPtr* encoded) {
        return pipeline::update_status(tx, *input, out, encoded);
      }));
}

grpc::ServerUnaryReactor* ExecutionCommands::delete_(grpc::CallbackServerContext* ctx, const res::ApiResourceId* req,
                                                     Execution* resp) {
  return write_call(backend_, ctx, methods::kExecutionDelete, req->value(),
                    [req, resp](store::Tx& tx) { return pipeline::remove(tx, req->value(), *resp); });
}

grpc::ServerUnaryReactor* ExecutionCommands::cancel(grpc::CallbackServerContext* ctx,
                                                    const exv1::CancelAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, methods::kExecutionCancel, req->id(), [req, resp](store::Tx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::cancel, req->reason(), *resp);
  });
}

grpc::ServerUnaryReactor* ExecutionCommands::terminate(grpc::CallbackServerContext* ctx,
                                                       const exv1::TerminateAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, methods::kExecutionTerminate, req->id(), [req, resp](store::Tx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::terminate, req->reason(), *resp);
  });
}

grpc::ServerUnaryReactor* ExecutionCommands::pause(grpc::CallbackServerContext* ctx,
                                                   const exv1::PauseAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, methods::kExecutionPause, req->id(), [req, resp](store::Tx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::pause, req->reason(), *resp);
  });
}

grpc::ServerUnaryReactor* ExecutionCommands::resume(grpc::CallbackServerContext* ctx,
                                                    const exv1::ResumeAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, methods::kExecutionResume, req->id(), [req, resp](store::Tx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::resume, "", *resp);
  });
}

}  // namespace aexd::api
