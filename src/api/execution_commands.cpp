#include "api/services.h"

namespace aexd::api {
namespace {

/// The reply to a write of one execution: the snapshot the write recorded for the watchers.
grpc::ByteBuffer reply_of(const store::WriteTx& tx, const Execution& written) {
  for (auto it = tx.changes.rbegin(); it != tx.changes.rend(); ++it)
    if (it->snapshot && it->id == written.metadata().id()) return it->snapshot->message();
  return store::make_snapshot(written)->message();
}

/// A raw write: decodes `Input` on this thread, runs `work(tx, input, out)` on the write strand.
template <class Input, class Work>
grpc::ServerUnaryReactor* execution_write(Backend& backend, grpc::CallbackServerContext* ctx,
                                          const grpc::ByteBuffer* request, grpc::ByteBuffer* response, Work work) {
  auto input = std::make_shared<Input>();
  if (auto decoded = decode(*request, *input); !decoded.ok())
    return detail::admit(backend, ctx, [&](auto done) { done(decoded); });
  return write_call(backend, ctx, [input, response, work](store::WriteTx& tx) {
    Execution out;
    auto status = work(tx, *input, out);
    if (status.ok()) *response = reply_of(tx, out);
    return status;
  });
}

}  // namespace

grpc::ServerUnaryReactor* ExecutionCommands::create(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return execution_write<Execution>(
      backend_, ctx, request, response,
      [fault = backend_.persist_fault](store::WriteTx& tx, const Execution& req, Execution& out) {
        return pipeline::create_execution(tx, req, out, fault);
      });
}

grpc::ServerUnaryReactor* ExecutionCommands::update(grpc::CallbackServerContext* ctx, const Execution* req,
                                                    Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::WriteTx& tx) { return pipeline::update(tx, *req, *resp); });
}

grpc::ServerUnaryReactor* ExecutionCommands::updateStatus(grpc::CallbackServerContext* ctx,
                                                          const grpc::ByteBuffer* request,
                                                          grpc::ByteBuffer* response) {
  return execution_write<exv1::AgentExecutionUpdateStatusInput>(
      backend_, ctx, request, response,
      [](store::WriteTx& tx, const exv1::AgentExecutionUpdateStatusInput& req, Execution& out) {
        return pipeline::update_status(tx, req, out);
      });
}

grpc::ServerUnaryReactor* ExecutionCommands::delete_(grpc::CallbackServerContext* ctx,
                                                     const res::ApiResourceId* req, Execution* resp) {
  return write_call(backend_, ctx,
                    [req, resp](store::WriteTx& tx) { return pipeline::remove(tx, req->value(), *resp); });
}

grpc::ServerUnaryReactor* ExecutionCommands::cancel(grpc::CallbackServerContext* ctx,
                                                    const exv1::CancelAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::WriteTx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::cancel, req->reason(), *resp);
  });
}

grpc::ServerUnaryReactor* ExecutionCommands::terminate(grpc::CallbackServerContext* ctx,
                                                       const exv1::TerminateAgentExecutionInput* req,
                                                       Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::WriteTx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::terminate, req->reason(), *resp);
  });
}

grpc::ServerUnaryReactor* ExecutionCommands::pause(grpc::CallbackServerContext* ctx,
                                                   const exv1::PauseAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::WriteTx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::pause, req->reason(), *resp);
  });
}

grpc::ServerUnaryReactor* ExecutionCommands::resume(grpc::CallbackServerContext* ctx,
                                                    const exv1::ResumeAgentExecutionInput* req, Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::WriteTx& tx) {
    return pipeline::transition(tx, req->id(), Lifecycle::resume, "", *resp);
  });
}

}  // namespace aexd::api
