// The shape of Stigmer's agent-runner loop against a real server, while a CLI-style client
// subscribes: resolve session → instance → agent, push the whole, growing status on every step
// (messages with tool calls, todos, the status audit it started from), then COMPLETED.
#include <string>

#include "support/client.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;

namespace {

constexpr int kPushes = 50;

/// What the runner has after `step` steps: every message so far, the last one's tool call still
/// running, and a todo per ten steps.
ExecutionStatus runner_status(const ExecutionStatus& started_from, int step) {
  ExecutionStatus status;
  *status.mutable_audit() = started_from.audit();  // the runner resends what it was handed
  status.set_phase(exv1::EXECUTION_IN_PROGRESS);
  status.set_started_at("2026-11-27T10:00:00Z");
  for (int i = 0; i <= step; ++i) {
    auto& message = *status.add_messages();
    message.set_type(i % 2 == 0 ? exv1::MESSAGE_AI : exv1::MESSAGE_TOOL);
    message.set_content("step " + std::to_string(i) + ": " + std::string(200, 'x'));
    auto& call = *message.add_tool_calls();
    call.set_id("call-" + std::to_string(i));
    call.set_name("read_file");
    call.set_status(i == step ? exv1::TOOL_CALL_RUNNING : exv1::TOOL_CALL_COMPLETED);
    *status.add_tool_calls() = call;
  }
  for (int t = 0; t <= step / 10; ++t) {
    auto& todo = (*status.mutable_todos())["todo-" + std::to_string(t)];
    todo.set_id("todo-" + std::to_string(t));
    todo.set_content("part " + std::to_string(t));
    todo.set_status(t < step / 10 ? exv1::TODO_COMPLETED : exv1::TODO_IN_PROGRESS);
  }
  return status;
}

}  // namespace

TEST_CASE("a runner's 50 growing pushes and its COMPLETED reach a subscriber, which ends OK on the final state") {
  TestServer server;
  Client api(server.channel());
  const auto chain = make_chain(api, "Replay Agent");
  const Execution created = must(api.create(make_execution_in_session(chain.session.metadata().id(), "do it")));
  const std::string& id = created.metadata().id();
  auto queries = server.execution_queries();
  WatchStream watcher(*queries, id);
  REQUIRE(watcher.wait_for_messages(1));

  // The runner resolves what to run the way Stigmer's does.
  const auto session = must(api.get<Session>(created.spec().session_id()));
  const auto instance = must(api.get<AgentInstance>(session.spec().agent_instance_id()));
  const auto agent = must(api.get<Agent>(instance.spec().agent_id()));
  CHECK(agent.metadata().id() == chain.agent.metadata().id());

  Execution last;
  for (int step = 0; step < kPushes; ++step) last = must(api.update_status(id, runner_status(created.status(), step)));
  ExecutionStatus final_push = runner_status(created.status(), kPushes - 1);
  final_push.set_phase(exv1::EXECUTION_COMPLETED);
  final_push.set_completed_at("2026-11-27T10:05:00Z");
  for (auto& message : *final_push.mutable_messages())
    for (auto& call : *message.mutable_tool_calls()) call.set_status(exv1::TOOL_CALL_COMPLETED);
  for (auto& call : *final_push.mutable_tool_calls()) call.set_status(exv1::TOOL_CALL_COMPLETED);
  const Execution completed = must(api.update_status(id, final_push));

  CHECK(watcher.wait_done().ok());
  const auto received = watcher.received();
  REQUIRE_FALSE(received.empty());
  CHECK(received.back().phase == exv1::EXECUTION_COMPLETED);
  CHECK(received.back().revision == revision_of(completed.metadata()));
  CHECK(revision_of(completed.metadata()) == revision_of(created.metadata()) + kPushes + 1);
  for (size_t i = 1; i < received.size(); ++i) CHECK(received[i].revision > received[i - 1].revision);

  // The state the subscriber ended on is the last push, merged as API.md says.
  const Execution stored = must(api.get<Execution>(id));
  CHECK(same(stored, completed));
  CHECK(stored.status().messages_size() == kPushes);
  for (int i = 0; i < kPushes; ++i) CHECK(same(stored.status().messages(i), final_push.messages(i)));
  CHECK(same(stored.status().tool_calls(kPushes - 1), final_push.tool_calls(kPushes - 1)));
  CHECK(stored.status().todos_size() == final_push.todos_size());
  CHECK(stored.status().completed_at() == "2026-11-27T10:05:00Z");
  CHECK(
      same(stored.status().audit().status_audit().created_at(), created.status().audit().status_audit().created_at()));
}
