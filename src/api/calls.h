// Every public RPC by name with the right it needs, and the two things each call passes through:
// the Authorizer before any work, the CallObserver when it ends. Implemented outside api (auth/,
// obs/); both are called on gRPC and executor threads at once, so they must be thread-safe and
// must not block.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <array>
#include <chrono>
#include <string>
#include <string_view>

namespace aexd::api {

/// What a role may do; each includes the one before (README "Auth").
enum class Right { read, run, write };

struct Method {
  std::string_view service;  // full name, as in the gRPC path
  std::string_view name;
  Right right;
  bool streaming = false;
};

namespace methods {
inline constexpr std::string_view kAgentCommands = "ai.stigmer.agentic.agent.v1.AgentCommandController";
inline constexpr std::string_view kAgentQueries = "ai.stigmer.agentic.agent.v1.AgentQueryController";
inline constexpr std::string_view kInstanceCommands =
    "ai.stigmer.agentic.agentinstance.v1.AgentInstanceCommandController";
inline constexpr std::string_view kInstanceQueries = "ai.stigmer.agentic.agentinstance.v1.AgentInstanceQueryController";
inline constexpr std::string_view kSessionCommands = "ai.stigmer.agentic.session.v1.SessionCommandController";
inline constexpr std::string_view kSessionQueries = "ai.stigmer.agentic.session.v1.SessionQueryController";
inline constexpr std::string_view kExecutionCommands =
    "ai.stigmer.agentic.agentexecution.v1.AgentExecutionCommandController";
inline constexpr std::string_view kExecutionQueries =
    "ai.stigmer.agentic.agentexecution.v1.AgentExecutionQueryController";
inline constexpr std::string_view kDispatch = "aexd.v1.ExecutionDispatch";

/// apply/create/update/delete of one resource kind.
struct ResourceCommands {
  Method apply, create, update, delete_;
};
constexpr ResourceCommands resource_commands(std::string_view service) {
  return {{service, "apply", Right::write},
          {service, "create", Right::write},
          {service, "update", Right::write},
          {service, "delete", Right::write}};
}
inline constexpr ResourceCommands kAgent = resource_commands(kAgentCommands);
inline constexpr ResourceCommands kInstance = resource_commands(kInstanceCommands);
inline constexpr ResourceCommands kSession = resource_commands(kSessionCommands);

inline constexpr Method kAgentGet{kAgentQueries, "get", Right::read};
inline constexpr Method kAgentGetByReference{kAgentQueries, "getByReference", Right::read};
inline constexpr Method kInstanceGet{kInstanceQueries, "get", Right::read};
inline constexpr Method kInstanceGetByReference{kInstanceQueries, "getByReference", Right::read};
inline constexpr Method kInstanceGetByAgent{kInstanceQueries, "getByAgent", Right::read};
inline constexpr Method kSessionGet{kSessionQueries, "get", Right::read};
inline constexpr Method kSessionList{kSessionQueries, "list", Right::read};
inline constexpr Method kSessionListByAgent{kSessionQueries, "listByAgent", Right::read};

inline constexpr Method kExecutionCreate{kExecutionCommands, "create", Right::write};
inline constexpr Method kExecutionUpdate{kExecutionCommands, "update", Right::write};
inline constexpr Method kExecutionUpdateStatus{kExecutionCommands, "updateStatus", Right::run};
inline constexpr Method kExecutionDelete{kExecutionCommands, "delete", Right::write};
inline constexpr Method kExecutionCancel{kExecutionCommands, "cancel", Right::write};
inline constexpr Method kExecutionTerminate{kExecutionCommands, "terminate", Right::write};
inline constexpr Method kExecutionPause{kExecutionCommands, "pause", Right::write};
inline constexpr Method kExecutionResume{kExecutionCommands, "resume", Right::write};
inline constexpr Method kExecutionGet{kExecutionQueries, "get", Right::read};
inline constexpr Method kExecutionList{kExecutionQueries, "list", Right::read};
inline constexpr Method kExecutionListBySession{kExecutionQueries, "listBySession", Right::read};
inline constexpr Method kExecutionSubscribe{kExecutionQueries, "subscribe", Right::read, true};

inline constexpr Method kClaim{kDispatch, "claim", Right::run, true};
inline constexpr Method kRelease{kDispatch, "release", Right::run};

/// Every method above, for observers that prepare per-method state once.
inline constexpr std::array kAll = {&kAgent.apply,
                                    &kAgent.create,
                                    &kAgent.update,
                                    &kAgent.delete_,
                                    &kInstance.apply,
                                    &kInstance.create,
                                    &kInstance.update,
                                    &kInstance.delete_,
                                    &kSession.apply,
                                    &kSession.create,
                                    &kSession.update,
                                    &kSession.delete_,
                                    &kAgentGet,
                                    &kAgentGetByReference,
                                    &kInstanceGet,
                                    &kInstanceGetByReference,
                                    &kInstanceGetByAgent,
                                    &kSessionGet,
                                    &kSessionList,
                                    &kSessionListByAgent,
                                    &kExecutionCreate,
                                    &kExecutionUpdate,
                                    &kExecutionUpdateStatus,
                                    &kExecutionDelete,
                                    &kExecutionCancel,
                                    &kExecutionTerminate,
                                    &kExecutionPause,
                                    &kExecutionResume,
                                    &kExecutionGet,
                                    &kExecutionList,
                                    &kExecutionListBySession,
                                    &kExecutionSubscribe,
                                    &kClaim,
                                    &kRelease};
}  // namespace methods

/// Decides whether the caller of a call may exercise `right`.
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  /// OK; UNAUTHENTICATED without known credentials; PERMISSION_DENIED when the caller's role lacks `right`.
  virtual grpc::Status authorize(const grpc::ServerContextBase& ctx, Right right) const = 0;
};

/// One finished call (unary) or stream, as observers see it.
struct CallRecord {
  const Method& method;  // one of methods::kAll
  const grpc::Status& status;
  std::chrono::steady_clock::duration elapsed;
  std::string_view peer;  // filled only when the observer wants details
  std::string_view id;    // the execution or resource the call names, if any; likewise
};

/// Told of every call of the methods above. Must not block.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  /// Whether ended() wants `peer` and `id` (copying them costs every call something).
  virtual bool wants_details() const = 0;
  virtual void stream_started(const Method& method) = 0;
  virtual void ended(const CallRecord& call) = 0;  // for streams too, after stream_started
};

/// What a call reports when it ends: its method, start time and, when the observer asks, details.
class CallClock {
 public:
  CallClock(CallObserver& observer, const Method& method, const grpc::ServerContextBase& ctx, std::string_view id)
      : observer_(observer), method_(method), started_(std::chrono::steady_clock::now()) {
    if (observer.wants_details()) {
      peer_ = ctx.peer();
      id_ = id;
    }
  }
  void ended(const grpc::Status& status) const {
    observer_.ended({method_, status, std::chrono::steady_clock::now() - started_, peer_, id_});
  }

 private:
  CallObserver& observer_;
  const Method& method_;
  std::chrono::steady_clock::time_point started_;
  std::string peer_, id_;
};

/// Allows everything and records nothing: what a Backend uses when nothing else is wired.
class OpenCalls final : public Authorizer, public CallObserver {
 public:
  grpc::Status authorize(const grpc::ServerContextBase&, Right) const override { return grpc::Status::OK; }
  bool wants_details() const override { return false; }
  void stream_started(const Method&) override {}
  void ended(const CallRecord&) override {}
};

}  // namespace aexd::api
