#include "api/services.h"

namespace aexd::api {

grpc::ServerUnaryReactor* ExecutionCommands::create(grpc::CallbackServerContext* ctx, const Execution* req,
                                                    Execution* resp) {
  return write_call(backend_, ctx, [req, resp, fault = backend_.persist_fault](store::WriteTx& tx) {
    return pipeline::create_execution(tx, *req, *resp, fault);
  });
}

grpc::ServerUnaryReactor* ExecutionCommands::update(grpc::CallbackServerContext* ctx, const Execution* req,
                                                    Execution* resp) {
  return write_call(backend_, ctx, [req, resp](store::WriteTx& tx) { return pipeline::update(tx, *req, *resp); });
}

grpc::ServerUnaryReactor* ExecutionCommands::updateStatus(grpc::CallbackServerContext* ctx,
                                                          const exv1::AgentExecutionUpdateStatusInput* req,
                                                          Execution* resp) {
  return write_call(backend_, ctx,
                    [req, resp](store::WriteTx& tx) { return pipeline::update_status(tx, *req, *resp); });
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
