// Dispatch end to end (API.md, "Dispatch"): runners claim executions over real claim streams, with
// short leases and stall timeouts so that deadlines come due within the test.
#include <google/protobuf/util/time_util.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "support/client.h"
#include "support/runner_stream.h"
#include "support/thread_failures.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;
using google::protobuf::util::TimeUtil;

namespace {

struct Fixture {
  explicit Fixture(Options options = {}) : server(std::move(options)) {}

  TestServer server;
  Client api{server.channel()};
  std::string agent = must(api.create(make_agent("Dispatch Agent"))).metadata().id();

  std::string create(const std::string& agent_id = "") {
    return must(api.create(make_execution_for_agent(agent_id.empty() ? agent : agent_id))).metadata().id();
  }
  Execution push(const std::string& id, Phase phase) {
    ExecutionStatus status;
    status.set_phase(phase);
    return must(api.update_status(id, status));
  }
  /// Waits (through subscribe) until the execution ends, and returns its final state.
  Execution final_state(const std::string& id) {
    auto queries = server.execution_queries();
    WatchStream watch(*queries, id);
    REQUIRE(watch.wait_done(std::chrono::seconds(30)).ok());
    return must(api.get<Execution>(id));
  }
  dispatch::Dispatcher::Counts counts() { return server.server().dispatch_counts(); }
};

Options with(std::chrono::milliseconds lease, int max_attempts = 3,
             std::chrono::milliseconds stall = std::chrono::minutes(10)) {
  Options options;
  options.lease = lease;
  options.max_attempts = max_attempts;
  options.stall_timeout = stall;
  return options;
}

}  // namespace

TEST_CASE("dispatch: one runner gets one execution with a lease, first attempt") {
  Fixture f;
  RunnerStream runner(f.server, "runner-1");
  REQUIRE(runner.wait_registered());
  const auto before = TimeUtil::GetCurrentTime();
  const std::string id = f.create();
  const auto a = runner.assignment();
  CHECK(a.execution().metadata().id() == id);
  CHECK(a.execution().status().phase() == exv1::EXECUTION_PENDING);
  CHECK(a.execution().spec().message() == "hello");
  CHECK(a.attempt() == 1);
  CHECK(a.lease_id().rfind("lse-", 0) == 0);
  CHECK(a.lease_expires_at() >= before + TimeUtil::SecondsToDuration(60));
  CHECK(f.counts().held == 1);
  CHECK(f.counts().queued == 0);
}

TEST_CASE("dispatch: an execution created before any runner is assigned when one claims") {
  Fixture f;
  const std::string id = f.create();
  CHECK(f.counts().queued == 1);
  RunnerStream runner(f.server, "late-runner");
  CHECK(runner.assignment().execution().metadata().id() == id);
}

TEST_CASE("dispatch: a runner never holds more than its capacity, and gets the oldest next") {
  Fixture f;
  RunnerStream runner(f.server, "runner-2", {.capacity = 2});
  REQUIRE(runner.wait_registered());
  const std::string first = f.create(), second = f.create(), third = f.create(), fourth = f.create();
  CHECK(runner.assignment().execution().metadata().id() == first);
  CHECK(runner.assignment().execution().metadata().id() == second);
  // Every create has committed, so the dispatcher has decided about all four.
  CHECK(f.counts().held == 2);
  CHECK(f.counts().queued == 2);
  CHECK(runner.waiting() == 0);
  f.push(second, exv1::EXECUTION_IN_PROGRESS);
  f.push(second, exv1::EXECUTION_COMPLETED);
  CHECK(runner.assignment().execution().metadata().id() == third);
  CHECK(f.counts().queued == 1);
}

TEST_CASE("dispatch: with the in-memory queue full, runners still get every execution, oldest first, from the database") {
  Options options;
  options.dispatch_window = 3;
  Fixture f(options);
  const std::string busy_agent = must(f.api.create(make_agent("Busy Agent"))).metadata().id();
  std::vector<std::string> backlog;  // executions of an agent no runner claims yet: 3 queued, 2 in the database
  for (int i = 0; i < 5; ++i) backlog.push_back(f.create());
  CHECK(f.counts().queued == 3);

  RunnerStream filtered(f.server, "runner-busy-agent", {.capacity = 1, .agent_ids = {busy_agent}});
  REQUIRE(filtered.wait_registered());
  const std::string first = f.create(busy_agent), second = f.create(busy_agent);
  CHECK(filtered.assignment().execution().metadata().id() == first);  // offered at once, queue full or not
  CHECK(f.counts().queued == 3);  // `second` waits in the database
  f.push(first, exv1::EXECUTION_COMPLETED);
  CHECK(filtered.assignment().execution().metadata().id() == second);  // read back when the runner had room

  RunnerStream any(f.server, "runner-any-agent", {.capacity = 1});
  for (const auto& id : backlog) {
    CHECK(any.assignment().execution().metadata().id() == id);
    f.push(id, exv1::EXECUTION_COMPLETED);
  }
  CHECK(f.counts().queued == 0);
}

TEST_CASE("dispatch: a runner with an agent filter gets only those agents' executions") {
  Fixture f;
  const std::string other_agent = must(f.api.create(make_agent("Other Agent"))).metadata().id();
  RunnerStream only_other(f.server, "runner-filtered", {.capacity = 5, .agent_ids = {other_agent}});
  REQUIRE(only_other.wait_registered());
  const std::string mine = f.create();
  const std::string theirs = f.create(other_agent);
  CHECK(only_other.assignment().execution().metadata().id() == theirs);
  CHECK(f.counts().queued == 1);  // `mine`: no runner takes its agent
  RunnerStream any(f.server, "runner-any");
  CHECK(any.assignment().execution().metadata().id() == mine);
}

TEST_CASE("dispatch: 8 runners and 500 creates: every execution is assigned exactly once") {
  Fixture f;
  constexpr int kRunners = 8, kExecutions = 500;
  std::vector<std::unique_ptr<RunnerStream>> runners;
  for (int i = 0; i < kRunners; ++i) {
    runners.push_back(std::make_unique<RunnerStream>(f.server, "runner-" + std::to_string(i), ClaimOptions{.capacity = 4}));
    REQUIRE(runners.back()->wait_registered());
  }
  std::mutex mutex;
  std::map<std::string, int> assigned;  // execution id → times assigned
  std::vector<std::thread> workers;
  ThreadFailures failures;
  for (auto& runner : runners) {
    workers.emplace_back([&, r = runner.get()] {
      // Each runner completes what it gets, which frees its capacity for the next one.
      while (true) {
        auto event = r->next(std::chrono::seconds(3));
        if (!event) return;
        if (!event->has_assignment()) return failures.add("unexpected event " + event->DebugString());
        const std::string id = event->assignment().execution().metadata().id();
        {
          std::lock_guard lock(mutex);
          ++assigned[id];
        }
        ExecutionStatus done;
        done.set_phase(exv1::EXECUTION_COMPLETED);
        if (!failures.ok(f.api.update_status(id, done).status(), "complete " + id)) return;
      }
    });
  }
  std::vector<std::thread> creators;
  for (int c = 0; c < 4; ++c)
    creators.emplace_back([&] {
      for (int i = 0; i < kExecutions / 4; ++i)
        failures.ok(f.api.create(make_execution_for_agent(f.agent)).status(), "create");
    });
  for (auto& t : creators) t.join();
  for (auto& t : workers) t.join();
  CHECK_MESSAGE(failures.empty(), failures.report());
  CHECK(assigned.size() == kExecutions);
  int twice = 0;
  for (const auto& [id, n] : assigned) twice += n > 1;
  CHECK(twice == 0);
  CHECK(f.counts().held == 0);
  CHECK(f.counts().queued == 0);
}

TEST_CASE("dispatch: a runner's stream breaks: its unstarted executions go to another runner at once") {
  Fixture f;
  auto lost = std::make_unique<RunnerStream>(f.server, "runner-lost", ClaimOptions{.capacity = 2});
  REQUIRE(lost->wait_registered());
  const std::string started = f.create(), unstarted = f.create();
  CHECK(lost->assignment().execution().metadata().id() == started);
  CHECK(lost->assignment().execution().metadata().id() == unstarted);
  f.push(started, exv1::EXECUTION_IN_PROGRESS);
  RunnerStream other(f.server, "runner-other", {.capacity = 2});
  REQUIRE(other.wait_registered());
  lost.reset();  // cancels the stream
  const auto a = other.assignment();
  CHECK(a.execution().metadata().id() == unstarted);
  CHECK(a.attempt() == 2);
  // The started one keeps its lease (its runner may come back) until the lease lapses.
  CHECK(!other.next(std::chrono::milliseconds(300)));
  CHECK(f.counts().held == 2);
}

TEST_CASE("dispatch: a started execution whose lease lapses ends FAILED 'runner lost', settled") {
  Fixture f(with(std::chrono::seconds(60)));
  RunnerStream runner(f.server, "runner-silent", {.lease_seconds = 1});
  const std::string id = f.create();
  const auto a = runner.assignment();
  CHECK(a.lease_expires_at() < TimeUtil::GetCurrentTime() + TimeUtil::SecondsToDuration(2));
  ExecutionStatus status;
  status.set_phase(exv1::EXECUTION_IN_PROGRESS);
  auto* call = status.add_tool_calls();
  call->set_id("t1");
  call->set_status(exv1::TOOL_CALL_RUNNING);
  must(f.api.update_status(id, status));
  const Execution ended = f.final_state(id);
  CHECK(ended.status().phase() == exv1::EXECUTION_FAILED);
  CHECK(ended.status().error() == "runner lost: no status update for 1 s");
  CHECK(!ended.status().completed_at().empty());
  CHECK(ended.status().tool_calls(0).status() == exv1::TOOL_CALL_FAILED);
  CHECK(ended.status().tool_calls(0).error() == "interrupted: execution EXECUTION_FAILED");
  CHECK(f.counts().held == 0);
}

TEST_CASE("dispatch: pushes renew the lease; an execution that keeps pushing is never lost") {
  Fixture f;
  RunnerStream runner(f.server, "runner-busy", {.lease_seconds = 2});
  const std::string id = f.create();
  runner.assignment();
  // A push every 100 ms for 1.5 lease lengths: each renews the lease long before it lapses.
  for (int i = 0; i < 30; ++i) {
    CHECK(f.push(id, exv1::EXECUTION_IN_PROGRESS).status().phase() == exv1::EXECUTION_IN_PROGRESS);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the runner's pace, not synchronisation
  }
  CHECK(f.push(id, exv1::EXECUTION_COMPLETED).status().phase() == exv1::EXECUTION_COMPLETED);
}

TEST_CASE("dispatch: an execution no runner starts is offered again, then FAILED after max attempts") {
  Fixture f(with(std::chrono::seconds(60), 2));
  RunnerStream runner(f.server, "runner-never-starts", {.lease_seconds = 1});
  const std::string id = f.create();
  CHECK(runner.assignment().attempt() == 1);
  const auto again = runner.assignment(std::chrono::seconds(10));  // the lease lapsed; no other runner
  CHECK(again.execution().metadata().id() == id);
  CHECK(again.attempt() == 2);
  const Execution ended = f.final_state(id);
  CHECK(ended.status().phase() == exv1::EXECUTION_FAILED);
  CHECK(ended.status().error() == "no runner started it after 2 attempts");
}

TEST_CASE("dispatch: an IN_PROGRESS execution with no push for the stall timeout ends FAILED, seen by subscribers") {
  Fixture f(with(std::chrono::seconds(60), 3, std::chrono::seconds(1)));
  const std::string id = f.create();  // no runner: stall detection covers every execution
  f.push(id, exv1::EXECUTION_IN_PROGRESS);
  const Execution ended = f.final_state(id);
  CHECK(ended.status().phase() == exv1::EXECUTION_FAILED);
  CHECK(ended.status().error() == "stalled: no status update for 1 s");
}

TEST_CASE("dispatch: pause stops the stall and lease clocks, resume starts them afresh") {
  Fixture f(with(std::chrono::seconds(60), 3, std::chrono::seconds(1)));
  RunnerStream runner(f.server, "runner-paused", {.lease_seconds = 1});
  const std::string id = f.create();
  runner.assignment();
  f.push(id, exv1::EXECUTION_IN_PROGRESS);
  must(f.api.pause(id));
  CHECK(runner.control().phase() == exv1::EXECUTION_PAUSED);
  auto queries = f.server.execution_queries();
  WatchStream watch(*queries, id);
  REQUIRE(watch.wait_for_messages(1));
  // Three lease and stall lengths pass with nothing stored: the clocks are stopped.
  CHECK_FALSE(watch.wait_for_messages(2, std::chrono::seconds(3)));
  CHECK(must(f.api.get<Execution>(id)).status().phase() == exv1::EXECUTION_PAUSED);
  must(f.api.resume(id));
  CHECK(runner.control().phase() == exv1::EXECUTION_IN_PROGRESS);
  REQUIRE(watch.wait_done().ok());
  const Execution ended = must(f.api.get<Execution>(id));
  CHECK(ended.status().phase() == exv1::EXECUTION_FAILED);
}

TEST_CASE("dispatch: the runner holding an execution gets a Control event for each lifecycle call and delete") {
  Fixture f;
  RunnerStream runner(f.server, "runner-controlled", {.capacity = 3});
  const std::string a = f.create(), b = f.create(), c = f.create();
  for (int i = 0; i < 3; ++i) runner.assignment();
  f.push(a, exv1::EXECUTION_IN_PROGRESS);

  must(f.api.pause(a));
  auto control = runner.control();
  CHECK(control.execution_id() == a);
  CHECK(control.phase() == exv1::EXECUTION_PAUSED);
  must(f.api.resume(a));
  CHECK(runner.control().phase() == exv1::EXECUTION_IN_PROGRESS);
  must(f.api.cancel(a, "user pressed stop"));
  control = runner.control();
  CHECK(control.phase() == exv1::EXECUTION_CANCELLED);
  CHECK(control.reason() == "user pressed stop");

  must(f.api.terminate(b, "budget exceeded"));
  control = runner.control();
  CHECK(control.execution_id() == b);
  CHECK(control.phase() == exv1::EXECUTION_TERMINATED);
  CHECK(control.reason() == "budget exceeded");

  must(f.api.remove<Execution>(c));
  control = runner.control();
  CHECK(control.execution_id() == c);
  CHECK(control.phase() == exv1::EXECUTION_PHASE_UNSPECIFIED);
  CHECK(control.reason() == "deleted");
  CHECK(f.counts().held == 0);
}

TEST_CASE("dispatch: the runner's own pushes, up to its final one, bring no Control event") {
  Fixture f;
  RunnerStream runner(f.server, "runner-quiet");
  const std::string id = f.create(), next = f.create();
  runner.assignment();
  f.push(id, exv1::EXECUTION_IN_PROGRESS);
  f.push(id, exv1::EXECUTION_COMPLETED);
  // What comes next is the next execution, not an event about the one that completed.
  CHECK(runner.assignment().execution().metadata().id() == next);
}

TEST_CASE("dispatch: release hands an unstarted execution to another runner at once") {
  Fixture f;
  RunnerStream first(f.server, "runner-leaving");
  const std::string id = f.create();
  const auto a = first.assignment();
  RunnerStream second(f.server, "runner-staying");
  REQUIRE(second.wait_registered());
  REQUIRE(release(f.server, id, a.lease_id()).ok());
  const auto b = second.assignment();
  CHECK(b.execution().metadata().id() == id);
  CHECK(b.attempt() == 2);
  CHECK(b.lease_id() != a.lease_id());
}

TEST_CASE("dispatch: release refuses what it cannot hand back, naming why") {
  Fixture f;
  RunnerStream runner(f.server, "runner-r", {.capacity = 2});
  const std::string id = f.create();
  const auto a = runner.assignment();
  CHECK(release(f.server, "", a.lease_id()).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(release(f.server, id, "").error_message().find("lease_id") != std::string::npos);
  CHECK(release(f.server, "aex-01j00000000000000000000000", a.lease_id()).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(release(f.server, id, "lse-not-mine").error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  f.push(id, exv1::EXECUTION_IN_PROGRESS);
  const auto started = release(f.server, id, a.lease_id());
  CHECK(started.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(started.error_message().find("has started") != std::string::npos);
  CHECK(f.counts().held == 1);
}

TEST_CASE("dispatch: a claim without runner_id or with a capacity out of range is INVALID_ARGUMENT naming the field") {
  Fixture f;
  RunnerStream anonymous(f.server, "");
  auto s = anonymous.wait_done();
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().rfind("runner_id:", 0) == 0);
  RunnerStream greedy(f.server, "runner-greedy", {.capacity = 1001});
  s = greedy.wait_done();
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().rfind("capacity:", 0) == 0);
}

TEST_CASE("dispatch: a second claim of the same runner takes over its executions and ends the first stream") {
  Fixture f;
  RunnerStream first(f.server, "runner-twice");
  const std::string id = f.create();
  first.assignment();
  f.push(id, exv1::EXECUTION_IN_PROGRESS);
  RunnerStream second(f.server, "runner-twice");
  CHECK(first.wait_done().error_code() == grpc::StatusCode::ABORTED);
  must(f.api.cancel(id, "stop"));
  CHECK(second.control().execution_id() == id);  // the Control event reaches the newer stream
}

TEST_CASE("dispatch: a runner that comes back learns what was paused while it was away") {
  Fixture f;
  const std::string id = f.create();
  {
    RunnerStream runner(f.server, "runner-away");
    runner.assignment();
    f.push(id, exv1::EXECUTION_IN_PROGRESS);
  }  // its stream ends; the started execution stays held
  must(f.api.pause(id));
  RunnerStream back(f.server, "runner-away");
  const auto control = back.control();
  CHECK(control.execution_id() == id);
  CHECK(control.phase() == exv1::EXECUTION_PAUSED);
}

TEST_CASE("dispatch: a restart keeps leases: nothing is assigned twice, and deadlines fire once") {
  Fixture f(with(std::chrono::seconds(60), 3));
  std::string started, unstarted, lease_of_unstarted;
  {
    RunnerStream runner(f.server, "runner-before-restart", {.capacity = 2, .lease_seconds = 2});
    started = f.create();
    unstarted = f.create();
    runner.assignment();
    lease_of_unstarted = runner.assignment().lease_id();
    f.push(started, exv1::EXECUTION_IN_PROGRESS);
    f.server.restart();  // the stream ends with the old server
    CHECK(runner.wait_done().error_code() == grpc::StatusCode::UNAVAILABLE);
  }
  Client api(f.server.channel());
  CHECK(f.counts().held == 2);  // rebuilt from the database
  CHECK(f.counts().queued == 0);
  RunnerStream other(f.server, "runner-after-restart", {.capacity = 2});
  REQUIRE(other.wait_registered());
  CHECK(!other.next(std::chrono::milliseconds(300)));  // both are still held by the first runner
  // Its lease lapses: the started execution ends FAILED once, the unstarted one moves on.
  const auto moved = other.assignment(std::chrono::seconds(10));
  CHECK(moved.execution().metadata().id() == unstarted);
  CHECK(moved.attempt() == 2);
  auto queries = f.server.execution_queries();
  WatchStream watch(*queries, started);
  REQUIRE(watch.wait_done().ok());
  const Execution ended = must(api.get<Execution>(started));
  CHECK(ended.status().phase() == exv1::EXECUTION_FAILED);
  CHECK(ended.status().error() == "runner lost: no status update for 2 s");
  // One write ended it: the revision of its IN_PROGRESS push plus one.
  CHECK(revision_of(ended.metadata()) == 3);
  CHECK(release(f.server, unstarted, lease_of_unstarted).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
}
