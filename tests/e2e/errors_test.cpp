// The status codes API.md promises, over gRPC: each kind of bad input gets its own code and a message
// naming the field (INVALID_ARGUMENT) or the kind and id (NOT_FOUND); never UNKNOWN or INTERNAL.
#include <functional>
#include <string>
#include <vector>

#include "support/client.h"

using namespace aexd;
using namespace aexd::test;

namespace {

/// One bad request: what it is, the call, and the text the error message must start with or contain.
struct BadInput {
  std::string what;
  std::function<grpc::Status()> call;
  std::string expected;
};

template <class T>
grpc::Status status_of(const Result<T>& result) {
  return result.ok() ? grpc::Status::OK : result.status();
}

template <class T>
using Edit = std::function<void(T&)>;

/// Calls that send `base` changed by `edit`.
template <class T>
std::function<grpc::Status()> creating(const Client& api, T base, Edit<T> edit) {
  return [&api, base = std::move(base), edit] {
    T r = base;
    edit(r);
    return status_of(api.create(r));
  };
}
template <class T>
std::function<grpc::Status()> applying(const Client& api, T base, Edit<T> edit) {
  return [&api, base = std::move(base), edit] {
    T r = base;
    edit(r);
    return status_of(api.apply(r));
  };
}
template <class T>
std::function<grpc::Status()> updating(const Client& api, T base, Edit<T> edit) {
  return [&api, base = std::move(base), edit] {
    T r = base;
    edit(r);
    return status_of(api.update(r));
  };
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Runs every case and checks its code; INVALID_ARGUMENT messages must start with "<field path>: ",
/// any other code's message must contain `expected`.
void check_all(const std::vector<BadInput>& cases, grpc::StatusCode code) {
  for (const auto& c : cases) {
    INFO(c.what);
    const grpc::Status status = c.call();
    INFO(describe(status));
    CHECK(status.error_code() == code);
    CHECK(status.error_code() != grpc::StatusCode::UNKNOWN);
    CHECK(status.error_code() != grpc::StatusCode::INTERNAL);
    if (code == grpc::StatusCode::INVALID_ARGUMENT) {
      CHECK(starts_with(status.error_message(), c.expected + ": "));
    } else {
      CHECK(contains(status.error_message(), c.expected));
    }
  }
}

struct Fixture {
  TestServer server;
  Client api{server.channel()};
  SessionChain chain = make_chain(api, "Code Reviewer");
  Execution execution = must(api.create(make_execution_in_session(chain.session.metadata().id())));

  const std::string& agent_id() const { return chain.agent.metadata().id(); }
  const std::string& instance_id() const { return chain.instance.metadata().id(); }
  const std::string& session_id() const { return chain.session.metadata().id(); }
  const std::string& execution_id() const { return execution.metadata().id(); }

  /// Rows of every table, to show that rejected requests wrote nothing.
  std::vector<int64_t> rows() const {
    std::vector<int64_t> n;
    for (const char* table : {"agents", "agent_instances", "sessions", "executions"})
      n.push_back(count_rows(server.db_path(), table));
    return n;
  }
};

ExecutionStatus with_phase(Phase phase) {
  ExecutionStatus s;
  s.set_phase(phase);
  return s;
}

}  // namespace

TEST_CASE("malformed agents are INVALID_ARGUMENT naming the field, writing nothing") {
  Fixture f;
  const auto before = f.rows();
  const auto& api = f.api;
  const Agent good = make_agent("Bad Agent");
  const Agent stored = f.chain.agent;
  std::vector<BadInput> cases = {
      {"wrong api_version", creating<Agent>(api, good, [](auto& a) { a.set_api_version("v0"); }), "api_version"},
      {"wrong kind", creating<Agent>(api, good, [](auto& a) { a.set_kind("Session"); }), "kind"},
      {"no metadata", creating<Agent>(api, good, [](auto& a) { a.clear_metadata(); }), "metadata"},
      {"unspecified owner scope",
       creating<Agent>(api, good, [](auto& a) { a.mutable_metadata()->clear_owner_scope(); }), "metadata.owner_scope"},
      {"identity_account owner scope",
       creating<Agent>(api, good, [](auto& a) { a.mutable_metadata()->set_owner_scope(res::identity_account); }),
       "metadata.owner_scope"},
      {"no name and no slug", creating<Agent>(api, good, [](auto& a) { a.mutable_metadata()->clear_name(); }),
       "metadata.name"},
      {"instructions under 10 characters",
       creating<Agent>(api, good, [](auto& a) { a.mutable_spec()->set_instructions("too short"); }),
       "spec.instructions"},
      {"a slug with characters a slug cannot hold",
       creating<Agent>(api, good, [](auto& a) { a.mutable_metadata()->set_slug("Not A Slug"); }), "metadata.slug"},
      {"apply with short instructions",
       applying<Agent>(api, stored, [](auto& a) { a.mutable_spec()->set_instructions("short"); }), "spec.instructions"},
      {"update without metadata.id", updating<Agent>(api, good, [](auto&) {}), "metadata.id"},
      {"update with short instructions",
       updating<Agent>(api, stored, [](auto& a) { a.mutable_spec()->set_instructions("short"); }), "spec.instructions"},
      {"get without an id", [&] { return status_of(api.get<Agent>("")); }, "value"},
      {"delete without an id", [&] { return status_of(api.remove<Agent>("")); }, "value"},
  };
  check_all(cases, grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(f.rows() == before);
  CHECK(same(must(api.get<Agent>(f.agent_id())), stored));
}

TEST_CASE("malformed agent instances are INVALID_ARGUMENT naming the field") {
  Fixture f;
  const auto& api = f.api;
  const AgentInstance good = make_instance(f.agent_id(), "Bad Instance");
  const AgentInstance stored = f.chain.instance;
  std::vector<BadInput> cases = {
      {"wrong kind", creating<AgentInstance>(api, good, [](auto& i) { i.set_kind("Agent"); }), "kind"},
      {"no metadata", creating<AgentInstance>(api, good, [](auto& i) { i.clear_metadata(); }), "metadata"},
      {"no agent_id", creating<AgentInstance>(api, good, [](auto& i) { i.mutable_spec()->clear_agent_id(); }),
       "spec.agent_id"},
      {"update moving it to another agent",
       updating<AgentInstance>(api, stored, [](auto& i) { i.mutable_spec()->set_agent_id(new_id(kAgentPrefix)); }),
       "spec.agent_id"},
      {"get without an id", [&] { return status_of(api.get<AgentInstance>("")); }, "value"},
      {"delete without an id", [&] { return status_of(api.remove<AgentInstance>("")); }, "value"},
  };
  check_all(cases, grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("malformed sessions are INVALID_ARGUMENT naming the field") {
  Fixture f;
  const auto& api = f.api;
  const Session good = make_session(f.instance_id(), "Bad Session");
  const Session stored = f.chain.session;
  std::vector<BadInput> cases = {
      {"wrong api_version", creating<Session>(api, good, [](auto& s) { s.set_api_version("agentic.stigmer.ai/v2"); }),
       "api_version"},
      {"platform owner scope",
       creating<Session>(api, good, [](auto& s) { s.mutable_metadata()->set_owner_scope(res::platform); }),
       "metadata.owner_scope"},
      {"no agent_instance_id",
       creating<Session>(api, good, [](auto& s) { s.mutable_spec()->clear_agent_instance_id(); }),
       "spec.agent_instance_id"},
      {"update moving it to another instance",
       updating<Session>(api, stored,
                         [](auto& s) { s.mutable_spec()->set_agent_instance_id(new_id(kInstancePrefix)); }),
       "spec.agent_instance_id"},
      {"get without an id", [&] { return status_of(api.get<Session>("")); }, "value"},
      {"delete without an id", [&] { return status_of(api.remove<Session>("")); }, "value"},
  };
  check_all(cases, grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("malformed executions and status updates are INVALID_ARGUMENT naming the field, writing nothing") {
  Fixture f;
  const auto before = f.rows();
  const auto& api = f.api;
  const Execution good = make_execution_for_agent(f.agent_id());
  const Execution stored = f.execution;
  exv1::AgentExecutionUpdateStatusInput no_status;
  no_status.set_execution_id(f.execution_id());
  std::vector<BadInput> cases = {
      {"wrong api_version", creating<Execution>(api, good, [](auto& e) { e.set_api_version("v1"); }), "api_version"},
      {"wrong kind", creating<Execution>(api, good, [](auto& e) { e.set_kind("Agent"); }), "kind"},
      {"no metadata", creating<Execution>(api, good, [](auto& e) { e.clear_metadata(); }), "metadata"},
      {"an owner scope",
       creating<Execution>(api, good, [](auto& e) { e.mutable_metadata()->set_owner_scope(res::organization); }),
       "metadata.owner_scope"},
      {"an empty message", creating<Execution>(api, good, [](auto& e) { e.mutable_spec()->clear_message(); }),
       "spec.message"},
      {"an empty runtime_env value",
       creating<Execution>(api, good,
                           [](auto& e) { (*e.mutable_spec()->mutable_runtime_env())["API_KEY"].set_is_secret(true); }),
       "spec.runtime_env[\"API_KEY\"].value"},
      {"neither session_id nor agent_id",
       creating<Execution>(api, good, [](auto& e) { e.mutable_spec()->clear_agent_id(); }), "spec.session_id"},
      {"an agent_id other than its session's agent",
       creating<Execution>(api, make_execution_in_session(f.session_id()),
                           [](auto& e) { e.mutable_spec()->set_agent_id(new_id(kAgentPrefix)); }),
       "spec.agent_id"},
      {"update without metadata.id",
       updating<Execution>(api, stored, [](auto& e) { e.mutable_metadata()->clear_id(); }), "metadata.id"},
      {"update with an empty message",
       updating<Execution>(api, stored, [](auto& e) { e.mutable_spec()->clear_message(); }), "spec.message"},
      {"update moving it to another session",
       updating<Execution>(api, stored, [](auto& e) { e.mutable_spec()->set_session_id(new_id(kSessionPrefix)); }),
       "spec.session_id"},
      {"update moving it to another agent",
       updating<Execution>(api, stored, [](auto& e) { e.mutable_spec()->set_agent_id(new_id(kAgentPrefix)); }),
       "spec.agent_id"},
      {"updateStatus without execution_id",
       [&] { return status_of(api.update_status("", with_phase(exv1::EXECUTION_IN_PROGRESS))); }, "execution_id"},
      {"updateStatus without status", [&] { return status_of(api.update_status(no_status)); }, "status"},
      {"get without an id", [&] { return status_of(api.get<Execution>("")); }, "value"},
      {"delete without an id", [&] { return status_of(api.remove<Execution>("")); }, "value"},
  };
  check_all(cases, grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(f.rows() == before);
  CHECK(same(must(api.get<Execution>(f.execution_id())), stored));
}

TEST_CASE("an undefined enum value is INVALID_ARGUMENT naming its path and the value, storing nothing") {
  Fixture f;
  const auto before = f.rows();
  const auto& api = f.api;
  const auto undefined_scope = [](auto& r) {
    r.mutable_metadata()->set_owner_scope(static_cast<res::ApiResourceOwnerScope>(42));
  };
  const auto pushing = [&](std::function<void(ExecutionStatus&)> edit) {
    return [&api, &f, edit] {
      ExecutionStatus status = with_phase(exv1::EXECUTION_IN_PROGRESS);
      for (int i = 0; i < 4; ++i) status.add_tool_calls()->set_status(exv1::TOOL_CALL_RUNNING);
      for (int i = 0; i < 2; ++i) status.add_messages()->add_tool_calls()->set_status(exv1::TOOL_CALL_PENDING);
      status.add_sub_agent_executions()->set_status(exv1::SUB_AGENT_IN_PROGRESS);
      (*status.mutable_todos())["t1"].set_status(exv1::TODO_PENDING);
      edit(status);
      return status_of(api.update_status(f.execution_id(), status));
    };
  };
  std::vector<BadInput> cases = {
      {"create agent", creating<Agent>(api, make_agent("Bad Agent"), undefined_scope), "metadata.owner_scope"},
      {"update agent", updating<Agent>(api, f.chain.agent, undefined_scope), "metadata.owner_scope"},
      {"apply agent", applying<Agent>(api, f.chain.agent, undefined_scope), "metadata.owner_scope"},
      {"apply a new agent", applying<Agent>(api, make_agent("Bad Agent"), undefined_scope), "metadata.owner_scope"},
      {"create instance", creating<AgentInstance>(api, make_instance(f.agent_id(), "Bad Instance"), undefined_scope),
       "metadata.owner_scope"},
      {"update instance", updating<AgentInstance>(api, f.chain.instance, undefined_scope), "metadata.owner_scope"},
      {"apply instance", applying<AgentInstance>(api, f.chain.instance, undefined_scope), "metadata.owner_scope"},
      {"create session", creating<Session>(api, make_session(f.instance_id()), undefined_scope),
       "metadata.owner_scope"},
      {"update session", updating<Session>(api, f.chain.session, undefined_scope), "metadata.owner_scope"},
      {"apply session", applying<Session>(api, f.chain.session, undefined_scope), "metadata.owner_scope"},
      {"create execution", creating<Execution>(api, make_execution_for_agent(f.agent_id()), undefined_scope),
       "metadata.owner_scope"},
      {"update execution", updating<Execution>(api, f.execution, undefined_scope), "metadata.owner_scope"},
      {"phase", pushing([](auto& s) { s.set_phase(static_cast<Phase>(42)); }), "status.phase"},
      {"message type", pushing([](auto& s) { s.mutable_messages(1)->set_type(static_cast<exv1::MessageType>(42)); }),
       "status.messages[1].type"},
      {"tool-call status",
       pushing([](auto& s) { s.mutable_tool_calls(3)->set_status(static_cast<exv1::ToolCallStatus>(42)); }),
       "status.tool_calls[3].status"},
      {"a message's tool-call status", pushing([](auto& s) {
         s.mutable_messages(1)->mutable_tool_calls(0)->set_status(static_cast<exv1::ToolCallStatus>(42));
       }),
       "status.messages[1].tool_calls[0].status"},
      {"todo status",
       pushing([](auto& s) { (*s.mutable_todos())["t1"].set_status(static_cast<exv1::TodoStatus>(42)); }),
       "status.todos[\"t1\"].status"},
      {"sub-agent status",
       pushing([](auto& s) { s.mutable_sub_agent_executions(0)->set_status(static_cast<exv1::SubAgentStatus>(42)); }),
       "status.sub_agent_executions[0].status"},
  };
  check_all(cases, grpc::StatusCode::INVALID_ARGUMENT);
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(c.call().error_message() == c.expected + ": undefined value 42");
  }
  CHECK(f.rows() == before);
  CHECK(same(must(api.get<Agent>(f.agent_id())), f.chain.agent));
  CHECK(same(must(api.get<AgentInstance>(f.instance_id())), f.chain.instance));
  CHECK(same(must(api.get<Session>(f.session_id())), f.chain.session));
  CHECK(same(must(api.get<Execution>(f.execution_id())), f.execution));
}

TEST_CASE("the aexd extension enum values are accepted, stored and returned as sent") {
  Fixture f;
  ExecutionStatus status = with_phase(exv1::EXECUTION_WAITING_FOR_APPROVAL);
  status.add_messages()->set_type(exv1::MESSAGE_THINKING);
  for (auto s : {exv1::TOOL_CALL_WAITING_APPROVAL, exv1::TOOL_CALL_SKIPPED, exv1::TOOL_CALL_INTERRUPTED})
    status.add_tool_calls()->set_status(s);
  status.add_sub_agent_executions()->set_status(exv1::SUB_AGENT_CANCELLED);

  const Execution out = must(f.api.update_status(f.execution_id(), status));

  auto stored = out.status();
  stored.clear_audit();
  CHECK(same(stored, status));
  CHECK(same(must(f.api.get<Execution>(f.execution_id())), out));
}

TEST_CASE("references to missing resources are NOT_FOUND naming the kind and id") {
  Fixture f;
  const auto& api = f.api;
  const std::string agent = new_id(kAgentPrefix), instance = new_id(kInstancePrefix), session = new_id(kSessionPrefix),
                    execution = new_id(kExecutionPrefix);
  const auto running = with_phase(exv1::EXECUTION_IN_PROGRESS);
  std::vector<BadInput> cases = {
      {"get agent", [&] { return status_of(api.get<Agent>(agent)); }, "Agent " + agent},
      {"get instance", [&] { return status_of(api.get<AgentInstance>(instance)); }, "AgentInstance " + instance},
      {"get session", [&] { return status_of(api.get<Session>(session)); }, "Session " + session},
      {"get execution", [&] { return status_of(api.get<Execution>(execution)); }, "AgentExecution " + execution},
      {"delete agent", [&] { return status_of(api.remove<Agent>(agent)); }, "Agent " + agent},
      {"delete instance", [&] { return status_of(api.remove<AgentInstance>(instance)); }, "AgentInstance " + instance},
      {"delete session", [&] { return status_of(api.remove<Session>(session)); }, "Session " + session},
      {"delete execution", [&] { return status_of(api.remove<Execution>(execution)); }, "AgentExecution " + execution},
      {"update agent", updating<Agent>(api, f.chain.agent, [&](auto& a) { a.mutable_metadata()->set_id(agent); }),
       "Agent " + agent},
      {"update instance",
       updating<AgentInstance>(api, f.chain.instance, [&](auto& i) { i.mutable_metadata()->set_id(instance); }),
       "AgentInstance " + instance},
      {"update session",
       updating<Session>(api, f.chain.session, [&](auto& s) { s.mutable_metadata()->set_id(session); }),
       "Session " + session},
      {"update execution",
       updating<Execution>(api, f.execution, [&](auto& e) { e.mutable_metadata()->set_id(execution); }),
       "AgentExecution " + execution},
      {"updateStatus", [&] { return status_of(api.update_status(execution, running)); }, "AgentExecution " + execution},
      {"execution for a missing agent", [&] { return status_of(api.create(make_execution_for_agent(agent))); },
       "Agent " + agent},
      {"execution in a missing session", [&] { return status_of(api.create(make_execution_in_session(session))); },
       "Session " + session},
      {"instance of a missing agent", [&] { return status_of(api.create(make_instance(agent, "orphan"))); },
       "Agent " + agent},
      {"apply of an instance of a missing agent", [&] { return status_of(api.apply(make_instance(agent, "orphan"))); },
       "Agent " + agent},
      {"session on a missing instance", [&] { return status_of(api.create(make_session(instance))); },
       "AgentInstance " + instance},
  };
  check_all(cases, grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("a taken agent or instance slug is ALREADY_EXISTS naming the slug") {
  Fixture f;
  const auto& api = f.api;
  const Agent other = must(api.create(make_agent("Test Writer")));
  const auto& instance = f.chain.instance.metadata();
  std::vector<BadInput> cases = {
      {"create agent", [&] { return status_of(api.create(make_agent("Code Reviewer"))); }, "'code-reviewer'"},
      {"update agent to a taken slug",
       updating<Agent>(api, other, [](auto& a) { a.mutable_metadata()->set_slug("code-reviewer"); }),
       "'code-reviewer'"},
      {"create instance", [&] { return status_of(api.create(make_instance(f.agent_id(), instance.name()))); },
       "'" + instance.slug() + "'"},
  };
  check_all(cases, grpc::StatusCode::ALREADY_EXISTS);
}

TEST_CASE("breaking a rule of the current state is FAILED_PRECONDITION saying why") {
  Fixture f;
  const auto& api = f.api;
  must(api.update_status(f.execution_id(), with_phase(exv1::EXECUTION_CANCELLED)));
  const auto running = with_phase(exv1::EXECUTION_IN_PROGRESS);
  std::vector<BadInput> cases = {
      {"leave a terminal phase", [&] { return status_of(api.update_status(f.execution_id(), running)); },
       "EXECUTION_CANCELLED"},
      {"delete an agent with sessions", [&] { return status_of(api.remove<Agent>(f.agent_id())); }, "1 session"},
      {"delete an instance with sessions", [&] { return status_of(api.remove<AgentInstance>(f.instance_id())); },
       "1 session"},
  };
  check_all(cases, grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("an update naming a stale revision is ABORTED for every kind") {
  Fixture f;
  const auto& api = f.api;
  // The stale copies name revision 1; one accepted change moves each resource to revision 2.
  const auto agent = f.chain.agent;
  const auto instance = f.chain.instance;
  const auto session = f.chain.session;
  const auto execution = f.execution;
  must(api.update(agent));
  must(api.update(instance));
  must(api.update(session));
  must(api.update_status(f.execution_id(), with_phase(exv1::EXECUTION_IN_PROGRESS)));
  const auto unchanged = [](auto&) {};
  std::vector<BadInput> cases = {
      {"agent", updating<Agent>(api, agent, unchanged), "metadata.version.id"},
      {"instance", updating<AgentInstance>(api, instance, unchanged), "metadata.version.id"},
      {"session", updating<Session>(api, session, unchanged), "metadata.version.id"},
      {"execution", updating<Execution>(api, execution, unchanged), "metadata.version.id"},
  };
  check_all(cases, grpc::StatusCode::ABORTED);
}

TEST_CASE("a request that does not parse (invalid UTF-8 in a string) is refused without UNKNOWN or INTERNAL") {
  Fixture f;
  // The client library only logs invalid UTF-8 and sends it; the server must still answer cleanly.
  auto status = status_of(f.api.create(make_agent("Broken \xff\xfe Name")));

  INFO(describe(status));
  CHECK_FALSE(status.ok());
  CHECK(status.error_code() != grpc::StatusCode::UNKNOWN);
  CHECK(status.error_code() != grpc::StatusCode::INTERNAL);
  CHECK(f.rows() == std::vector<int64_t>{1, 1, 1, 1});
}

TEST_CASE("a server that has shut down answers UNAVAILABLE") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));

  server.server().shutdown();

  auto got = api.get<Agent>(agent.metadata().id());
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().error_code() == grpc::StatusCode::UNAVAILABLE);
}
