#include "api/services.h"
#include "pipeline/lists.h"

namespace aexd::api {
namespace {

/// The next page token travels in a response header, added on the executor before Finish.
template <class Request, class Response>
grpc::ServerUnaryReactor* list_call(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                    const Bytes* req, Bytes* resp) {
  return query_call<Request, Response>(backend, ctx, method, req, resp,
                                       [ctx](store::Reader& db, const Request& r, Response& out) {
                                         std::string next;
                                         auto status = pipeline::list(db, r, out, next);
                                         if (status.ok())
                                           ctx->AddInitialMetadata(std::string(pipeline::kNextPageTokenHeader), next);
                                         return status;
                                       });
}

}  // namespace

grpc::ServerUnaryReactor* AgentInstanceQueries::getByAgent(grpc::CallbackServerContext* ctx, const Bytes* req,
                                                           Bytes* resp) {
  using Request = instancev1::GetAgentInstancesByAgentRequest;
  return query_call<Request, instancev1::AgentInstanceList>(
      backend_, ctx, methods::kInstanceGetByAgent, req, resp,
      [](store::Reader& db, const Request& r, instancev1::AgentInstanceList& out) {
        return pipeline::list(db, r, out);
      });
}

grpc::ServerUnaryReactor* SessionQueries::list(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) {
  return list_call<sessionv1::ListSessionsRequest, sessionv1::SessionList>(backend_, ctx, methods::kSessionList, req,
                                                                           resp);
}

grpc::ServerUnaryReactor* SessionQueries::listByAgent(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) {
  return list_call<sessionv1::ListSessionsByAgentRequest, sessionv1::SessionList>(
      backend_, ctx, methods::kSessionListByAgent, req, resp);
}

grpc::ServerUnaryReactor* ExecutionQueries::list(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) {
  return list_call<exv1::ListAgentExecutionsRequest, exv1::AgentExecutionList>(backend_, ctx, methods::kExecutionList,
                                                                               req, resp);
}

grpc::ServerUnaryReactor* ExecutionQueries::listBySession(grpc::CallbackServerContext* ctx, const Bytes* req,
                                                          Bytes* resp) {
  return list_call<exv1::ListAgentExecutionsBySessionRequest, exv1::AgentExecutionList>(
      backend_, ctx, methods::kExecutionListBySession, req, resp);
}

}  // namespace aexd::api
