#include "domain/resources.h"

#include "domain/audit.h"
#include "domain/errors.h"

namespace aexd {

template <>
std::string default_name<Agent>(const std::string&) {
  return {};
}
template <>
std::string default_name<AgentInstance>(const std::string&) {
  return {};
}
template <>
std::string default_name<Session>(const std::string& id) {
  return "session-" + id.substr(kSessionPrefix.size() + 1);
}
template <>
std::string default_name<Execution>(const std::string& id) {
  return id;
}

AgentInstance default_instance_request(const Agent& agent) {
  AgentInstance request;
  auto& m = *request.mutable_metadata();
  m.set_name(agent.metadata().name() + "-default");
  m.set_owner_scope(agent.metadata().owner_scope());
  m.set_org(agent.metadata().org());
  request.mutable_spec()->set_agent_id(agent.metadata().id());
  request.mutable_spec()->set_description("Default instance (auto-created, no custom configuration)");
  return request;
}

Session auto_session_request(const Agent& agent) {
  Session request;
  auto& m = *request.mutable_metadata();
  if (agent.metadata().owner_scope() == res::organization) {
    m.set_owner_scope(res::organization);
    m.set_org(agent.metadata().org());
  } else {
    m.set_owner_scope(res::identity_account);
  }
  request.mutable_spec()->set_agent_instance_id(agent.status().default_instance_id());
  request.mutable_spec()->set_subject("Auto-created session");
  return request;
}

grpc::Status check_unused(std::string_view kind, const std::string& id, int64_t sessions) {
  if (sessions == 0) return grpc::Status::OK;
  return errors::failed_precondition(std::string(kind) + " " + errors::excerpt(id) + " still has " +
                                     std::to_string(sessions) + " session(s); delete those sessions first");
}

bool forget_default_instance(Agent& agent, const std::string& instance_id, const google::protobuf::Timestamp& at) {
  if (agent.status().default_instance_id() != instance_id) return false;
  agent.mutable_status()->clear_default_instance_id();
  record_change(agent, Changed::status, at);
  return true;
}

}  // namespace aexd
