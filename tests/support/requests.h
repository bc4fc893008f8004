// Builders for valid requests of every kind, for unit and end-to-end tests alike. Each returns the
// smallest request the server accepts; a test changes only what it is about.
#pragma once

#include <string>

#include "domain/types.h"

namespace aexd::test {

inline Agent make_agent(const std::string& name = "Code Reviewer", res::ApiResourceOwnerScope scope = res::organization,
                        const std::string& org = "acme") {
  Agent a;
  a.mutable_metadata()->set_name(name);
  a.mutable_metadata()->set_owner_scope(scope);
  a.mutable_metadata()->set_org(org);
  a.mutable_spec()->set_instructions("Review the diff carefully.");
  return a;
}

inline AgentInstance make_instance(const std::string& agent_id, const std::string& name = "reviewer-prod",
                                   res::ApiResourceOwnerScope scope = res::organization,
                                   const std::string& org = "acme") {
  AgentInstance i;
  i.mutable_metadata()->set_name(name);
  i.mutable_metadata()->set_owner_scope(scope);
  i.mutable_metadata()->set_org(org);
  i.mutable_spec()->set_agent_id(agent_id);
  i.mutable_spec()->set_description("an instance for tests");
  return i;
}

inline Session make_session(const std::string& instance_id, const std::string& name = "review session",
                            res::ApiResourceOwnerScope scope = res::organization, const std::string& org = "acme") {
  Session s;
  s.mutable_metadata()->set_name(name);
  s.mutable_metadata()->set_owner_scope(scope);
  s.mutable_metadata()->set_org(org);
  s.mutable_spec()->set_agent_instance_id(instance_id);
  s.mutable_spec()->set_subject("a session for tests");
  return s;
}

inline Execution make_execution_for_agent(const std::string& agent_id, const std::string& message = "hello") {
  Execution e;
  e.mutable_metadata();
  e.mutable_spec()->set_agent_id(agent_id);
  e.mutable_spec()->set_message(message);
  return e;
}

inline Execution make_execution_in_session(const std::string& session_id, const std::string& message = "hello") {
  Execution e;
  e.mutable_metadata();
  e.mutable_spec()->set_session_id(session_id);
  e.mutable_spec()->set_message(message);
  return e;
}

}  // namespace aexd::test
