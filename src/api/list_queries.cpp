#include "api/services.h"

namespace aexd::api {
namespace {

grpc::ServerUnaryReactor* not_yet(grpc::CallbackServerContext* ctx) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish({grpc::StatusCode::UNIMPLEMENTED, "lists are not implemented yet"});
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* AgentInstanceQueries::getByAgent(grpc::CallbackServerContext* ctx,
                                                           const instancev1::GetAgentInstancesByAgentRequest*,
                                                           instancev1::AgentInstanceList*) {
  return not_yet(ctx);
}

grpc::ServerUnaryReactor* SessionQueries::list(grpc::CallbackServerContext* ctx, const sessionv1::ListSessionsRequest*,
                                               sessionv1::SessionList*) {
  return not_yet(ctx);
}

grpc::ServerUnaryReactor* SessionQueries::listByAgent(grpc::CallbackServerContext* ctx,
                                                      const sessionv1::ListSessionsByAgentRequest*,
                                                      sessionv1::SessionList*) {
  return not_yet(ctx);
}

grpc::ServerUnaryReactor* ExecutionQueries::list(grpc::CallbackServerContext* ctx,
                                                 const exv1::ListAgentExecutionsRequest*, exv1::AgentExecutionList*) {
  return not_yet(ctx);
}

grpc::ServerUnaryReactor* ExecutionQueries::listBySession(grpc::CallbackServerContext* ctx,
                                                          const exv1::ListAgentExecutionsBySessionRequest*,
                                                          exv1::AgentExecutionList*) {
  return not_yet(ctx);
}

}  // namespace aexd::api
