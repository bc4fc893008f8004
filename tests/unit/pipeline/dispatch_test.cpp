#include "pipeline/dispatch.h"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "unit/pipeline/fixture.h"

using namespace aexd;
using namespace aexd::pipeline;
using namespace aexd::test;
using namespace std::chrono_literals;

namespace {

struct Fixture : StoreFixture {
  Agent owner = agent();

  std::string pending() {
    Execution out;
    const auto s = create_execution(tx, make_execution_for_agent(owner.metadata().id()), out);
    REQUIRE_MESSAGE(s.ok(), s.error_message());
    return out.metadata().id();
  }
  store::Lease assigned(const std::string& id, std::chrono::milliseconds length = 60s) {
    store::Lease lease;
    Execution out;
    const auto s = assign(tx, id, "runner-1", length, lease, out);
    REQUIRE_MESSAGE(s.ok(), s.error_message());
    return lease;
  }
  void push(const std::string& id, Phase phase) {
    exv1::AgentExecutionUpdateStatusInput input;
    input.set_execution_id(id);
    input.mutable_status()->set_phase(phase);
    Execution out;
    REQUIRE(update_status(tx, input, out).ok());
  }
  Execution stored(const std::string& id) {
    std::optional<Execution> e;
    REQUIRE(tx.find(id, e).ok());
    REQUIRE(e.has_value());
    return *e;
  }
  std::optional<store::Lease> lease_of(const std::string& id) {
    std::optional<store::Lease> lease;
    REQUIRE(tx.find_lease(id, lease).ok());
    return lease;
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "assign writes the lease of the next attempt, and refuses a held or started execution") {
  const std::string id = pending();
  const store::Lease first = assigned(id);
  CHECK(first.attempt == 1);
  CHECK(first.runner_id == "runner-1");
  CHECK(first.lease_ms == 60000);
  REQUIRE(lease_of(id).has_value());
  CHECK(lease_of(id)->lease_id == first.lease_id);

  store::Lease again;
  Execution out;
  CHECK(assign(tx, id, "runner-2", 60s, again, out).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(release(tx, id, first.lease_id).ok());
  CHECK(assigned(id).attempt == 2);

  const std::string started = pending();
  push(started, exv1::EXECUTION_IN_PROGRESS);
  CHECK(assign(tx, started, "runner-1", 60s, again, out).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(assign(tx, "aex-missing", "runner-1", 60s, again, out).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE_FIXTURE(Fixture, "a lease that is not due yet, or whose execution is paused, lapses into nothing") {
  const std::string id = pending();
  const store::Lease lease = assigned(id, 60s);
  LeaseOutcome outcome;
  REQUIRE(lapse(tx, id, lease.lease_id, 3, outcome).ok());
  CHECK(outcome == LeaseOutcome::unchanged);

  const std::string paused = pending();
  const store::Lease zero = assigned(paused, 0ms);
  push(paused, exv1::EXECUTION_IN_PROGRESS);
  Execution out;
  REQUIRE(transition(tx, paused, Lifecycle::pause, "", out).ok());
  REQUIRE(lapse(tx, paused, zero.lease_id, 3, outcome).ok());
  CHECK(outcome == LeaseOutcome::unchanged);
  CHECK(stored(paused).status().phase() == exv1::EXECUTION_PAUSED);

  // Another lease's deadline (an earlier assignment) no longer concerns it.
  REQUIRE(lapse(tx, id, "lse-an-older-one", 3, outcome).ok());
  CHECK(outcome == LeaseOutcome::unchanged);
}

TEST_CASE_FIXTURE(Fixture, "a lapsed unstarted lease unholds the execution, and the last attempt fails it") {
  const std::string id = pending();
  store::Lease lease = assigned(id, 0ms);
  LeaseOutcome outcome;
  REQUIRE(lapse(tx, id, lease.lease_id, 2, outcome).ok());
  CHECK(outcome == LeaseOutcome::unheld);
  REQUIRE(lease_of(id).has_value());
  CHECK_FALSE(lease_of(id)->held());
  CHECK(lease_of(id)->attempt == 1);
  CHECK(stored(id).status().phase() == exv1::EXECUTION_PENDING);

  lease = assigned(id, 0ms);
  CHECK(lease.attempt == 2);
  REQUIRE(lapse(tx, id, lease.lease_id, 2, outcome).ok());
  CHECK(outcome == LeaseOutcome::ended);
  const Execution failed = stored(id);
  CHECK(failed.status().phase() == exv1::EXECUTION_FAILED);
  CHECK(failed.status().error() == "no runner started it after 2 attempts");
  CHECK_FALSE(lease_of(id).has_value());  // the lease ended with its execution
}

TEST_CASE_FIXTURE(Fixture, "a lapsed started lease fails the execution 'runner lost' and settles its work") {
  const std::string id = pending();
  const store::Lease lease = assigned(id, 0ms);
  exv1::AgentExecutionUpdateStatusInput input;
  input.set_execution_id(id);
  input.mutable_status()->set_phase(exv1::EXECUTION_IN_PROGRESS);
  auto* call = input.mutable_status()->add_tool_calls();
  call->set_id("t1");
  call->set_status(exv1::TOOL_CALL_RUNNING);
  Execution out;
  REQUIRE(update_status(tx, input, out).ok());
  LeaseOutcome outcome;
  REQUIRE(lapse(tx, id, lease.lease_id, 3, outcome).ok());
  CHECK(outcome == LeaseOutcome::ended);
  const Execution lost = stored(id);
  CHECK(lost.status().phase() == exv1::EXECUTION_FAILED);
  CHECK(lost.status().error() == "runner lost: no status update for 0 s");
  CHECK(lost.status().tool_calls(0).status() == exv1::TOOL_CALL_FAILED);
  CHECK(changes.back().snapshot->phase == exv1::EXECUTION_FAILED);  // announced to subscribers

  // The same deadline firing again changes nothing: the lease is gone with the execution.
  REQUIRE(lapse(tx, id, lease.lease_id, 3, outcome).ok());
  CHECK(outcome == LeaseOutcome::unchanged);
}

TEST_CASE_FIXTURE(Fixture, "abandon unholds only what has not started") {
  const std::string unstarted = pending(), started = pending();
  const store::Lease a = assigned(unstarted), b = assigned(started);
  push(started, exv1::EXECUTION_IN_PROGRESS);
  LeaseOutcome outcome;
  REQUIRE(abandon(tx, unstarted, a.lease_id, 3, outcome).ok());
  CHECK(outcome == LeaseOutcome::unheld);
  REQUIRE(abandon(tx, started, b.lease_id, 3, outcome).ok());
  CHECK(outcome == LeaseOutcome::unchanged);
  CHECK(lease_of(started)->held());
}

TEST_CASE_FIXTURE(Fixture, "stall fails an IN_PROGRESS execution once its timeout passed, and nothing else") {
  const std::string id = pending();
  LeaseOutcome outcome;
  REQUIRE(stall(tx, id, 0ms, outcome).ok());
  CHECK(outcome == LeaseOutcome::unchanged);  // PENDING: not running, so not stalled
  push(id, exv1::EXECUTION_IN_PROGRESS);
  REQUIRE(stall(tx, id, 60s, outcome).ok());
  CHECK(outcome == LeaseOutcome::unchanged);
  REQUIRE(stall(tx, id, 0ms, outcome).ok());
  CHECK(outcome == LeaseOutcome::ended);
  CHECK(stored(id).status().error() == "stalled: no status update for 0 s");
}

TEST_CASE_FIXTURE(Fixture, "live_executions: started ones, held ones, and the oldest unheld PENDING up to the limit") {
  const std::string held = pending(), queued1 = pending(), queued2 = pending(), running = pending();
  const std::string done = pending();
  const store::Lease lease = assigned(held);
  push(running, exv1::EXECUTION_IN_PROGRESS);
  push(done, exv1::EXECUTION_COMPLETED);
  std::vector<store::LiveExecution> live;
  REQUIRE(tx.live_executions(1, live).ok());
  std::vector<std::string> ids;
  for (const auto& l : live) ids.push_back(l.id);
  CHECK(ids == std::vector<std::string>{running, held, queued1});
  CHECK(live[0].phase == exv1::EXECUTION_IN_PROGRESS);
  CHECK(live[0].agent_id == owner.metadata().id());
  CHECK(live[0].updated_ms == last_status_change_ms(stored(running)));
  REQUIRE(live[1].lease.has_value());
  CHECK(live[1].lease->lease_id == lease.lease_id);
  CHECK_FALSE(live[2].lease.has_value());
}

TEST_CASE_FIXTURE(Fixture, "deleting an execution deletes its lease") {
  const std::string id = pending();
  assigned(id);
  Execution out;
  REQUIRE(remove(tx, id, out).ok());
  CHECK_FALSE(lease_of(id).has_value());
  CHECK(rows("leases") == 0);
}
