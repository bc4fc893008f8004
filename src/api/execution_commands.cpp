#include "api/services.h"

namespace aexd::api {
namespace {

/// A raw write: decodes `Input` on this thread, runs `work(tx, input, out, &encoded)` as a write job and
/// replies with the state as the write encoded it.
template <class Input, class Work>
grpc::ServerUnaryReactor* execution_write(Backend& backend, grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request, grpc::ByteBuffer* response, Work work) {
  auto input = std::make_shared<Input>();
  if (auto decoded = decode(*request, *input); !decoded.ok())
    return detail::admit(backend, ctx, [&](auto done) { done(decoded); });
  return write_call(backend, ctx, [input, response, work](store::Tx& tx) {
    Execution out;
    model::SnapshotPtr encoded;
    auto status = work(tx, *input, out, &encoded);
    if (status.ok()) *response = encoded->message();
    return status;
  });
}

}  // namespace

grpc::ServerUnaryReactor* ExecutionCommands::create(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return execution_write<Execution>(backend_, ctx, request, response, &pipeline::create_execution);
}

grpc::ServerUnaryReactor* ExecutionCommands::update(grpc::CallbackServerContext* ctx, const Execution* req,
                                                    Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::Tx& tx) { return pipeline::update(tx, *req, *resp); });
}

grpc::ServerUnaryReactor* ExecutionCommands::updateStatus(grpc::CallbackServerContext* ctx,
                                                          const grpc::ByteBuffer* request, grpc::ByteBuffer* response) {
  return execution_write<exv1::AgentExecutionUpdateStatusInput>(backend_, ctx, request, response,
                                                                &pipeline::update_status);
}

grpc::ServerUnaryReactor* ExecutionCommands::delete_(grpc::CallbackServerContext* ctx, const res::ApiResourceId* req,
                                                     Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::Tx& tx) { return pipeline::remove(tx, req->value(), *resp); });
}

grpc::ServerUnaryReactor* ExecutionCommands::cancel(grpc::CallbackServerContext* ctx,
                                                    const exv1::CancelAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::Tx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::cancel, req->reason(), *resp);
  });
}

grpc::ServerUnaryReactor* ExecutionCommands::terminate(grpc::CallbackServerContext* ctx,
                                                       const exv1::TerminateAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::Tx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::terminate, req->reason(), *resp);
  });
}

grpc::ServerUnaryReactor* ExecutionCommands::pause(grpc::CallbackServerContext* ctx,
                                                   const exv1::PauseAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::Tx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::pause, req->reason(), *resp);
  });
}

grpc::ServerUnaryReactor* ExecutionCommands::resume(grpc::CallbackServerContext* ctx,
                                                    const exv1::ResumeAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::Tx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::resume, "", *resp);
  });
}

}  // namespace aexd::api
