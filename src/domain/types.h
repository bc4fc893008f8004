// Short names for the wire messages the server stores, and per-kind facts (id prefix, kind name).
#pragma once

#include <string_view>

#include "ai/stigmer/agentic/agent/v1/agent.pb.h"
#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.pb.h"
#include "ai/stigmer/agentic/agentinstance/v1/agentinstance.pb.h"
#include "ai/stigmer/agentic/session/v1/session.pb.h"
#include "ai/stigmer/commons/apiresource/apiresource.pb.h"
#include "domain/ids.h"

namespace aexd {

namespace res = ai::stigmer::commons::apiresource;
namespace exv1 = ai::stigmer::agentic::agentexecution::v1;
using Agent = ai::stigmer::agentic::agent::v1::Agent;
using AgentInstance = ai::stigmer::agentic::agentinstance::v1::AgentInstance;
using Session = ai::stigmer::agentic::session::v1::Session;
using Execution = exv1::AgentExecution;
using ExecutionStatus = exv1::AgentExecutionStatus;
using Phase = exv1::ExecutionPhase;

inline constexpr std::string_view kApiVersion = "agentic.stigmer.ai/v1";

template <class T>
struct KindOf;
template <>
struct KindOf<Agent> {
  static constexpr std::string_view name = "Agent", prefix = kAgentPrefix;
};
template <>
struct KindOf<AgentInstance> {
  static constexpr std::string_view name = "AgentInstance", prefix = kInstancePrefix;
};
template <>
struct KindOf<Session> {
  static constexpr std::string_view name = "Session", prefix = kSessionPrefix;
};
template <>
struct KindOf<Execution> {
  static constexpr std::string_view name = "AgentExecution", prefix = kExecutionPrefix;
};

}  // namespace aexd
