#include "api/services.h"
#include "pipeline/lists.h"

namespace aexd::api {
namespace {

/// The next page token travels in a response header, added on the executor before Finish.
template <class Request, class Response>
grpc::ServerUnaryReactor* list_call(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                    const Request* req, Response* resp) {
  return read_call(backend, ctx, method, {}, [ctx, req, resp](store::Reader& db) {
    std::string next;
    auto status = pipeline::list(db, *req, *resp, next);
    if (status.ok()) ctx->AddInitialMetadata(std::string(pipeline::kNextPageTokenHeader), next);
    return status;
  });
}

}  // namespace

grpc::ServerUnaryReactor* AgentInstanceQueries::getByAgent(grpc::CallbackServerContext* ctx,
                                                           const instancev1::GetAgentInstancesByAgentRequest* req,
                                                           instancev1::AgentInstanceList* resp) {
  return read_call(backend_, ctx, methods::kInstanceGetByAgent, req->agent_id(),
                   [req, resp](store::Reader& db) { return pipeline::list(db, *req, *resp); });
}

grpc::ServerUnaryReactor* SessionQueries::list(grpc::CallbackServerContext* ctx,
                                               const sessionv1::ListSessionsRequest* req,
                                               sessionv1::SessionList* resp) {
  return list_call(backend_, ctx, methods::kSessionList, req, resp);
}

grpc::ServerUnaryReactor* SessionQueries::listByAgent(grpc::CallbackServerContext* ctx,
                                                      const sessionv1::ListSessionsByAgentRequest* req,
                                                      sessionv1::SessionList* resp) {
  return list_call(backend_, ctx, methods::kSessionListByAgent, req, resp);
}

grpc::ServerUnaryReactor* ExecutionQueries::list(grpc::CallbackServerContext* ctx,
                                                 const exv1::ListAgentExecutionsRequest* req,
                                                 exv1::AgentExecutionList* resp) {
  return list_call(backend_, ctx, methods::kExecutionList, req, resp);
}

grpc::ServerUnaryReactor* ExecutionQueries::listBySession(grpc::CallbackServerContext* ctx,
                                                          const exv1::ListAgentExecutionsBySessionRequest* req,
                                                          exv1::AgentExecutionList* resp) {
  return list_call(backend_, ctx, methods::kExecutionListBySession, req, resp);
}

}  // namespace aexd::api
