#include "domain/status.h"

#include <doctest/doctest.h>
#include <google/protobuf/util/message_differencer.h>

#include <limits>
#include <string>

#include "domain/audit.h"

using namespace aexd;
using google::protobuf::util::MessageDifferencer;

namespace {

exv1::ToolCall tool_call(const std::string& id, exv1::ToolCallStatus status) {
  exv1::ToolCall call;
  call.set_id(id);
  call.set_name("shell");
  call.set_status(status);
  return call;
}

exv1::SubAgentExecution sub_agent(const std::string& id, exv1::SubAgentStatus status) {
  exv1::SubAgentExecution sub;
  sub.set_id(id);
  sub.set_name("researcher");
  sub.set_status(status);
  return sub;
}

// A stored status with something in every field the merge can touch.
ExecutionStatus stored_status(Phase phase = exv1::EXECUTION_IN_PROGRESS) {
  ExecutionStatus s;
  for (const char* text : {"first", "second"}) {
    auto* m = s.add_messages();
    m->set_type(exv1::MESSAGE_AI);
    m->set_content(text);
  }
  *s.add_tool_calls() = tool_call("tc-stored", exv1::TOOL_CALL_COMPLETED);
  *s.add_sub_agent_executions() = sub_agent("sa-stored", exv1::SUB_AGENT_COMPLETED);
  (*s.mutable_todos())["t-stored"].set_content("stored todo");
  s.set_phase(phase);
  s.set_error("stored error");
  s.set_started_at("2024-01-01T00:00:00Z");
  s.set_completed_at("2024-01-01T00:01:00Z");
  s.set_callback_token("stored-token");
  google::protobuf::Timestamp at;
  at.set_seconds(1'700'000'000);
  stamp_created(*s.mutable_audit(), at);
  return s;
}

bool same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return MessageDifferencer::Equals(a, b);
}

// The clock of the write under test, later than the stored status audit's.
google::protobuf::Timestamp at_seconds(int64_t seconds) {
  google::protobuf::Timestamp at;
  at.set_seconds(seconds);
  return at;
}
const google::protobuf::Timestamp kAt = at_seconds(1'800'000'000);
const std::string kAtText = "2027-01-15T08:00:00Z";

}  // namespace

TEST_CASE("an empty update changes nothing") {
  ExecutionStatus stored = stored_status();
  const ExecutionStatus before = stored;
  REQUIRE(merge_status(stored, ExecutionStatus(), kAt).ok());
  CHECK(same(stored, before));
}

TEST_CASE("non-empty messages replace the stored ones") {
  ExecutionStatus stored = stored_status();
  ExecutionStatus update;
  update.add_messages()->set_content("only");
  REQUIRE(merge_status(stored, update, kAt).ok());
  REQUIRE(stored.messages_size() == 1);
  CHECK(stored.messages(0).content() == "only");
}

TEST_CASE("non-empty tool_calls replace the stored ones") {
  ExecutionStatus stored = stored_status();
  ExecutionStatus update;
  *update.add_tool_calls() = tool_call("tc-1", exv1::TOOL_CALL_RUNNING);
  *update.add_tool_calls() = tool_call("tc-2", exv1::TOOL_CALL_PENDING);
  REQUIRE(merge_status(stored, update, kAt).ok());
  REQUIRE(stored.tool_calls_size() == 2);
  CHECK(same(stored.tool_calls(0), update.tool_calls(0)));
  CHECK(same(stored.tool_calls(1), update.tool_calls(1)));
}

TEST_CASE("non-empty sub_agent_executions replace the stored ones") {
  ExecutionStatus stored = stored_status();
  ExecutionStatus update;
  *update.add_sub_agent_executions() = sub_agent("sa-1", exv1::SUB_AGENT_IN_PROGRESS);
  REQUIRE(merge_status(stored, update, kAt).ok());
  REQUIRE(stored.sub_agent_executions_size() == 1);
  CHECK(same(stored.sub_agent_executions(0), update.sub_agent_executions(0)));
}

TEST_CASE("non-empty todos replace the stored map as a whole") {
  ExecutionStatus stored = stored_status();
  ExecutionStatus update;
  (*update.mutable_todos())["t-new"].set_content("new todo");
  REQUIRE(merge_status(stored, update, kAt).ok());
  CHECK(stored.todos_size() == 1);
  CHECK(stored.todos().count("t-stored") == 0);
  CHECK(stored.todos().at("t-new").content() == "new todo");
}

TEST_CASE("empty lists and todos keep the stored ones") {
  ExecutionStatus stored = stored_status();
  const ExecutionStatus before = stored;
  ExecutionStatus update;
  update.set_error("only the error moves");
  REQUIRE(merge_status(stored, update, kAt).ok());
  CHECK(MessageDifferencer::Equals(stored.messages(0), before.messages(0)));
  CHECK(stored.messages_size() == before.messages_size());
  CHECK(stored.tool_calls_size() == 1);
  CHECK(same(stored.tool_calls(0), before.tool_calls(0)));
  CHECK(stored.sub_agent_executions_size() == 1);
  CHECK(same(stored.sub_agent_executions(0), before.sub_agent_executions(0)));
  CHECK(stored.todos().at("t-stored").content() == "stored todo");
}

TEST_CASE("a specified phase replaces the stored one") {
  ExecutionStatus stored = stored_status(exv1::EXECUTION_PENDING);
  ExecutionStatus update;
  update.set_phase(exv1::EXECUTION_IN_PROGRESS);
  REQUIRE(merge_status(stored, update, kAt).ok());
  CHECK(stored.phase() == exv1::EXECUTION_IN_PROGRESS);
}

TEST_CASE("an UNSPECIFIED phase keeps the stored one") {
  ExecutionStatus stored = stored_status(exv1::EXECUTION_PAUSED);
  REQUIRE(merge_status(stored, ExecutionStatus(), kAt).ok());
  CHECK(stored.phase() == exv1::EXECUTION_PAUSED);
}

TEST_CASE("non-empty error, started_at, completed_at and callback_token replace the stored ones") {
  ExecutionStatus stored = stored_status();
  ExecutionStatus update;
  update.set_error("new error");
  update.set_started_at("2025-02-02T00:00:00Z");
  update.set_completed_at("2025-02-02T00:05:00Z");
  update.set_callback_token(std::string("\x00\x01token", 7));
  REQUIRE(merge_status(stored, update, kAt).ok());
  CHECK(stored.error() == "new error");
  CHECK(stored.started_at() == "2025-02-02T00:00:00Z");
  CHECK(stored.completed_at() == "2025-02-02T00:05:00Z");
  CHECK(stored.callback_token() == std::string("\x00\x01token", 7));
}

TEST_CASE("empty error, started_at, completed_at and callback_token keep the stored ones") {
  ExecutionStatus stored = stored_status();
  ExecutionStatus update;
  update.add_messages()->set_content("only messages move");
  REQUIRE(merge_status(stored, update, kAt).ok());
  CHECK(stored.error() == "stored error");
  CHECK(stored.started_at() == "2024-01-01T00:00:00Z");
  CHECK(stored.completed_at() == "2024-01-01T00:01:00Z");
  CHECK(stored.callback_token() == "stored-token");
}

TEST_CASE("the stored audit is kept whatever audit the update carries") {
  ExecutionStatus stored = stored_status();
  const ExecutionStatus before = stored;
  ExecutionStatus update;
  update.set_phase(exv1::EXECUTION_COMPLETED);
  update.mutable_audit()->mutable_spec_audit()->mutable_created_by()->set_id("mallory");
  update.mutable_audit()->mutable_status_audit()->set_event("forged");
  REQUIRE(merge_status(stored, update, kAt).ok());
  CHECK(same(stored.audit(), before.audit()));
}

TEST_CASE("phases 3, 4, 5 and 8 are terminal and the others are not") {
  for (int p = exv1::ExecutionPhase_MIN; p <= exv1::ExecutionPhase_MAX; ++p) {
    const auto phase = static_cast<Phase>(p);
    CAPTURE(exv1::ExecutionPhase_Name(phase));
    CHECK(is_terminal(phase) == (p == 3 || p == 4 || p == 5 || p == 8));
  }
}

TEST_CASE("a terminal execution cannot move to another phase and stays untouched") {
  for (auto from :
       {exv1::EXECUTION_COMPLETED, exv1::EXECUTION_FAILED, exv1::EXECUTION_CANCELLED, exv1::EXECUTION_TERMINATED}) {
    for (int p = exv1::ExecutionPhase_MIN + 1; p <= exv1::ExecutionPhase_MAX; ++p) {
      const auto to = static_cast<Phase>(p);
      if (to == from) continue;
      CAPTURE(exv1::ExecutionPhase_Name(from));
      CAPTURE(exv1::ExecutionPhase_Name(to));
      ExecutionStatus stored = stored_status(from);
      const ExecutionStatus before = stored;
      ExecutionStatus update;
      update.set_phase(to);
      update.set_error("ignored");
      update.add_messages()->set_content("ignored");
      const auto result = merge_status(stored, update, kAt);
      CHECK(result.status().error_code() == grpc::StatusCode::FAILED_PRECONDITION);
      CHECK(same(stored, before));
    }
  }
}

TEST_CASE("a terminal execution refuses a push that would change it, whatever phase the push names") {
  for (auto phase : {exv1::EXECUTION_PHASE_UNSPECIFIED, exv1::EXECUTION_FAILED}) {
    CAPTURE(exv1::ExecutionPhase_Name(phase));
    ExecutionStatus stored = stored_status(exv1::EXECUTION_FAILED);
    const ExecutionStatus before = stored;
    ExecutionStatus update;
    update.set_phase(phase);
    SUBCASE("a new error") { update.set_error("late detail"); }
    SUBCASE("new messages") { update.add_messages()->set_content("final summary"); }
    SUBCASE("in-flight work") { *update.add_tool_calls() = tool_call("tc", exv1::TOOL_CALL_PENDING); }
    const auto result = merge_status(stored, update, kAt);
    CHECK(result.status().error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(result.status().error_message().find("execution is EXECUTION_FAILED, a terminal phase") != std::string::npos);
    CHECK(same(stored, before));
  }
}

TEST_CASE("a repeat of the push that ended an execution is a repeat and leaves it untouched") {
  ExecutionStatus stored = stored_status();
  const auto ended_at = stored.audit().status_audit().updated_at();
  ExecutionStatus final_push;
  final_push.set_phase(exv1::EXECUTION_COMPLETED);
  final_push.add_messages()->set_content("done");
  REQUIRE(*merge_status(stored, final_push, ended_at) == Push::merged);
  const ExecutionStatus ended = stored;

  const auto again = merge_status(stored, final_push, kAt);

  REQUIRE(again.ok());
  CHECK(*again == Push::repeat);
  CHECK(same(stored, ended));
}

TEST_CASE("a repeat of a final push whose in-flight work was settled is still a repeat") {
  ExecutionStatus stored = stored_status();
  // The write that ends the execution stamps the status audit at its clock; record_change does that.
  const auto ended_at = stored.audit().status_audit().updated_at();
  ExecutionStatus final_push;
  final_push.set_phase(exv1::EXECUTION_FAILED);
  *final_push.add_tool_calls() = tool_call("tc", exv1::TOOL_CALL_RUNNING);
  auto* message = final_push.add_messages();
  *message->add_tool_calls() = tool_call("tc-nested", exv1::TOOL_CALL_PENDING);
  *final_push.add_sub_agent_executions() = sub_agent("sa", exv1::SUB_AGENT_IN_PROGRESS);
  REQUIRE(*merge_status(stored, final_push, ended_at) == Push::merged);
  REQUIRE(stored.tool_calls(0).status() == exv1::TOOL_CALL_FAILED);
  const ExecutionStatus ended = stored;

  const auto again = merge_status(stored, final_push, kAt);

  REQUIRE(again.ok());
  CHECK(*again == Push::repeat);
  CHECK(same(stored, ended));
}

TEST_CASE("a repeat of a final push whose tool call arguments hold a NaN is still a repeat") {
  ExecutionStatus stored = stored_status();
  const auto ended_at = stored.audit().status_audit().updated_at();
  ExecutionStatus final_push;
  final_push.set_phase(exv1::EXECUTION_COMPLETED);
  auto* call = final_push.add_tool_calls();
  *call = tool_call("tc", exv1::TOOL_CALL_COMPLETED);
  (*call->mutable_args()->mutable_fields())["ratio"].set_number_value(std::numeric_limits<double>::quiet_NaN());
  REQUIRE(*merge_status(stored, final_push, ended_at) == Push::merged);
  const std::string ended = stored.SerializeAsString();  // bytes: Equals never finds a NaN equal to itself

  const auto again = merge_status(stored, final_push, kAt);

  REQUIRE(again.ok());
  CHECK(*again == Push::repeat);
  CHECK(stored.SerializeAsString() == ended);
}

TEST_CASE("a push that names no change of a terminal execution is answered as a repeat") {
  ExecutionStatus stored = stored_status(exv1::EXECUTION_COMPLETED);
  const ExecutionStatus before = stored;
  ExecutionStatus update;
  SUBCASE("an empty push") {}
  SUBCASE("its own phase") { update.set_phase(exv1::EXECUTION_COMPLETED); }
  SUBCASE("its own error") { update.set_error("stored error"); }
  const auto result = merge_status(stored, update, kAt);
  REQUIRE(result.ok());
  CHECK(*result == Push::repeat);
  CHECK(same(stored, before));
}

TEST_CASE("a non-paused, non-terminal execution may move to any phase") {
  for (auto from : {exv1::EXECUTION_PENDING, exv1::EXECUTION_IN_PROGRESS, exv1::EXECUTION_WAITING_FOR_APPROVAL}) {
    for (int p = exv1::ExecutionPhase_MIN + 1; p <= exv1::ExecutionPhase_MAX; ++p) {
      CAPTURE(exv1::ExecutionPhase_Name(from));
      CAPTURE(p);
      ExecutionStatus stored = stored_status(from);
      ExecutionStatus update;
      update.set_phase(static_cast<Phase>(p));
      const auto result = merge_status(stored, update, kAt);
      REQUIRE(result.ok());
      CHECK(*result == Push::merged);
      CHECK(stored.phase() == p);
    }
  }
}

TEST_CASE("a paused execution stays paused under a pushed non-terminal phase and the rest of the push merges") {
  for (auto to : {exv1::EXECUTION_PENDING, exv1::EXECUTION_IN_PROGRESS, exv1::EXECUTION_WAITING_FOR_APPROVAL,
                  exv1::EXECUTION_PAUSED}) {
    CAPTURE(exv1::ExecutionPhase_Name(to));
    ExecutionStatus stored = stored_status(exv1::EXECUTION_PAUSED);
    ExecutionStatus update;
    update.set_phase(to);
    update.add_messages()->set_content("still working");
    REQUIRE(merge_status(stored, update, kAt).ok());
    CHECK(stored.phase() == exv1::EXECUTION_PAUSED);
    REQUIRE(stored.messages_size() == 1);
    CHECK(stored.messages(0).content() == "still working");
  }
}

TEST_CASE("a pushed terminal phase ends a paused execution") {
  for (auto to :
       {exv1::EXECUTION_COMPLETED, exv1::EXECUTION_FAILED, exv1::EXECUTION_CANCELLED, exv1::EXECUTION_TERMINATED}) {
    CAPTURE(exv1::ExecutionPhase_Name(to));
    ExecutionStatus stored = stored_status(exv1::EXECUTION_PAUSED);
    ExecutionStatus update;
    update.set_phase(to);
    REQUIRE(merge_status(stored, update, kAt).ok());
    CHECK(stored.phase() == to);
  }
}

TEST_CASE("settle_unfinished_work fails pending, running and approval-waiting tool calls only") {
  ExecutionStatus s;
  for (int v = exv1::ToolCallStatus_MIN; v <= exv1::ToolCallStatus_MAX; ++v)
    *s.add_tool_calls() = tool_call("tc-" + std::to_string(v), static_cast<exv1::ToolCallStatus>(v));
  *s.add_messages() = exv1::AgentMessage();
  *s.mutable_messages(0)->mutable_tool_calls() = s.tool_calls();
  settle_unfinished_work(s, exv1::EXECUTION_CANCELLED, kAt);
  for (const auto* calls : {&s.tool_calls(), &s.messages(0).tool_calls()}) {
    for (const auto& call : *calls) {
      const int was = std::stoi(call.id().substr(3));
      CAPTURE(was);
      const bool in_flight =
          was == exv1::TOOL_CALL_PENDING || was == exv1::TOOL_CALL_RUNNING || was == exv1::TOOL_CALL_WAITING_APPROVAL;
      CHECK(call.status() == (in_flight ? exv1::TOOL_CALL_FAILED : was));
      CHECK(call.error() == (in_flight ? "interrupted: execution EXECUTION_CANCELLED" : ""));
      CHECK(call.completed_at() == (in_flight ? kAtText : ""));
    }
  }
}

TEST_CASE("settle_unfinished_work fails pending and in-progress sub-agents only") {
  ExecutionStatus s;
  for (int v = exv1::SubAgentStatus_MIN; v <= exv1::SubAgentStatus_MAX; ++v)
    *s.add_sub_agent_executions() = sub_agent("sa-" + std::to_string(v), static_cast<exv1::SubAgentStatus>(v));
  settle_unfinished_work(s, exv1::EXECUTION_TERMINATED, kAt);
  for (const auto& sub : s.sub_agent_executions()) {
    const int was = std::stoi(sub.id().substr(3));
    CAPTURE(was);
    const bool in_flight = was == exv1::SUB_AGENT_PENDING || was == exv1::SUB_AGENT_IN_PROGRESS;
    CHECK(sub.status() == (in_flight ? exv1::SUB_AGENT_FAILED : was));
    CHECK(sub.error() == (in_flight ? "interrupted: execution EXECUTION_TERMINATED" : ""));
    CHECK(sub.completed_at() == (in_flight ? kAtText : ""));
  }
}

TEST_CASE("settle_unfinished_work leaves the rest of a tool call and sub-agent as they were") {
  ExecutionStatus s;
  auto call = tool_call("tc", exv1::TOOL_CALL_RUNNING);
  call.set_result("partial");
  call.set_started_at("2024-01-01T00:00:00Z");
  *s.add_tool_calls() = call;
  auto sub = sub_agent("sa", exv1::SUB_AGENT_PENDING);
  sub.set_input("question");
  *s.add_sub_agent_executions() = sub;
  settle_unfinished_work(s, exv1::EXECUTION_FAILED, kAt);
  call.set_status(exv1::TOOL_CALL_FAILED);
  call.set_error("interrupted: execution EXECUTION_FAILED");
  call.set_completed_at(kAtText);
  sub.set_status(exv1::SUB_AGENT_FAILED);
  sub.set_error("interrupted: execution EXECUTION_FAILED");
  sub.set_completed_at(kAtText);
  CHECK(same(s.tool_calls(0), call));
  CHECK(same(s.sub_agent_executions(0), sub));
}

TEST_CASE("entering each terminal phase settles stored work still in flight, nested tool calls included") {
  for (auto to :
       {exv1::EXECUTION_COMPLETED, exv1::EXECUTION_FAILED, exv1::EXECUTION_CANCELLED, exv1::EXECUTION_TERMINATED}) {
    CAPTURE(exv1::ExecutionPhase_Name(to));
    ExecutionStatus stored = stored_status();
    *stored.add_tool_calls() = tool_call("tc-running", exv1::TOOL_CALL_RUNNING);
    *stored.mutable_messages(1)->add_tool_calls() = tool_call("tc-nested", exv1::TOOL_CALL_WAITING_APPROVAL);
    *stored.add_sub_agent_executions() = sub_agent("sa-running", exv1::SUB_AGENT_IN_PROGRESS);
    ExecutionStatus update;
    update.set_phase(to);
    REQUIRE(merge_status(stored, update, kAt).ok());
    const std::string error = "interrupted: execution " + exv1::ExecutionPhase_Name(to);
    CHECK(stored.tool_calls(0).status() == exv1::TOOL_CALL_COMPLETED);
    CHECK(stored.tool_calls(1).status() == exv1::TOOL_CALL_FAILED);
    CHECK(stored.tool_calls(1).error() == error);
    CHECK(stored.tool_calls(1).completed_at() == kAtText);
    CHECK(stored.messages(1).tool_calls(0).status() == exv1::TOOL_CALL_FAILED);
    CHECK(stored.messages(1).tool_calls(0).error() == error);
    CHECK(stored.sub_agent_executions(0).status() == exv1::SUB_AGENT_COMPLETED);
    CHECK(stored.sub_agent_executions(1).status() == exv1::SUB_AGENT_FAILED);
    CHECK(stored.sub_agent_executions(1).error() == error);
    CHECK(stored.sub_agent_executions(1).completed_at() == kAtText);
  }
}

TEST_CASE("entering a terminal phase settles in-flight work sent in the same update") {
  ExecutionStatus stored = stored_status();
  ExecutionStatus update;
  update.set_phase(exv1::EXECUTION_FAILED);
  *update.add_tool_calls() = tool_call("tc", exv1::TOOL_CALL_WAITING_APPROVAL);
  update.add_messages()->add_tool_calls()->set_status(exv1::TOOL_CALL_RUNNING);
  *update.add_sub_agent_executions() = sub_agent("sa", exv1::SUB_AGENT_PENDING);
  REQUIRE(merge_status(stored, update, kAt).ok());
  CHECK(stored.tool_calls(0).status() == exv1::TOOL_CALL_FAILED);
  CHECK(stored.messages(0).tool_calls(0).status() == exv1::TOOL_CALL_FAILED);
  CHECK(stored.sub_agent_executions(0).status() == exv1::SUB_AGENT_FAILED);
}

TEST_CASE("a non-terminal phase leaves in-flight work alone") {
  ExecutionStatus stored = stored_status(exv1::EXECUTION_PENDING);
  ExecutionStatus update;
  update.set_phase(exv1::EXECUTION_PAUSED);
  *update.add_tool_calls() = tool_call("tc", exv1::TOOL_CALL_RUNNING);
  *update.add_sub_agent_executions() = sub_agent("sa", exv1::SUB_AGENT_IN_PROGRESS);
  REQUIRE(merge_status(stored, update, kAt).ok());
  CHECK(stored.tool_calls(0).status() == exv1::TOOL_CALL_RUNNING);
  CHECK(stored.sub_agent_executions(0).status() == exv1::SUB_AGENT_IN_PROGRESS);
}
