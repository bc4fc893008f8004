#include "cli/watch_view.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using aexd::cli::WatchView;
namespace exv1 = aexd::cli::exv1;
namespace exit_code = aexd::cli::exit_code;
using Lines = std::vector<std::string>;

namespace {

/// Snapshots as subscribe sends them: the whole execution each time, built up step by step.
struct Run {
  exv1::AgentExecution e;
  Run() {
    e.mutable_metadata()->set_id("aex-1");
    e.mutable_spec()->set_agent_id("agt-1");
    e.mutable_status()->set_phase(exv1::EXECUTION_PENDING);
  }
  Run& phase(exv1::ExecutionPhase p) {
    e.mutable_status()->set_phase(p);
    return *this;
  }
  Run& message(const std::string& content, exv1::MessageType type = exv1::MESSAGE_AI) {
    auto* m = e.mutable_status()->add_messages();
    m->set_type(type);
    m->set_content(content);
    m->set_timestamp("2024-05-01T12:00:0" + std::to_string(e.status().messages_size()) + "Z");
    return *this;
  }
  exv1::ToolCall& tool(const std::string& id, const std::string& name, exv1::ToolCallStatus status) {
    for (auto& call : *e.mutable_status()->mutable_tool_calls()) {
      if (call.id() == id) {
        call.set_status(status);
        return call;
      }
    }
    auto* call = e.mutable_status()->add_tool_calls();
    call->set_id(id);
    call->set_name(name);
    call->set_status(status);
    return *call;
  }
};

}  // namespace

TEST_CASE("watch view: the first snapshot prints a header, its messages and the phase") {
  WatchView view(false);
  Run run;
  run.message("do the thing", exv1::MESSAGE_HUMAN);
  CHECK(view.update(run.e) == Lines{"execution aex-1 (agent agt-1)", "human: do the thing", "phase PENDING"});
  CHECK(view.started());
}

TEST_CASE("watch view: later snapshots print only the messages, tool calls and phase not printed before") {
  WatchView view(false);
  Run run;
  view.update(run.e);

  run.phase(exv1::EXECUTION_IN_PROGRESS).message("thinking about it");
  CHECK(view.update(run.e) == Lines{"ai: thinking about it", "phase IN_PROGRESS"});

  // The same snapshot again (a resend) prints nothing.
  CHECK(view.update(run.e).empty());

  run.message("first line\nsecond line");
  run.tool("t1", "search", exv1::TOOL_CALL_RUNNING);
  CHECK(view.update(run.e) == Lines{"ai: first line", "  second line", "  tool search: RUNNING"});

  // A tool call is printed again only when its status changes.
  run.message("found it");
  CHECK(view.update(run.e) == Lines{"ai: found it"});
  run.tool("t1", "search", exv1::TOOL_CALL_FAILED).set_error("timeout");
  CHECK(view.update(run.e) == Lines{"  tool search: FAILED (timeout)"});
}

TEST_CASE("watch view: a runner that replaces the message list gets the changed messages printed") {
  WatchView view(false);
  Run run;
  run.message("one").message("two");
  view.update(run.e);
  run.e.mutable_status()->mutable_messages(1)->set_content("two, revised");
  run.message("three");
  CHECK(view.update(run.e) == Lines{"ai: two, revised", "ai: three"});
}

TEST_CASE("watch view: tool calls inside messages are printed after their message") {
  WatchView view(false);
  Run run;
  run.message("let me look");
  auto* call = run.e.mutable_status()->mutable_messages(0)->add_tool_calls();
  call->set_id("c1");
  call->set_name("grep");
  call->set_status(exv1::TOOL_CALL_COMPLETED);
  CHECK(view.update(run.e) ==
        Lines{"execution aex-1 (agent agt-1)", "ai: let me look", "  tool grep: COMPLETED", "phase PENDING"});
}

TEST_CASE("watch view: the final line and exit status follow the terminal phase") {
  struct Case {
    exv1::ExecutionPhase phase;
    std::string error, line;
    int code;
  };
  for (const Case& c : {Case{exv1::EXECUTION_COMPLETED, "", "COMPLETED", exit_code::kOk},
                        Case{exv1::EXECUTION_FAILED, "exit status 3", "FAILED: exit status 3", exit_code::kFailed},
                        Case{exv1::EXECUTION_CANCELLED, "user", "CANCELLED: user", exit_code::kCancelled},
                        Case{exv1::EXECUTION_TERMINATED, "", "TERMINATED", exit_code::kTerminated}}) {
    CAPTURE(c.line);
    WatchView view(false);
    Run run;
    view.update(run.e);
    run.phase(c.phase).e.mutable_status()->set_error(c.error);
    CHECK(view.update(run.e).back() == "phase " + aexd::cli::short_name(c.phase));
    CHECK(view.final_line() == c.line);
    CHECK(view.exit_code(grpc::Status::OK) == c.code);
  }
}

TEST_CASE("watch view: a stream that failed or ended before a terminal phase is not a success") {
  WatchView view(false);
  Run run;
  view.update(run.phase(exv1::EXECUTION_IN_PROGRESS).e);
  CHECK(view.exit_code(grpc::Status(grpc::StatusCode::NOT_FOUND, "deleted")) == exit_code::kCallFailed);
  CHECK(view.exit_code(grpc::Status::OK) == exit_code::kFailed);
  CHECK(view.final_line() == "stream ended in phase IN_PROGRESS");

  WatchView completed(false);
  completed.update(run.phase(exv1::EXECUTION_COMPLETED).e);
  CHECK(completed.exit_code(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")) == exit_code::kCallFailed);
}

TEST_CASE("watch view: colours only when asked, and the progress line shows spinner, phase and time") {
  Run run;
  run.phase(exv1::EXECUTION_IN_PROGRESS).message("hi");
  WatchView plain(false);
  for (const auto& line : plain.update(run.e)) CHECK(line.find('\033') == std::string::npos);
  CHECK(plain.progress(0, std::chrono::seconds(7)) == "| IN_PROGRESS  7s");
  CHECK(plain.progress(1, std::chrono::seconds(7)) == "/ IN_PROGRESS  7s");

  WatchView coloured(true);
  const Lines lines = coloured.update(run.e);
  CHECK(lines.back() == "phase \033[36mIN_PROGRESS\033[0m");
}
