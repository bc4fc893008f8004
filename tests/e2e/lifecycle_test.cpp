#include "support/client.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;

namespace {

struct Fixture {
  TestServer server;
  Client api{server.channel()};
  Execution execution =
      must(api.create(make_execution_for_agent(must(api.create(make_agent("Lifecycle Agent"))).metadata().id())));

  const std::string& id() const { return execution.metadata().id(); }

  /// An update to `phase` with a tool call and a sub-agent execution still in flight.
  Result<Execution> status(Phase phase) const {
    ExecutionStatus status;
    status.set_phase(phase);
    auto* call = status.add_tool_calls();
    call->set_id("t1");
    call->set_status(exv1::TOOL_CALL_RUNNING);
    auto* sub = status.add_sub_agent_executions();
    sub->set_id("s1");
    sub->set_status(exv1::SUB_AGENT_IN_PROGRESS);
    return api.update_status(id(), status);
  }
};

}  // namespace

TEST_CASE("cancel ends a running execution with the reason, interrupts its work, and is idempotent") {
  Fixture f;
  must(f.status(exv1::EXECUTION_IN_PROGRESS));
  const Execution out = must(f.api.cancel(f.id(), "user asked"));
  CHECK(out.status().phase() == exv1::EXECUTION_CANCELLED);
  CHECK(out.status().error() == "user asked");
  CHECK(!out.status().completed_at().empty());
  CHECK(out.status().tool_calls(0).status() == exv1::TOOL_CALL_INTERRUPTED);
  CHECK(out.status().sub_agent_executions(0).status() == exv1::SUB_AGENT_CANCELLED);
  const Execution again = must(f.api.cancel(f.id(), "second time"));
  CHECK(again.metadata().version().id() == out.metadata().version().id());
  CHECK(again.status().error() == "user asked");
}

TEST_CASE("pause and resume move between PAUSED and IN_PROGRESS, and a runner watching sees both") {
  Fixture f;
  WatchStream watch(*f.server.execution_queries(), f.id());
  REQUIRE(watch.wait_for_messages(1));
  Execution out = must(f.api.pause(f.id()));
  CHECK(out.status().phase() == exv1::EXECUTION_PAUSED);
  REQUIRE(watch.wait_for_messages(2));
  must(f.api.pause(f.id()));  // idempotent
  out = must(f.api.resume(f.id()));
  CHECK(out.status().phase() == exv1::EXECUTION_IN_PROGRESS);
  REQUIRE(watch.wait_for_messages(3));
  CHECK(watch.received()[1].phase == exv1::EXECUTION_PAUSED);
  CHECK(watch.received()[2].phase == exv1::EXECUTION_IN_PROGRESS);
  out = must(f.api.terminate(f.id(), "operator"));
  CHECK(out.status().phase() == exv1::EXECUTION_TERMINATED);
  CHECK(watch.wait_done().ok());
}

TEST_CASE("lifecycle calls from a phase that does not allow them are FAILED_PRECONDITION") {
  Fixture f;
  const auto refused = [](const Result<Execution>& result) {
    return result.status().error_code() == grpc::StatusCode::FAILED_PRECONDITION;
  };
  SUBCASE("resume of a pending execution") { CHECK(refused(f.api.resume(f.id()))); }
  SUBCASE("pause, cancel or terminate of a finished execution") {
    must(f.status(exv1::EXECUTION_COMPLETED));
    CHECK(refused(f.api.pause(f.id())));
    CHECK(refused(f.api.cancel(f.id(), "user asked")));
    CHECK(refused(f.api.terminate(f.id(), "operator")));
  }
  SUBCASE("pause of an execution waiting for approval") {
    must(f.status(exv1::EXECUTION_WAITING_FOR_APPROVAL));
    CHECK(refused(f.api.pause(f.id())));
    must(f.api.cancel(f.id(), "user asked"));
  }
}

TEST_CASE("entering a terminal phase through updateStatus also settles work in flight") {
  Fixture f;
  const Execution out = must(f.status(exv1::EXECUTION_FAILED));
  CHECK(out.status().tool_calls(0).status() == exv1::TOOL_CALL_INTERRUPTED);
  CHECK(out.status().sub_agent_executions(0).status() == exv1::SUB_AGENT_CANCELLED);
}
