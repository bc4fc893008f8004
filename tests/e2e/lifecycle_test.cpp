#include "e2e/watch_client.h"

using namespace aexd;
using namespace aexd::test;

namespace {

struct Fixture {
  TestServer server;
  std::unique_ptr<exv1::AgentExecutionCommandController::Stub> commands = server.executions();
  Execution execution;

  Fixture() {
    grpc::ClientContext c1, c2;
    Agent agent;
    REQUIRE(server.agents()->create(&c1, make_agent("Lifecycle Agent"), &agent).ok());
    REQUIRE(commands->create(&c2, make_execution_for_agent(agent.metadata().id()), &execution).ok());
  }
  const std::string& id() const { return execution.metadata().id(); }

  grpc::Status status(Phase phase, Execution* out = nullptr) {
    exv1::AgentExecutionUpdateStatusInput in;
    in.set_execution_id(id());
    in.mutable_status()->set_phase(phase);
    auto* call = in.mutable_status()->add_tool_calls();
    call->set_id("t1");
    call->set_status(exv1::TOOL_CALL_RUNNING);
    auto* sub = in.mutable_status()->add_sub_agent_executions();
    sub->set_id("s1");
    sub->set_status(exv1::SUB_AGENT_IN_PROGRESS);
    grpc::ClientContext ctx;
    Execution ignored;
    return commands->updateStatus(&ctx, in, out ? out : &ignored);
  }
  grpc::Status cancel(Execution& out, const std::string& reason = "user asked") {
    exv1::CancelAgentExecutionInput in;
    in.set_id(id());
    in.set_reason(reason);
    grpc::ClientContext ctx;
    return commands->cancel(&ctx, in, &out);
  }
  grpc::Status terminate(Execution& out) {
    exv1::TerminateAgentExecutionInput in;
    in.set_id(id());
    in.set_reason("operator");
    grpc::ClientContext ctx;
    return commands->terminate(&ctx, in, &out);
  }
  grpc::Status pause(Execution& out) {
    exv1::PauseAgentExecutionInput in;
    in.set_id(id());
    grpc::ClientContext ctx;
    return commands->pause(&ctx, in, &out);
  }
  grpc::Status resume(Execution& out) {
    exv1::ResumeAgentExecutionInput in;
    in.set_id(id());
    grpc::ClientContext ctx;
    return commands->resume(&ctx, in, &out);
  }
};

}  // namespace

TEST_CASE("cancel ends a running execution with the reason, interrupts its work, and is idempotent") {
  Fixture f;
  REQUIRE(f.status(exv1::EXECUTION_IN_PROGRESS).ok());
  Execution out;
  REQUIRE(f.cancel(out).ok());
  CHECK(out.status().phase() == exv1::EXECUTION_CANCELLED);
  CHECK(out.status().error() == "user asked");
  CHECK(!out.status().completed_at().empty());
  CHECK(out.status().tool_calls(0).status() == exv1::TOOL_CALL_INTERRUPTED);
  CHECK(out.status().sub_agent_executions(0).status() == exv1::SUB_AGENT_CANCELLED);
  Execution again;
  REQUIRE(f.cancel(again, "second time").ok());
  CHECK(again.metadata().version().id() == out.metadata().version().id());
  CHECK(again.status().error() == "user asked");
}

TEST_CASE("pause and resume move between PAUSED and IN_PROGRESS, and a runner watching sees both") {
  Fixture f;
  WatchStream watch(*f.server.execution_queries(), f.id());
  REQUIRE(watch.wait_for_messages(1));
  Execution out;
  REQUIRE(f.pause(out).ok());
  CHECK(out.status().phase() == exv1::EXECUTION_PAUSED);
  REQUIRE(watch.wait_for_messages(2));
  REQUIRE(f.pause(out).ok());  // idempotent
  REQUIRE(f.resume(out).ok());
  CHECK(out.status().phase() == exv1::EXECUTION_IN_PROGRESS);
  REQUIRE(watch.wait_for_messages(3));
  CHECK(watch.received()[1].phase == exv1::EXECUTION_PAUSED);
  CHECK(watch.received()[2].phase == exv1::EXECUTION_IN_PROGRESS);
  REQUIRE(f.terminate(out).ok());
  CHECK(out.status().phase() == exv1::EXECUTION_TERMINATED);
  CHECK(watch.wait_done().ok());
}

TEST_CASE("lifecycle calls from a phase that does not allow them are FAILED_PRECONDITION") {
  Fixture f;
  Execution out;
  SUBCASE("resume of a pending execution") { CHECK(f.resume(out).error_code() == grpc::StatusCode::FAILED_PRECONDITION); }
  SUBCASE("pause, cancel or terminate of a finished execution") {
    REQUIRE(f.status(exv1::EXECUTION_COMPLETED).ok());
    CHECK(f.pause(out).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(f.cancel(out).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(f.terminate(out).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
  SUBCASE("pause of an execution waiting for approval") {
    REQUIRE(f.status(exv1::EXECUTION_WAITING_FOR_APPROVAL).ok());
    CHECK(f.pause(out).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    REQUIRE(f.cancel(out).ok());
  }
}

TEST_CASE("entering a terminal phase through updateStatus also settles work in flight") {
  Fixture f;
  Execution out;
  REQUIRE(f.status(exv1::EXECUTION_FAILED, &out).ok());
  CHECK(out.status().tool_calls(0).status() == exv1::TOOL_CALL_INTERRUPTED);
  CHECK(out.status().sub_agent_executions(0).status() == exv1::SUB_AGENT_CANCELLED);
}
