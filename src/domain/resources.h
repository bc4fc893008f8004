// Rules that differ by kind of resource: default names, which kinds have unique slugs, the
// resources an execution creates on demand, and what a delete is blocked by or takes with it.
#pragma once

#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "domain/types.h"

namespace aexd {

/// The name a resource created without one gets ("" keeps it unnamed).
template <class T>
std::string default_name(const std::string& id);
template <>
std::string default_name<Agent>(const std::string& id);
template <>
std::string default_name<AgentInstance>(const std::string& id);
template <>
std::string default_name<Session>(const std::string& id);
template <>
std::string default_name<Execution>(const std::string& id);

/// Agents and agent instances: a slug is unique within (owner_scope, org).
template <class T>
inline constexpr bool kSlugUnique = std::is_same_v<T, Agent> || std::is_same_v<T, AgentInstance>;

/// Agent mode: the instance an agent gets on its first execution, "<agent name>-default".
AgentInstance default_instance_request(const Agent& agent);
/// Agent mode: the session each execution gets on the agent's default instance.
Session auto_session_request(const Agent& agent);

/// Deletes cascade: an agent takes its instances, a session its executions. An agent or an
/// instance that sessions still use cannot be deleted: FAILED_PRECONDITION naming the count.
grpc::Status check_unused(std::string_view kind, const std::string& id, int64_t sessions);
/// An agent whose default instance is deleted no longer names it; false if it did not.
bool forget_default_instance(Agent& agent, const std::string& instance_id, const google::protobuf::Timestamp& at);

}  // namespace aexd
