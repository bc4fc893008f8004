// The gRPC services of the wire contract. Reactors only: decode, hand the pipeline to storage as a
// write job or a read, finish from there. Every method is raw (bytes in, bytes out), so every
// request goes through the one decoding step of decoding.h.
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

using Bytes = grpc::ByteBuffer;  // every method is raw: its request decoded by decoding.h

/// apply/create/update/delete of one resource kind as raw methods.
template <class Controller>
using RawResourceCommands = typename Controller::template WithRawCallbackMethod_apply<
    typename Controller::template WithRawCallbackMethod_create<
        typename Controller::template WithRawCallbackMethod_update<
            typename Controller::template WithRawCallbackMethod_delete<typename Controller::Service>>>>;

/// apply/create/update/delete of agents, agent instances and sessions share one shape.
template <class Controller, class T, class Id, const methods::ResourceCommands& M>
class ResourceCommands final : public RawResourceCommands<Controller> {
 public:
  explicit ResourceCommands(Backend& backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* apply(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override {
    return command_call<T, T>(backend_, ctx, M.apply, req, resp,
                              [](store::Tx& tx, const T& r, T& out) { return pipeline::apply(tx, r, out); });
  }
  grpc::ServerUnaryReactor* create(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override {
    return command_call<T, T>(backend_, ctx, M.create, req, resp,
                              [](store::Tx& tx, const T& r, T& out) { return pipeline::create(tx, r, out); });
  }
  grpc::ServerUnaryReactor* update(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override {
    return command_call<T, T>(backend_, ctx, M.update, req, resp,
                              [](store::Tx& tx, const T& r, T& out) { return pipeline::update(tx, r, out); });
  }
  grpc::ServerUnaryReactor* delete_(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override {
    return command_call<Id, T>(backend_, ctx, M.delete_, req, resp,
                               [](store::Tx& tx, const Id& r, T& out) { return pipeline::remove(tx, r.value(), out); });
  }

 private:
  Backend& backend_;
};

using AgentCommands = ResourceCommands<agentv1::AgentCommandController, Agent, agentv1::AgentId, methods::kAgent>;
using AgentInstanceCommands = ResourceCommands<instancev1::AgentInstanceCommandController, AgentInstance,
                                               instancev1::AgentInstanceId, methods::kInstance>;
using SessionCommands =
    ResourceCommands<sessionv1::SessionCommandController, Session, sessionv1::SessionId, methods::kSession>;

namespace commands {
using Controller = exv1::AgentExecutionCommandController;
// create and updateStatus, the hot writes, reply with the snapshot already encoded for watchers.
using Base = Controller::WithRawCallbackMethod_create<
    Controller::WithRawCallbackMethod_updateStatus<Controller::WithRawCallbackMethod_update<
        Controller::WithRawCallbackMethod_delete<Controller::WithRawCallbackMethod_cancel<
            Controller::WithRawCallbackMethod_terminate<Controller::WithRawCallbackMethod_pause<
                Controller::WithRawCallbackMethod_resume<Controller::Service>>>>>>>>;
}  // namespace commands

class ExecutionCommands final : public commands::Base {
 public:
  explicit ExecutionCommands(Backend& backend) : backend_(backend) {}

  grpc::ServerUnaryReactor* create(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override;
  grpc::ServerUnaryReactor* update(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override;
  grpc::ServerUnaryReactor* updateStatus(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override;
  grpc::ServerUnaryReactor* delete_(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override;
  grpc::ServerUnaryReactor* cancel(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override;
  grpc::ServerUnaryReactor* terminate(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override;
  grpc::ServerUnaryReactor* pause(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override;
  grpc::ServerUnaryReactor* resume(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override;

 private:
  Backend& backend_;
};

template <class T, class Id>
grpc::ServerUnaryReactor* get_call(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                   const Bytes* req, Bytes* resp) {
  return query_call<Id, T>(backend, ctx, method, req, resp,
                           [](store::Reader& db, const Id& r, T& out) { return pipeline::get(db, r.value(), out); });
}

template <class T>
grpc::ServerUnaryReactor* get_by_reference_call(Backend& backend, grpc::CallbackServerContext* ctx,
                                                const Method& method, const Bytes* req, Bytes* resp) {
  return query_call<res::ApiResourceReference, T>(backend, ctx, method, req, resp,
                                                  [](store::Reader& db, const res::ApiResourceReference& r, T& out) {
                                                    return pipeline::get_by_reference(db, r, out);
                                                  });
}

namespace agent_queries {
using Controller = agentv1::AgentQueryController;
using Base =
    Controller::WithRawCallbackMethod_get<Controller::WithRawCallbackMethod_getByReference<Controller::Service>>;
}  // namespace agent_queries

class AgentQueries final : public agent_queries::Base {
 public:
  explicit AgentQueries(Backend& backend) : backend_(backend) {}
  grpc::ServerUnaryReactor* get(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override {
    return get_call<Agent, agentv1::AgentId>(backend_, ctx, methods::kAgentGet, req, resp);
  }
  grpc::ServerUnaryReactor* getByReference(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override {
    return get_by_reference_call<Agent>(backend_, ctx, methods::kAgentGetByReference, req, resp);
  }

 private:
  Backend& backend_;
};

namespace instance_queries {
using Controller = instancev1::AgentInstanceQueryController;
using Base = Controller::WithRawCallbackMethod_get<Controller::WithRawCallbackMethod_getByReference<
    Controller::WithRawCallbackMethod_getByAgent<Controller::Service>>>;
}  // namespace instance_queries

class AgentInstanceQueries final : public instance_queries::Base {
 public:
  explicit AgentInstanceQueries(Backend& backend) : backend_(backend) {}
  grpc::ServerUnaryReactor* get(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override {
    return get_call<AgentInstance, instancev1::AgentInstanceId>(backend_, ctx, methods::kInstanceGet, req, resp);
  }
  grpc::ServerUnaryReactor* getByReference(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override {
    return get_by_reference_call<AgentInstance>(backend_, ctx, methods::kInstanceGetByReference, req, resp);
  }
  grpc::ServerUnaryReactor* getByAgent(grpc::CallbackServerContext* ctx, const Bytes* req,
                                       Bytes* resp) override;  // list_queries.cpp

 private:
  Backend& backend_;
};

namespace session_queries {
using Controller = sessionv1::SessionQueryController;
using Base = Controller::WithRawCallbackMethod_get<
    Controller::WithRawCallbackMethod_list<Controller::WithRawCallbackMethod_listByAgent<Controller::Service>>>;
}  // namespace session_queries

class SessionQueries final : public session_queries::Base {
 public:
  explicit SessionQueries(Backend& backend) : backend_(backend) {}
  grpc::ServerUnaryReactor* get(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override {
    return get_call<Session, sessionv1::SessionId>(backend_, ctx, methods::kSessionGet, req, resp);
  }
  grpc::ServerUnaryReactor* list(grpc::CallbackServerContext* ctx, const Bytes* req,
                                 Bytes* resp) override;  // list_queries.cpp
  grpc::ServerUnaryReactor* listByAgent(grpc::CallbackServerContext* ctx, const Bytes* req,
                                        Bytes* resp) override;  // list_queries.cpp

 private:
  Backend& backend_;
};

namespace queries {
using Controller = exv1::AgentExecutionQueryController;
// get and subscribe hand out snapshots that are already encoded, so they are raw (ByteBuffer) methods.
using Base = Controller::WithRawCallbackMethod_get<Controller::WithRawCallbackMethod_subscribe<
    Controller::WithRawCallbackMethod_list<Controller::WithRawCallbackMethod_listBySession<Controller::Service>>>>;
}  // namespace queries

class ExecutionQueries final : public queries::Base {
 public:
  explicit ExecutionQueries(Backend& backend) : backend_(backend) {}
  /// A cached snapshot answers at once; otherwise a reader connection does (and fills the cache).
  grpc::ServerUnaryReactor* get(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override;
  grpc::ServerUnaryReactor* list(grpc::CallbackServerContext* ctx, const Bytes* req,
                                 Bytes* resp) override;  // list_queries.cpp
  grpc::ServerUnaryReactor* listBySession(grpc::CallbackServerContext* ctx, const Bytes* req,
                                          Bytes* resp) override;  // list_queries.cpp
  grpc::ServerWriteReactor<Bytes>* subscribe(grpc::CallbackServerContext* ctx,
                                             const Bytes* req) override;  // subscribe.cpp

 private:
  Backend& backend_;
};

namespace dispatch_service {
using Controller = aexd::v1::ExecutionDispatch;
using Base = Controller::WithRawCallbackMethod_claim<Controller::WithRawCallbackMethod_release<Controller::Service>>;
}  // namespace dispatch_service

/// aexd.v1.ExecutionDispatch: runners claim executions (dispatch.cpp).
class ExecutionDispatch final : public dispatch_service::Base {
 public:
  explicit ExecutionDispatch(Backend& backend) : backend_(backend) {}
  grpc::ServerWriteReactor<Bytes>* claim(grpc::CallbackServerContext* ctx, const Bytes* req) override;
  grpc::ServerUnaryReactor* release(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) override;

 private:
  Backend& backend_;
};

}  // namespace aexd::api
