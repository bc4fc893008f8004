#include "domain/validation.h"

#include <doctest/doctest.h>

#include <string>
#include <type_traits>

#include "domain/errors.h"

using namespace aexd;

namespace {

// A valid resource of each kind; each test breaks one thing.
template <class T>
T valid();

template <>
Agent valid<Agent>() {
  Agent a;
  a.mutable_metadata()->set_name("Code Reviewer");
  a.mutable_metadata()->set_owner_scope(res::organization);
  a.mutable_metadata()->set_org("acme");
  a.mutable_spec()->set_instructions("Review the diff.");
  return a;
}

template <>
AgentInstance valid<AgentInstance>() {
  AgentInstance i;
  i.mutable_metadata()->set_name("reviewer-prod");
  i.mutable_spec()->set_agent_id("agt-01j0000000000000000000000");
  return i;
}

template <>
Session valid<Session>() {
  Session s;
  s.mutable_metadata()->set_owner_scope(res::identity_account);
  s.mutable_spec()->set_agent_instance_id("ain-01j0000000000000000000000");
  return s;
}

template <>
Execution valid<Execution>() {
  Execution e;
  e.mutable_metadata();
  e.mutable_spec()->set_agent_id("agt-01j0000000000000000000000");
  e.mutable_spec()->set_message("hello");
  return e;
}

exv1::AgentExecutionUpdateStatusInput valid_status_input() {
  exv1::AgentExecutionUpdateStatusInput input;
  input.set_execution_id("aex-01j0000000000000000000000");
  input.mutable_status()->set_phase(exv1::EXECUTION_IN_PROGRESS);
  return input;
}

// INVALID_ARGUMENT whose message starts with the field path, as API.md promises.
bool rejects(const grpc::Status& status, const std::string& field) {
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
         status.error_message().rfind(field + ": ", 0) == 0;
}

#define KINDS Agent, AgentInstance, Session, Execution

}  // namespace

TEST_CASE_TEMPLATE("the valid request of each kind passes validation", T, KINDS) {
  const auto status = validate(valid<T>());
  CHECK_MESSAGE(status.ok(), status.error_message());
}

TEST_CASE_TEMPLATE("an empty api_version and kind are accepted and filled with the constants", T, KINDS) {
  T r = valid<T>();
  REQUIRE(r.api_version().empty());
  REQUIRE(r.kind().empty());
  CHECK(validate(r).ok());
  REQUIRE(fill_constants(r).ok());
  CHECK(r.api_version() == "agentic.stigmer.ai/v1");
  CHECK(r.kind() == KindOf<T>::name);
}

TEST_CASE_TEMPLATE("the exact constants are accepted and kept", T, KINDS) {
  T r = valid<T>();
  r.set_api_version("agentic.stigmer.ai/v1");
  r.set_kind(std::string(KindOf<T>::name));
  CHECK(validate(r).ok());
  REQUIRE(fill_constants(r).ok());
  CHECK(r.api_version() == "agentic.stigmer.ai/v1");
  CHECK(r.kind() == KindOf<T>::name);
}

TEST_CASE_TEMPLATE("a wrong api_version is INVALID_ARGUMENT naming api_version", T, KINDS) {
  T r = valid<T>();
  r.set_api_version("agentic.stigmer.ai/v2");
  CHECK(rejects(validate(r), "api_version"));
  CHECK(rejects(fill_constants(r), "api_version"));
  CHECK(r.api_version() == "agentic.stigmer.ai/v2");
}

TEST_CASE_TEMPLATE("a wrong kind is INVALID_ARGUMENT naming kind", T, KINDS) {
  T r = valid<T>();
  r.set_kind("Workflow");
  CHECK(rejects(validate(r), "kind"));
  CHECK(rejects(fill_constants(r), "kind"));
  CHECK(r.kind() == "Workflow");
}

TEST_CASE_TEMPLATE("another kind's name is a wrong kind", T, KINDS) {
  T r = valid<T>();
  r.set_kind(std::is_same_v<T, Agent> ? "AgentInstance" : "Agent");
  CHECK(rejects(validate(r), "kind"));
}

TEST_CASE_TEMPLATE("missing metadata is INVALID_ARGUMENT naming metadata", T, KINDS) {
  T r = valid<T>();
  r.clear_metadata();
  CHECK(rejects(validate(r), "metadata"));
  CHECK(rejects(fill_constants(r), "metadata"));
}

TEST_CASE_TEMPLATE("an undefined owner scope is INVALID_ARGUMENT naming the field and the value", T, KINDS) {
  T r = valid<T>();
  r.mutable_metadata()->set_owner_scope(static_cast<res::ApiResourceOwnerScope>(42));
  const auto status = validate(r);
  CHECK(rejects(status, "metadata.owner_scope"));
  CHECK(status.error_message() == "metadata.owner_scope: undefined value 42");
}

TEST_CASE("an agent's owner scope must be platform or organization") {
  for (auto scope : {res::platform, res::organization}) {
    Agent a = valid<Agent>();
    a.mutable_metadata()->set_owner_scope(scope);
    CHECK(validate(a).ok());
  }
  for (auto scope : {res::api_resource_owner_scope_unspecified, res::identity_account}) {
    CAPTURE(scope);
    Agent a = valid<Agent>();
    a.mutable_metadata()->set_owner_scope(scope);
    CHECK(rejects(validate(a), "metadata.owner_scope"));
  }
}

TEST_CASE("an agent's instructions need at least 10 characters") {
  Agent a = valid<Agent>();
  a.mutable_spec()->set_instructions("123456789");
  CHECK(rejects(validate(a), "spec.instructions"));
  a.mutable_spec()->clear_instructions();
  CHECK(rejects(validate(a), "spec.instructions"));
  a.mutable_spec()->set_instructions("1234567890");
  CHECK(validate(a).ok());
}

TEST_CASE("an agent's instructions are counted in characters, not bytes") {
  Agent a = valid<Agent>();
  a.mutable_spec()->set_instructions("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");  // 6 x "é", 12 bytes
  CHECK(rejects(validate(a), "spec.instructions"));
  a.mutable_spec()->set_instructions(
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
  CHECK(validate(a).ok());
}

TEST_CASE("an agent needs a name or a slug") {
  Agent a = valid<Agent>();
  a.mutable_metadata()->clear_name();
  CHECK(rejects(validate(a), "metadata.name"));
  a.mutable_metadata()->set_slug("code-reviewer");
  CHECK(validate(a).ok());
}

TEST_CASE("an agent instance needs a non-empty spec.agent_id") {
  AgentInstance i = valid<AgentInstance>();
  i.mutable_spec()->clear_agent_id();
  CHECK(rejects(validate(i), "spec.agent_id"));
}

TEST_CASE("an agent instance accepts any owner scope") {
  for (int scope = res::api_resource_owner_scope_unspecified; scope <= res::identity_account; ++scope) {
    AgentInstance i = valid<AgentInstance>();
    i.mutable_metadata()->set_owner_scope(static_cast<res::ApiResourceOwnerScope>(scope));
    CHECK(validate(i).ok());
  }
}

TEST_CASE("a session's owner scope must be organization or identity_account") {
  for (auto scope : {res::organization, res::identity_account}) {
    Session s = valid<Session>();
    s.mutable_metadata()->set_owner_scope(scope);
    CHECK(validate(s).ok());
  }
  for (auto scope : {res::api_resource_owner_scope_unspecified, res::platform}) {
    CAPTURE(scope);
    Session s = valid<Session>();
    s.mutable_metadata()->set_owner_scope(scope);
    CHECK(rejects(validate(s), "metadata.owner_scope"));
  }
}

TEST_CASE("a session needs spec.agent_instance_id") {
  Session s = valid<Session>();
  s.mutable_spec()->clear_agent_instance_id();
  CHECK(rejects(validate(s), "spec.agent_instance_id"));
}

TEST_CASE("an execution's owner scope must be unspecified") {
  for (auto scope : {res::platform, res::organization, res::identity_account}) {
    CAPTURE(scope);
    Execution e = valid<Execution>();
    e.mutable_metadata()->set_owner_scope(scope);
    CHECK(rejects(validate(e), "metadata.owner_scope"));
  }
}

TEST_CASE("an execution's spec.message needs at least one character") {
  Execution e = valid<Execution>();
  e.mutable_spec()->clear_message();
  CHECK(rejects(validate(e), "spec.message"));
  e.mutable_spec()->set_message("x");
  CHECK(validate(e).ok());
}

TEST_CASE("an execution's runtime_env values need at least one character, named by key") {
  Execution e = valid<Execution>();
  (*e.mutable_spec()->mutable_runtime_env())["API_KEY"].set_value("secret");
  (*e.mutable_spec()->mutable_runtime_env())["API_KEY"].set_is_secret(true);
  CHECK(validate(e).ok());
  (*e.mutable_spec()->mutable_runtime_env())["REGION"].set_is_secret(false);
  CHECK(rejects(validate(e), "spec.runtime_env[\"REGION\"].value"));
}

TEST_CASE("several offending map entries are answered naming the smallest key, in whatever order they were added") {
  // Map order differs between copies of one message, so the answer may not follow it.
  Execution forward = valid<Execution>(), backward = valid<Execution>();
  auto status_forward = valid_status_input(), status_backward = valid_status_input();
  const auto undefined_todo = static_cast<exv1::TodoStatus>(42);
  for (char c = 'a'; c <= 'z'; ++c) {
    const std::string front(1, c), back(1, static_cast<char>('a' + 'z' - c));
    (*forward.mutable_spec()->mutable_runtime_env())[front];
    (*backward.mutable_spec()->mutable_runtime_env())[back];
    (*status_forward.mutable_status()->mutable_todos())[front].set_status(undefined_todo);
    (*status_backward.mutable_status()->mutable_todos())[back].set_status(undefined_todo);
    (*forward.mutable_metadata()->mutable_labels())[front] = std::string(limits::kLabelValue + 1, 'x');
    (*backward.mutable_metadata()->mutable_labels())[back] = std::string(limits::kLabelValue + 1, 'x');
  }
  CHECK(rejects(check_bounds(forward), "metadata.labels[\"a\"]"));
  CHECK(rejects(check_bounds(backward), "metadata.labels[\"a\"]"));
  CHECK(rejects(validate(forward), "spec.runtime_env[\"a\"].value"));
  CHECK(rejects(validate(backward), "spec.runtime_env[\"a\"].value"));
  CHECK(rejects(validate(status_forward), "status.todos[\"a\"].status"));
  CHECK(rejects(validate(status_backward), "status.todos[\"a\"].status"));
}

TEST_CASE("an updateStatus input needs a non-empty execution_id") {
  auto input = valid_status_input();
  CHECK(validate(input).ok());
  input.clear_execution_id();
  CHECK(rejects(validate(input), "execution_id"));
}

TEST_CASE("an updateStatus input needs a status, even an empty one") {
  auto input = valid_status_input();
  input.clear_status();
  CHECK(rejects(validate(input), "status"));
  input.mutable_status();
  CHECK(validate(input).ok());
}

TEST_CASE("an id message's value is required and named by the given field") {
  CHECK(rejects(validate_id("value", ""), "value"));
  CHECK(validate_id("value", "aex-whatever").ok());
}

TEST_CASE("every enum field of an updateStatus input must hold a defined value, named by its path") {
  auto input = valid_status_input();
  auto& status = *input.mutable_status();
  for (int i = 0; i < 4; ++i) status.add_tool_calls()->set_status(exv1::TOOL_CALL_COMPLETED);
  for (int i = 0; i < 2; ++i) {
    status.add_messages()->set_type(exv1::MESSAGE_AI);
    status.add_sub_agent_executions()->set_status(exv1::SUB_AGENT_COMPLETED);
  }
  status.mutable_messages(1)->add_tool_calls()->set_status(exv1::TOOL_CALL_RUNNING);
  status.mutable_messages(1)->add_tool_calls()->set_status(exv1::TOOL_CALL_RUNNING);
  (*status.mutable_todos())["write tests"].set_status(exv1::TODO_PENDING);
  REQUIRE(validate(input).ok());
  std::string expected;
  SUBCASE("phase") {
    status.set_phase(static_cast<Phase>(42));
    expected = "status.phase: undefined value 42";
  }
  SUBCASE("message type") {
    status.mutable_messages(1)->set_type(static_cast<exv1::MessageType>(42));
    expected = "status.messages[1].type: undefined value 42";
  }
  SUBCASE("tool-call status") {
    status.mutable_tool_calls(3)->set_status(static_cast<exv1::ToolCallStatus>(42));
    expected = "status.tool_calls[3].status: undefined value 42";
  }
  SUBCASE("a message's tool-call status") {
    status.mutable_messages(1)->mutable_tool_calls(1)->set_status(static_cast<exv1::ToolCallStatus>(-1));
    expected = "status.messages[1].tool_calls[1].status: undefined value -1";
  }
  SUBCASE("todo status") {
    (*status.mutable_todos())["write tests"].set_status(static_cast<exv1::TodoStatus>(42));
    expected = "status.todos[\"write tests\"].status: undefined value 42";
  }
  SUBCASE("sub-agent status") {
    status.mutable_sub_agent_executions(1)->set_status(static_cast<exv1::SubAgentStatus>(6));
    expected = "status.sub_agent_executions[1].status: undefined value 6";
  }
  const auto result = validate(input);
  CHECK(result.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(result.error_message() == expected);
}

TEST_CASE("the aexd extension enum values are defined and accepted") {
  auto input = valid_status_input();
  auto& status = *input.mutable_status();
  SUBCASE("phases") {
    for (auto phase : {exv1::EXECUTION_WAITING_FOR_APPROVAL, exv1::EXECUTION_PAUSED, exv1::EXECUTION_TERMINATED}) {
      status.set_phase(phase);
      CHECK(validate(input).ok());
    }
  }
  SUBCASE("tool-call statuses") {
    for (auto s : {exv1::TOOL_CALL_WAITING_APPROVAL, exv1::TOOL_CALL_SKIPPED, exv1::TOOL_CALL_INTERRUPTED}) {
      status.add_tool_calls()->set_status(s);
      status.add_messages()->add_tool_calls()->set_status(s);
    }
    CHECK(validate(input).ok());
  }
  SUBCASE("message type and sub-agent status") {
    status.add_messages()->set_type(exv1::MESSAGE_THINKING);
    status.add_sub_agent_executions()->set_status(exv1::SUB_AGENT_CANCELLED);
    CHECK(validate(input).ok());
  }
}

TEST_CASE("an excerpt of client text keeps short text and cuts long text at a character boundary") {
  CHECK(errors::excerpt("aex-01j") == "aex-01j");
  CHECK(errors::excerpt(std::string(64, 'a')) == std::string(64, 'a'));
  // Built with append: GCC 12 warns falsely (-Wrestrict) on `string + literal` here.
  std::string cut_64(64, 'a'), cut_63(63, 'a'), straddling(63, 'a');
  cut_64.append("…");
  cut_63.append("…");
  straddling.append("étail");
  CHECK(errors::excerpt(std::string(100 * 1024, 'a')) == cut_64);
  // 63 ASCII bytes and a 2-byte character straddling byte 64: the character is left out whole.
  CHECK(errors::excerpt(straddling) == cut_63);
}

TEST_CASE("ids and names over their bound are INVALID_ARGUMENT naming the field and the bound") {
  const std::string id_over(limits::kId + 1, 'i'), name_over(limits::kName + 1, 'n');
  Agent agent = valid<Agent>();
  CHECK(check_bounds(agent).ok());
  agent.mutable_metadata()->set_id(std::string(limits::kId, 'i'));
  CHECK(check_bounds(agent).ok());
  agent.mutable_metadata()->set_id(id_over);
  CHECK(check_bounds(agent).error_message() == "metadata.id: longer than 128 bytes");

  agent = valid<Agent>();
  agent.mutable_metadata()->add_tags("ok");
  agent.mutable_metadata()->add_tags(name_over);
  CHECK(check_bounds(agent).error_message() == "metadata.tags[1]: longer than 256 bytes");
  agent = valid<Agent>();
  (*agent.mutable_metadata()->mutable_annotations())[name_over] = "free text of any length";
  CHECK(check_bounds(agent).error_message() == "metadata.annotations: has a key longer than 256 bytes");

  Execution execution = valid<Execution>();
  execution.mutable_spec()->set_message(std::string(1 << 20, 'm'));  // free text: bounded by the message size only
  CHECK(check_bounds(execution).ok());
  execution.mutable_spec()->set_agent_id(id_over);
  CHECK(check_bounds(execution).error_message() == "spec.agent_id: longer than 128 bytes");

  {
    ai::stigmer::agentic::agent::v1::AgentId id;
    id.set_value(id_over);
    CHECK(check_bounds(id).error_message() == "value: longer than 128 bytes");
  }
  aexd::v1::ClaimRequest claim;
  claim.set_runner_id("runner-1");
  claim.add_agent_ids(id_over);
  CHECK(check_bounds(claim).error_message() == "agent_ids[0]: longer than 128 bytes");
  exv1::AgentExecutionUpdateStatusInput push;
  push.set_execution_id("aex-1");
  push.mutable_status()->add_messages()->set_content(std::string(1 << 20, 'c'));  // a runner's output: free
  CHECK(check_bounds(push).ok());
}
