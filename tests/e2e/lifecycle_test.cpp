#include <google/protobuf/util/time_util.h>

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
    auto* message = status.add_messages();
    message->set_type(exv1::MESSAGE_AI);
    auto* nested = message->add_tool_calls();
    nested->set_id("t1");
    nested->set_status(exv1::TOOL_CALL_WAITING_APPROVAL);
    return api.update_status(id(), status);
  }
};

/// Every piece of work `out` had in flight ended as FAILED by the phase it is in, at its completed_at
/// (upstream values only: never TOOL_CALL_INTERRUPTED or SUB_AGENT_CANCELLED).
void check_settled(const Execution& out, const std::string& completed_at) {
  const std::string error = "interrupted: execution " + exv1::ExecutionPhase_Name(out.status().phase());
  for (const auto* call : {&out.status().tool_calls(0), &out.status().messages(0).tool_calls(0)}) {
    CHECK(call->status() == exv1::TOOL_CALL_FAILED);
    CHECK(call->error() == error);
    CHECK(call->completed_at() == completed_at);
  }
  const auto& sub = out.status().sub_agent_executions(0);
  CHECK(sub.status() == exv1::SUB_AGENT_FAILED);
  CHECK(sub.error() == error);
  CHECK(sub.completed_at() == completed_at);
}

/// The clock of the write that produced `out`, as the server writes timestamps into a status.
std::string write_clock(const Execution& out) {
  return google::protobuf::util::TimeUtil::ToString(out.status().audit().status_audit().updated_at());
}

}  // namespace

TEST_CASE("cancel ends a running execution with the reason, fails its work in flight, and is idempotent") {
  Fixture f;
  must(f.status(exv1::EXECUTION_IN_PROGRESS));
  const Execution out = must(f.api.cancel(f.id(), "user asked"));
  CHECK(out.status().phase() == exv1::EXECUTION_CANCELLED);
  CHECK(out.status().error() == "user asked");
  CHECK(out.status().completed_at() == write_clock(out));
  check_settled(out, out.status().completed_at());
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

TEST_CASE("terminate ends a paused execution and fails its work in flight") {
  Fixture f;
  must(f.status(exv1::EXECUTION_IN_PROGRESS));
  must(f.api.pause(f.id()));
  const Execution out = must(f.api.terminate(f.id(), "operator"));
  CHECK(out.status().phase() == exv1::EXECUTION_TERMINATED);
  CHECK(out.status().completed_at() == write_clock(out));
  check_settled(out, out.status().completed_at());
}

TEST_CASE("a runner's push of a terminal phase fails the work in flight, nested tool calls included") {
  Fixture f;
  must(f.status(exv1::EXECUTION_IN_PROGRESS));
  Phase terminal = exv1::EXECUTION_FAILED;
  SUBCASE("failed") { terminal = exv1::EXECUTION_FAILED; }
  SUBCASE("completed") { terminal = exv1::EXECUTION_COMPLETED; }
  CAPTURE(exv1::ExecutionPhase_Name(terminal));
  const Execution out = must(f.status(terminal));
  CHECK(out.status().phase() == terminal);
  check_settled(out, write_clock(out));
  CHECK(same(must(f.api.get<Execution>(f.id())), out));
}

TEST_CASE("a paused execution stays paused through 5 runner pushes and resume releases it") {
  Fixture f;
  must(f.status(exv1::EXECUTION_IN_PROGRESS));
  must(f.api.pause(f.id()));
  for (int i = 0; i < 5; ++i) {
    CAPTURE(i);
    ExecutionStatus push;
    push.set_phase(i % 2 ? exv1::EXECUTION_WAITING_FOR_APPROVAL : exv1::EXECUTION_IN_PROGRESS);
    push.add_messages()->set_content("step " + std::to_string(i));
    const Execution out = must(f.api.update_status(f.id(), push));
    CHECK(out.status().phase() == exv1::EXECUTION_PAUSED);
    REQUIRE(out.status().messages_size() == 1);
    CHECK(out.status().messages(0).content() == "step " + std::to_string(i));
    CHECK(same(must(f.api.get<Execution>(f.id())), out));
  }
  CHECK(must(f.api.resume(f.id())).status().phase() == exv1::EXECUTION_IN_PROGRESS);
  ExecutionStatus push;
  push.set_phase(exv1::EXECUTION_WAITING_FOR_APPROVAL);
  CHECK(must(f.api.update_status(f.id(), push)).status().phase() == exv1::EXECUTION_WAITING_FOR_APPROVAL);
}

TEST_CASE("a runner's terminal push ends a paused execution") {
  Fixture f;
  must(f.status(exv1::EXECUTION_IN_PROGRESS));
  must(f.api.pause(f.id()));
  const Execution out = must(f.status(exv1::EXECUTION_COMPLETED));
  CHECK(out.status().phase() == exv1::EXECUTION_COMPLETED);
  check_settled(out, write_clock(out));
}
