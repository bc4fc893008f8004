// An execution's life after create, over gRPC: get, update, updateStatus (the merge rules, terminal
// phases, revisions), delete, and fields from newer clients surviving the round trip.
#include <string>
#include <utility>

#include "support/client.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;

namespace {

struct Fixture {
  TestServer server;
  Client api{server.channel()};
  Agent agent = must(api.create(make_agent("Code Reviewer")));
  Execution execution = must(api.create(make_execution_for_agent(agent.metadata().id())));

  const std::string& id() const { return execution.metadata().id(); }
  Execution get() const { return must(api.get<Execution>(id())); }
};

/// A status with every mergeable field set; tool calls and sub-agents are finished so that no
/// phase change alters them.
ExecutionStatus full_status() {
  ExecutionStatus s;
  s.set_phase(exv1::EXECUTION_IN_PROGRESS);
  auto* human = s.add_messages();
  human->set_type(exv1::MESSAGE_HUMAN);
  human->set_content("review this diff");
  auto* ai = s.add_messages();
  ai->set_type(exv1::MESSAGE_AI);
  ai->set_content("looking");
  auto* call = s.add_tool_calls();
  call->set_id("call-1");
  call->set_name("read_file");
  call->set_status(exv1::TOOL_CALL_COMPLETED);
  auto* sub = s.add_sub_agent_executions();
  sub->set_id("sub-1");
  sub->set_name("linter");
  sub->set_status(exv1::SUB_AGENT_COMPLETED);
  auto& todo = (*s.mutable_todos())["t1"];
  todo.set_id("t1");
  todo.set_content("read the diff");
  todo.set_status(exv1::TODO_IN_PROGRESS);
  s.set_error("transient: retried");
  s.set_started_at("2026-01-01T10:00:00Z");
  s.set_completed_at("2026-01-01T10:05:00Z");
  s.set_callback_token("token-1");
  return s;
}

ExecutionStatus without_audit(ExecutionStatus s) {
  s.clear_audit();
  return s;
}

ExecutionStatus with_phase(Phase phase) {
  ExecutionStatus s;
  s.set_phase(phase);
  return s;
}

template <class T>
void check_code(const Result<T>& result, grpc::StatusCode code) {
  REQUIRE_FALSE(result.ok());
  CHECK_MESSAGE(result.status().error_code() == code, describe(result.status()));
}

}  // namespace

TEST_CASE("get of an unknown execution is NOT_FOUND naming it") {
  TestServer server;
  Client api(server.channel());
  const std::string missing = new_id(kExecutionPrefix);

  auto result = api.get<Execution>(missing);

  check_code(result, grpc::StatusCode::NOT_FOUND);
  CHECK(result.status().error_message().find("AgentExecution " + missing) != std::string::npos);
}

TEST_CASE("updateStatus merges into the stored status") {
  Fixture f;
  must(f.api.update_status(f.id(), full_status()));
  const Execution before = f.get();
  ExecutionStatus update;
  ExecutionStatus expected = without_audit(before.status());

  SUBCASE("an update that sets nothing keeps every field") {}
  SUBCASE("a phase other than UNSPECIFIED replaces the stored phase") {
    update.set_phase(exv1::EXECUTION_WAITING_FOR_APPROVAL);
    expected.set_phase(exv1::EXECUTION_WAITING_FOR_APPROVAL);
  }
  SUBCASE("non-empty messages replace the stored list") {
    auto* m = update.add_messages();
    m->set_type(exv1::MESSAGE_AI);
    m->set_content("done reading");
    *expected.mutable_messages() = update.messages();
  }
  SUBCASE("non-empty tool_calls replace the stored list") {
    auto* call = update.add_tool_calls();
    call->set_id("call-2");
    call->set_status(exv1::TOOL_CALL_RUNNING);
    *expected.mutable_tool_calls() = update.tool_calls();
  }
  SUBCASE("non-empty sub_agent_executions replace the stored list") {
    auto* sub = update.add_sub_agent_executions();
    sub->set_id("sub-2");
    sub->set_status(exv1::SUB_AGENT_IN_PROGRESS);
    *expected.mutable_sub_agent_executions() = update.sub_agent_executions();
  }
  SUBCASE("non-empty todos replace the stored map") {
    auto& todo = (*update.mutable_todos())["t2"];
    todo.set_id("t2");
    todo.set_status(exv1::TODO_PENDING);
    *expected.mutable_todos() = update.todos();
  }
  SUBCASE("a non-empty error replaces the stored one") {
    update.set_error("tool crashed");
    expected.set_error("tool crashed");
  }
  SUBCASE("a non-empty started_at replaces the stored one") {
    update.set_started_at("2026-02-02T00:00:00Z");
    expected.set_started_at("2026-02-02T00:00:00Z");
  }
  SUBCASE("a non-empty completed_at replaces the stored one") {
    update.set_completed_at("2026-02-02T00:01:00Z");
    expected.set_completed_at("2026-02-02T00:01:00Z");
  }
  SUBCASE("a non-empty callback_token replaces the stored one") {
    update.set_callback_token("token-2");
    expected.set_callback_token("token-2");
  }

  auto answered = must(f.api.update_status(f.id(), update));
  const Execution after = f.get();
  CHECK(same(after, answered));
  CHECK_MESSAGE(same(without_audit(after.status()), expected), after.status().ShortDebugString());
  CHECK(same(after.spec(), before.spec()));
  CHECK(after.metadata().name() == before.metadata().name());
}

TEST_CASE("updateStatus leaves spec and metadata alone apart from the revision") {
  Fixture f;

  auto updated = must(f.api.update_status(f.id(), full_status()));

  CHECK(same(updated.spec(), f.execution.spec()));
  auto metadata = updated.metadata();
  metadata.clear_version();
  auto original = f.execution.metadata();
  original.clear_version();
  CHECK(same(metadata, original));
}

TEST_CASE("updateStatus stamps the status audit and ignores a client-sent audit") {
  Fixture f;
  auto status = with_phase(exv1::EXECUTION_IN_PROGRESS);
  status.mutable_audit()->mutable_status_audit()->mutable_created_by()->set_id("mallory");

  auto updated = must(f.api.update_status(f.id(), status));

  const auto& before = f.execution.status().audit();
  const auto& after = updated.status().audit();
  CHECK(after.status_audit().event() == "updated");
  CHECK(after.status_audit().created_by().id() == "system");
  CHECK(after.status_audit().updated_by().id() == "system");
  CHECK(after.status_audit().created_at() == before.status_audit().created_at());
  CHECK(after.status_audit().updated_at() >= before.status_audit().updated_at());
  CHECK(same(after.spec_audit(), before.spec_audit()));
}

TEST_CASE("updateStatus of an unknown execution is NOT_FOUND naming it") {
  TestServer server;
  Client api(server.channel());
  const std::string missing = new_id(kExecutionPrefix);

  auto result = api.update_status(missing, with_phase(exv1::EXECUTION_IN_PROGRESS));

  check_code(result, grpc::StatusCode::NOT_FOUND);
  CHECK(result.status().error_message().find(missing) != std::string::npos);
}

TEST_CASE("a terminal phase is final") {
  Fixture f;
  Phase terminal = exv1::EXECUTION_COMPLETED;
  SUBCASE("completed") { terminal = exv1::EXECUTION_COMPLETED; }
  SUBCASE("failed") { terminal = exv1::EXECUTION_FAILED; }
  SUBCASE("cancelled") { terminal = exv1::EXECUTION_CANCELLED; }
  SUBCASE("terminated") { terminal = exv1::EXECUTION_TERMINATED; }
  CAPTURE(terminal);
  const auto ended = must(f.api.update_status(f.id(), with_phase(terminal)));

  for (Phase next : {exv1::EXECUTION_PENDING, exv1::EXECUTION_IN_PROGRESS, exv1::EXECUTION_PAUSED,
                     exv1::EXECUTION_COMPLETED, exv1::EXECUTION_FAILED}) {
    if (next == terminal) continue;
    CAPTURE(next);
    check_code(f.api.update_status(f.id(), with_phase(next)), grpc::StatusCode::FAILED_PRECONDITION);
  }
  CHECK(same(f.get(), ended));
}

TEST_CASE("a repeat of the final push returns the execution unchanged, and a different push after it is refused") {
  Fixture f;
  ExecutionStatus final_push = full_status();
  final_push.set_phase(exv1::EXECUTION_FAILED);
  final_push.set_error("model quota exhausted");
  auto* running = final_push.add_tool_calls();
  running->set_id("call-2");
  running->set_status(exv1::TOOL_CALL_RUNNING);
  const Execution ended = must(f.api.update_status(f.id(), final_push));
  REQUIRE(ended.status().tool_calls(1).status() == exv1::TOOL_CALL_FAILED);

  SUBCASE("a runner's retry of the final push, settled work included, is answered with the stored execution") {
    for (int retry = 0; retry < 3; ++retry) {
      const Execution again = must(f.api.update_status(f.id(), final_push));
      CHECK(same(again, ended));
    }
    CHECK(same(f.get(), ended));
    CHECK(count_rows(f.server.db_path(), "executions", "revision = " + ended.metadata().version().id()) == 1);
    // A subscriber that has the final state is told nothing new.
    WatchStream watch(*f.server.execution_queries(), f.id(), ended.metadata().version().id());
    CHECK(watch.wait_done().ok());
    CHECK(watch.received().empty());
  }
  SUBCASE("a push that differs is FAILED_PRECONDITION and changes nothing") {
    ExecutionStatus late = final_push;
    SUBCASE("another error") { late.set_error("late detail"); }
    SUBCASE("another message") { late.add_messages()->set_content("one more thing"); }
    SUBCASE("only a completed_at") {
      late = ExecutionStatus();
      late.set_completed_at("2026-01-01T11:00:00Z");
    }
    SUBCASE("another phase") { late.set_phase(exv1::EXECUTION_COMPLETED); }
    const auto refused = f.api.update_status(f.id(), late);
    check_code(refused, grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(refused.status().error_message().find("EXECUTION_FAILED") != std::string::npos);
    CHECK(same(f.get(), ended));
    // Nothing reaches a subscriber: it has the final state, and the stream ends at once.
    WatchStream watch(*f.server.execution_queries(), f.id(), ended.metadata().version().id());
    CHECK(watch.wait_done().ok());
    CHECK(watch.received().empty());
  }
}

TEST_CASE("every accepted change bumps the revision by one and a rejected one does not") {
  Fixture f;
  REQUIRE(f.execution.metadata().version().id() == "1");

  auto second = must(f.api.update_status(f.id(), with_phase(exv1::EXECUTION_IN_PROGRESS)));
  CHECK(second.metadata().version().id() == "2");
  CHECK(second.metadata().version().previous_version_id() == "1");

  auto edit = f.get();
  edit.mutable_spec()->set_message("edited");
  auto third = must(f.api.update(edit));
  CHECK(third.metadata().version().id() == "3");
  CHECK(third.metadata().version().previous_version_id() == "2");

  auto fourth = must(f.api.update_status(f.id(), with_phase(exv1::EXECUTION_COMPLETED)));
  CHECK(fourth.metadata().version().id() == "4");

  CHECK_FALSE(f.api.update_status(f.id(), with_phase(exv1::EXECUTION_IN_PROGRESS)).ok());
  CHECK(f.get().metadata().version().id() == "4");
}

TEST_CASE("update replaces an execution's spec and metadata and keeps its id, status and create audit") {
  Fixture f;
  must(f.api.update_status(f.id(), full_status()));
  const Execution before = f.get();
  Execution edit = before;
  edit.mutable_spec()->set_message("please review again");
  edit.mutable_spec()->mutable_execution_config()->set_model_name("small-model");
  edit.mutable_metadata()->set_name("Second Pass");
  (*edit.mutable_metadata()->mutable_labels())["team"] = "platform";
  edit.mutable_status()->set_phase(exv1::EXECUTION_COMPLETED);  // update must ignore the status

  auto updated = must(f.api.update(edit));

  CHECK(same(f.get(), updated));
  CHECK(updated.metadata().id() == f.id());
  CHECK(updated.spec().message() == "please review again");
  CHECK(updated.spec().execution_config().model_name() == "small-model");
  CHECK(updated.metadata().name() == "Second Pass");
  CHECK(updated.metadata().labels().at("team") == "platform");
  CHECK(same(without_audit(updated.status()), without_audit(before.status())));
  const auto& audit = updated.status().audit();
  CHECK(audit.spec_audit().event() == "updated");
  CHECK(audit.spec_audit().created_at() == before.status().audit().spec_audit().created_at());
  CHECK(same(audit.status_audit(), before.status().audit().status_audit()));
}

TEST_CASE("update may not change an execution's org or owner scope, and an empty one keeps the stored one") {
  TestServer server;
  Client api(server.channel());
  const auto agent = must(api.create(make_agent("Code Reviewer")));
  auto request = make_execution_for_agent(agent.metadata().id());
  request.mutable_metadata()->set_org("acme");
  const auto created = must(api.create(request));

  auto other_org = created;
  other_org.mutable_metadata()->set_org("globex");
  auto scoped = created;
  scoped.mutable_metadata()->set_owner_scope(res::organization);
  const std::pair<Execution, std::string> cases[] = {{other_org, "metadata.org: "}, {scoped, "metadata.owner_scope: "}};
  for (const auto& [bad, field] : cases) {
    const auto result = api.update(bad);
    check_code(result, grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_MESSAGE(result.status().error_message().rfind(field, 0) == 0, describe(result.status()));
  }
  CHECK(same(must(api.get<Execution>(created.metadata().id())), created));

  auto empty = created;
  empty.mutable_metadata()->clear_org();
  empty.mutable_spec()->clear_session_id();
  empty.mutable_spec()->clear_agent_id();
  const auto updated = must(api.update(empty));
  CHECK(updated.metadata().org() == "acme");
  CHECK(updated.spec().session_id() == created.spec().session_id());
  CHECK(updated.spec().agent_id() == created.spec().agent_id());
}

TEST_CASE("update of an execution with a stale metadata.version.id is ABORTED") {
  Fixture f;
  must(f.api.update_status(f.id(), with_phase(exv1::EXECUTION_IN_PROGRESS)));
  Execution stale = f.execution;  // names revision 1; the stored one is 2
  stale.mutable_spec()->set_message("lost update");

  check_code(f.api.update(stale), grpc::StatusCode::ABORTED);
  CHECK(f.get().spec().message() == "hello");
}

TEST_CASE("delete returns the execution as it was and leaves its session") {
  Fixture f;
  auto stored = must(f.api.update_status(f.id(), full_status()));

  auto deleted = must(f.api.remove<Execution>(f.id()));

  CHECK(same(deleted, stored));
  check_code(f.api.get<Execution>(f.id()), grpc::StatusCode::NOT_FOUND);
  check_code(f.api.update_status(f.id(), with_phase(exv1::EXECUTION_COMPLETED)), grpc::StatusCode::NOT_FOUND);
  check_code(f.api.remove<Execution>(f.id()), grpc::StatusCode::NOT_FOUND);
  CHECK(f.api.get<Session>(f.execution.spec().session_id()).ok());
}

TEST_CASE("fields a newer client sends survive create, get and updateStatus") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));
  auto request = make_execution_for_agent(agent.metadata().id());
  add_future_fields(request, 100);
  add_future_fields(*request.mutable_metadata(), 100);
  add_future_fields(*request.mutable_spec(), 100);
  add_future_fields(*request.mutable_spec()->mutable_execution_config(), 100);
  REQUIRE_FALSE(unknown_bytes(request.spec()).empty());

  auto created = must(api.create(request));
  must(api.update_status(created.metadata().id(), with_phase(exv1::EXECUTION_IN_PROGRESS)));
  auto got = must(api.get<Execution>(created.metadata().id()));

  CHECK(unknown_bytes(got) == unknown_bytes(request));
  CHECK(unknown_bytes(got.metadata()) == unknown_bytes(request.metadata()));
  CHECK(unknown_bytes(got.spec()) == unknown_bytes(request.spec()));
  CHECK(unknown_bytes(got.spec().execution_config()) == unknown_bytes(request.spec().execution_config()));
}
