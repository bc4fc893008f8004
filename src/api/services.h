// The gRPC services of the wire contract. Reactors only: decode, hand the pipeline to storage as a
// write job or a read, finish from there.
#pragma once

#include "aexd/v1/dispatch.grpc.pb.h"
#include "ai/stigmer/agentic/agent/v1/agent.grpc.pb.h"
#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.grpc.pb.h"
#include "ai/stigmer/agentic/agentinstance/v1/agentinstance.grpc.pb.h"
#include "ai/stigmer/agentic/session/v1/session.grpc.pb.h"
#include "api/backend.h"
#include "pipeline/resources.h"

namespace aexd::api {

namespace agentv1 = ai::stigmer::agentic::agent::v1;
namespace instancev1 = ai::stigmer::agentic::agentinstance::v1;
namespace sessionv1 = ai::stigmer::agentic::session::v1;

/// apply/create/update/delete of agents, agent instances and sessions share one shape.
template <class Base, class T, class Id, const methods::ResourceCommands& M>
class ResourceCommands final : public Base {
 public:
  explicit ResourceCommands(Backend& backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* apply(grpc::CallbackServerContext* ctx, const T* req, T* resp) override {
    return write_call(backend_, ctx, M.apply, req->metadata().id(),
                      [req, resp](store::Tx& tx) { return pipeline::apply(tx, *req, *resp); });
  }
  grpc::ServerUnaryReactor* create(grpc::CallbackServerContext* ctx, const T* req, T* resp) override {
    return write_call(backend_, ctx, M.create, req->metadata().id(),
                      [req, resp](store::Tx& tx) { return pipeline::create(tx, *req, *resp); });
  }
  grpc::ServerUnaryReactor* update(grpc::CallbackServerContext* ctx, const T* req, T* resp) override {
    return write_call(backend_, ctx, M.update, req->metadata().id(),
                      [req, resp](store::Tx& tx) { return pipeline::update(tx, *req, *resp); });
  }
  grpc::ServerUnaryReactor* delete_(grpc::CallbackServerContext* ctx, const Id* req, T* resp) override {
    return write_call(backend_, ctx, M.delete_, req->value(),
                      [req, resp](store::Tx& tx) { return pipeline::remove(tx, req->value(), *resp); });
  }

 private:
  Backend& backend_;
};

using AgentCommands =
    ResourceCommands<agentv1::AgentCommandController::CallbackService, Agent, agentv1::AgentId, methods::kAgent>;
using AgentInstanceCommands = ResourceCommands<instancev1::AgentInstanceCommandController::CallbackService,
                                               AgentInstance, instancev1::AgentInstanceId, methods::kInstance>;
using SessionCommands = ResourceCommands<sessionv1::SessionCommandController::CallbackService, Session,
                                         sessionv1::SessionId, methods::kSession>;

namespace commands {
using Controller = exv1::AgentExecutionCommandController;
// create and updateStatus, the hot writes, reply with the snapshot already encoded for watchers.
using Base = Controller::WithRawCallbackMethod_create<Controller::WithRawCallbackMethod_updateStatus<
    Controller::WithCallbackMethod_update<Controller::WithCallbackMethod_delete<
        Controller::WithCallbackMethod_cancel<Controller::WithCallbackMethod_terminate<
            Controller::WithCallbackMethod_pause<Controller::WithCallbackMethod_resume<Controller::Service>>>>>>>>;
}  // namespace commands

class ExecutionCommands final : public commands::Base {
 public:
  explicit ExecutionCommands(Backend& backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* create(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* update(grpc::CallbackServerContext* ctx, const Execution* req, Execution* resp) override;
  grpc::ServerUnaryReactor* updateStatus(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* delete_(grpc::CallbackServerContext* ctx, const res::ApiResourceId* req,
                                    Execution* resp) override;
  grpc::ServerUnaryReactor* cancel(grpc::CallbackServerContext* ctx, const exv1::CancelAgentExecutionInput* req,
                                   Execution* resp) override;
  grpc::ServerUnaryReactor* terminate(grpc::CallbackServerContext* ctx, const exv1::TerminateAgentExecutionInput* req,
                                      Execution* resp) override;
  grpc::ServerUnaryReactor* pause(grpc::CallbackServerContext* ctx, const exv1::PauseAgentExecutionInput* req,
                                  Execution* resp) override;
  grpc::ServerUnaryReactor* resume(grpc::CallbackServerContext* ctx, const exv1::ResumeAgentExecutionInput* req,
                                   Execution* resp) override;

 private:
  Backend& backend_;
};

template <class T, class Id>
grpc::ServerUnaryReactor* get_call(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                   const Id* req, T* resp) {
  return read_call(backend, ctx, method, req->value(),
                   [req, resp](store::Reader& db) { return pipeline::get(db, req->value(), *resp); });
}

template <class T>
grpc::ServerUnaryReactor* get_by_reference_call(Backend& backend, grpc::CallbackServerContext* ctx,
                                                const Method& method, const res::ApiResourceReference* req, T* resp) {
  return read_call(backend, ctx, method, req->slug(),
                   [req, resp](store::Reader& db) { return pipeline::get_by_reference(db, *req, *resp); });
}

class AgentQueries final : public agentv1::AgentQueryController::CallbackService {
 public:
  explicit AgentQueries(Backend& backend) : backend_(backend) {}
  grpc::ServerUnaryReactor* get(grpc::CallbackServerContext* ctx, const agentv1::AgentId* req, Agent* resp) override {
    return get_call(backend_, ctx, methods::kAgentGet, req, resp);
  }
  grpc::ServerUnaryReactor* getByReference(grpc::CallbackServerContext* ctx, const res::ApiResourceReference* req,
                                           Agent* resp) override {
    return get_by_reference_call(backend_, ctx, methods::kAgentGetByReference, req, resp);
  }

 private:
  Backend& backend_;
};

class AgentInstanceQueries final : public instancev1::AgentInstanceQueryController::CallbackService {
 public:
  explicit AgentInstanceQueries(Backend& backend) : backend_(backend) {}
  grpc::ServerUnaryReactor* get(grpc::CallbackServerContext* ctx, const instancev1::AgentInstanceId* req,
                                AgentInstance* resp) override {
    return get_call(backend_, ctx, methods::kInstanceGet, req, resp);
  }
  grpc::ServerUnaryReactor* getByReference(grpc::CallbackServerContext* ctx, const res::ApiResourceReference* req,
                                           AgentInstance* resp) override {
    return get_by_reference_call(backend_, ctx, methods::kInstanceGetByReference, req, resp);
  }
  grpc::ServerUnaryReactor* getByAgent(grpc::CallbackServerContext* ctx,
                                       const instancev1::GetAgentInstancesByAgentRequest* req,
                                       instancev1::AgentInstanceList* resp) override;  // list_queries.cpp

 private:
  Backend& backend_;
};

class SessionQueries final : public sessionv1::SessionQueryController::CallbackService {
 public:
  explicit SessionQueries(Backend& backend) : backend_(backend) {}
  grpc::ServerUnaryReactor* get(grpc::CallbackServerContext* ctx, const sessionv1::SessionId* req,
                                Session* resp) override {
    return get_call(backend_, ctx, methods::kSessionGet, req, resp);
  }
  grpc::ServerUnaryReactor* list(grpc::CallbackServerContext* ctx, const sessionv1::ListSessionsRequest* req,
                                 sessionv1::SessionList* resp) override;  // list_queries.cpp
  grpc::ServerUnaryReactor* listByAgent(grpc::CallbackServerContext* ctx,
                                        const sessionv1::ListSessionsByAgentRequest* req,
                                        sessionv1::SessionList* resp) override;  // list_queries.cpp

 private:
  Backend& backend_;
};

namespace queries {
using Controller = exv1::AgentExecutionQueryController;
// get and subscribe hand out snapshots that are already encoded, so they are raw (ByteBuffer) methods.
using Base = Controller::WithRawCallbackMethod_get<Controller::WithRawCallbackMethod_subscribe<
    Controller::WithCallbackMethod_list<Controller::WithCallbackMethod_listBySession<Controller::Service>>>>;
}  // namespace queries

class ExecutionQueries final : public queries::Base {
 public:
  explicit ExecutionQueries(Backend& backend) : backend_(backend) {}
  /// A cached snapshot answers at once; otherwise a reader connection does (and fills the cache).
  grpc::ServerUnaryReactor* get(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* list(grpc::CallbackServerContext* ctx, const exv1::ListAgentExecutionsRequest* req,
                                 exv1::AgentExecutionList* resp) override;  // list_queries.cpp
  grpc::ServerUnaryReactor* listBySession(grpc::CallbackServerContext* ctx,
                                          const exv1::ListAgentExecutionsBySessionRequest* req,
                                          exv1::AgentExecutionList* resp) override;  // list_queries.cpp
  grpc::ServerWriteReactor<grpc::ByteBuffer>* subscribe(grpc::CallbackServerContext* ctx,
                                                        const grpc::ByteBuffer* request) override;  // subscribe.cpp

 private:
  Backend& backend_;
};

/// aexd.v1.ExecutionDispatch: runners claim executions (dispatch.cpp).
class ExecutionDispatch final : public aexd::v1::ExecutionDispatch::CallbackService {
 public:
  explicit ExecutionDispatch(Backend& backend) : backend_(backend) {}
  grpc::ServerWriteReactor<aexd::v1::DispatchEvent>* claim(grpc::CallbackServerContext* ctx,
                                                           const aexd::v1::ClaimRequest* request) override;
  grpc::ServerUnaryReactor* release(grpc::CallbackServerContext* ctx, const aexd::v1::ReleaseRequest* request,
                                    aexd::v1::ReleaseResponse* response) override;

 private:
  Backend& backend_;
};

}  // namespace aexd::api
