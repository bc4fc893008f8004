// `aexctl runner` against a real in-process server: the built binary claims the execution, runs the
// command and reports it; outcomes are awaited through subscribe, never by sleeping.
#include <signal.h>

#include <cerrno>
#include <string>

#include "support/child_process.h"
#include "support/client.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;

namespace {

/// aexctl runner as a child process, its stderr (one line per event) collected.
class Aexctl {
 public:
  Aexctl(const TestServer& server, const std::string& command, const std::string& flags = "")
      : child_(spawn_child("exec " AEXCTL_PATH " runner --server " + server.address() + " --grace-seconds 2 " + flags +
                           " --command " + shell_quoted(command))) {}
  ~Aexctl() {
    if (!child_->exit_status()) {
      child_->stop(std::chrono::seconds(20));
      poll_child_until(*child_, log_, [](const cli::Output&) { return false; });
    }
  }

  /// Waits (bounded) for a log line containing `text`; returns it, or "" if none came.
  std::string wait_for_log(const std::string& text) {
    std::string found;
    poll_child_until(*child_, log_, [&](const cli::Output& all) {
      for (const auto& line : all.stderr_lines)
        if (line.find(text) != std::string::npos) found = line;
      return !found.empty();
    });
    return found;
  }
  /// SIGTERM: aexctl stops claiming and, with nothing running, exits.
  cli::ExitStatus stop() {
    kill(child_->pid(), SIGTERM);
    REQUIRE(poll_child_until(*child_, log_, [](const cli::Output&) { return false; }));
    return *child_->exit_status();
  }
  std::string log() const {
    std::string out;
    for (const auto& line : log_.stderr_lines) out += line + "\n";
    return out;
  }

 private:
  std::unique_ptr<cli::ChildProcess> child_;
  cli::Output log_;
};

struct Fixture {
  TestServer server;
  Client api{server.channel()};
  std::string agent_id = must(api.create(make_agent("Shell Agent"))).metadata().id();

  Execution create(const std::string& message) { return must(api.create(make_execution_for_agent(agent_id, message))); }
};

/// Waits until the watched execution has been seen in `phase`.
bool reached(WatchStream& watch, Phase phase) {
  for (size_t n = 1; watch.wait_for_messages(n); ++n)
    if (watch.received()[n - 1].phase == phase) return true;
  return false;
}

}  // namespace

TEST_CASE("aexctl runner: cat echoes the message as an AI message and the execution ends COMPLETED") {
  Fixture f;
  const std::string id = f.create("hello from the test").metadata().id();
  auto queries = f.server.execution_queries();
  WatchStream watch(*queries, id);
  Aexctl aexctl(f.server, "cat");

  REQUIRE(watch.wait_done(std::chrono::seconds(60)).ok());
  INFO(aexctl.log());
  const Execution out = must(f.api.get<Execution>(id));
  CHECK(out.status().phase() == exv1::EXECUTION_COMPLETED);
  REQUIRE(out.status().messages_size() == 1);
  CHECK(out.status().messages(0).type() == exv1::MESSAGE_AI);
  CHECK(out.status().messages(0).content() == "hello from the test");
  CHECK_FALSE(out.status().started_at().empty());
  CHECK_FALSE(out.status().completed_at().empty());
  CHECK(out.status().error().empty());
  CHECK_FALSE(aexctl.wait_for_log("assigned " + id + " attempt 1").empty());
  CHECK_FALSE(aexctl.wait_for_log(id + " completed").empty());
  CHECK(aexctl.stop().success());
}

TEST_CASE("aexctl runner: the command sees the execution id in AEXD_EXECUTION_ID") {
  Fixture f;
  const std::string id = f.create("ignored").metadata().id();
  auto queries = f.server.execution_queries();
  WatchStream watch(*queries, id);
  Aexctl aexctl(f.server, "echo \"$AEXD_EXECUTION_ID\"");

  REQUIRE(watch.wait_done(std::chrono::seconds(60)).ok());
  INFO(aexctl.log());
  const Execution out = must(f.api.get<Execution>(id));
  CHECK(out.status().phase() == exv1::EXECUTION_COMPLETED);
  REQUIRE(out.status().messages_size() == 1);
  CHECK(out.status().messages(0).content() == id);
}

TEST_CASE("aexctl runner: a command silent for longer than the lease keeps it through heartbeats and COMPLETES") {
  Fixture f;
  const std::string id = f.create("ignored").metadata().id();
  auto queries = f.server.execution_queries();
  WatchStream watch(*queries, id);
  Aexctl aexctl(f.server, "sleep 3", "--lease-seconds 1");

  REQUIRE(watch.wait_done(std::chrono::seconds(60)).ok());
  INFO(aexctl.log());
  CHECK(must(f.api.get<Execution>(id)).status().phase() == exv1::EXECUTION_COMPLETED);
}

TEST_CASE("aexctl runner: a non-zero exit ends the execution FAILED with the exit status and the stderr lines") {
  Fixture f;
  const std::string id = f.create("anything").metadata().id();
  auto queries = f.server.execution_queries();
  WatchStream watch(*queries, id);
  Aexctl aexctl(f.server, "echo oops >&2; exit 3");

  REQUIRE(watch.wait_done(std::chrono::seconds(60)).ok());
  INFO(aexctl.log());
  const Execution out = must(f.api.get<Execution>(id));
  CHECK(out.status().phase() == exv1::EXECUTION_FAILED);
  CHECK(out.status().error().find("exit status 3") != std::string::npos);
  CHECK(out.status().error().find("oops") != std::string::npos);
  CHECK_FALSE(out.status().completed_at().empty());
  CHECK_FALSE(aexctl.wait_for_log(id + " failed: exit status 3").empty());
}

TEST_CASE("aexctl runner: cancel stops the running command, and the execution stays CANCELLED") {
  Fixture f;
  const std::string id = f.create("wait for me").metadata().id();
  auto queries = f.server.execution_queries();
  WatchStream watch(*queries, id);
  Aexctl aexctl(f.server, "sleep 600");

  REQUIRE(reached(watch, exv1::EXECUTION_IN_PROGRESS));
  const std::string started = aexctl.wait_for_log(id + " started: pid ");
  INFO(aexctl.log());
  REQUIRE_FALSE(started.empty());
  const pid_t pid = std::stoi(started.substr(started.rfind(' ') + 1));

  must(f.api.cancel(id, "no longer needed"));
  REQUIRE(watch.wait_done(std::chrono::seconds(60)).ok());
  CHECK(watch.received().back().phase == exv1::EXECUTION_CANCELLED);
  // aexctl logs it after reaping the command: by then no such process exists.
  CHECK_FALSE(aexctl.wait_for_log(id + " stopped: killed by signal 15").empty());
  const int alive = kill(pid, 0);
  const int error = errno;
  CHECK(alive == -1);
  CHECK(error == ESRCH);

  const Execution out = must(f.api.get<Execution>(id));
  CHECK(out.status().phase() == exv1::EXECUTION_CANCELLED);
  CHECK(out.status().error() == "no longer needed");
  CHECK(aexctl.stop().success());
}
