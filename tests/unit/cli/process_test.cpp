#include "cli/process.h"

#include <doctest/doctest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/watch_stream.h"  // eventually()

using aexd::cli::ChildProcess;
using aexd::cli::Output;
using Clock = ChildProcess::Clock;
using namespace aexd::test;
using namespace std::chrono_literals;

namespace {

/// The process is gone or a zombie (killed, not yet reaped by whoever inherited it).
bool dead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, name, state;
  return !(stat >> pid_field >> name >> state) || state == "Z";
}

}  // namespace

TEST_CASE("spawn: cat gets the input on its stdin, and its stdout comes back line by line, the last without '\\n'") {
  auto child = spawn_child("cat", "first line\nsecond line\nno newline at the end");
  const Output out = run_child_to_exit(*child);
  CHECK(out.stdout_lines == std::vector<std::string>{"first line", "second line", "no newline at the end"});
  CHECK(out.stderr_lines.empty());
  CHECK(child->exit_status()->success());
  CHECK(child->exit_status()->describe() == "exit status 0");
}

TEST_CASE("spawn: an input far larger than a pipe goes through cat while its output is read") {
  std::string input;
  for (int i = 0; i < 100'000; ++i) input += "line " + std::to_string(i) + "\n";
  auto child = spawn_child("cat", input);
  const Output out = run_child_to_exit(*child);
  REQUIRE(out.stdout_lines.size() == 100'000);
  CHECK(out.stdout_lines.front() == "line 0");
  CHECK(out.stdout_lines.back() == "line 99999");
  CHECK(child->exit_status()->success());
}

TEST_CASE("spawn: a command that never reads its stdin exits normally, and the unread input is dropped") {
  auto child = spawn_child("exit 0", std::string(1 << 20, 'x'));
  run_child_to_exit(*child);
  CHECK(child->exit_status()->success());
}

TEST_CASE("spawn: the command inherits the environment plus the extra variables, which replace same-named ones") {
  setenv("AEXD_EXECUTION_ID", "inherited", 1);
  setenv("AEXCTL_TEST_INHERITED", "yes", 1);
  auto child = spawn_child("echo \"$AEXD_EXECUTION_ID\"; echo \"$AEXCTL_TEST_INHERITED\"", "",
                           {{"AEXD_EXECUTION_ID", "aex-01test"}});
  unsetenv("AEXD_EXECUTION_ID");
  unsetenv("AEXCTL_TEST_INHERITED");
  const Output out = run_child_to_exit(*child);
  CHECK(out.stdout_lines == std::vector<std::string>{"aex-01test", "yes"});
}

TEST_CASE("exit: a non-zero exit status and the stderr lines are reported") {
  auto child = spawn_child("echo out; echo first problem >&2; echo second problem >&2; exit 3");
  const Output out = run_child_to_exit(*child);
  CHECK(out.stdout_lines == std::vector<std::string>{"out"});
  CHECK(out.stderr_lines == std::vector<std::string>{"first problem", "second problem"});
  REQUIRE(child->exit_status());
  CHECK_FALSE(child->exit_status()->success());
  CHECK(child->exit_status()->code == 3);
  CHECK(child->exit_status()->describe() == "exit status 3");
}

TEST_CASE("exit: a command killed by a signal is reported as such") {
  auto child = spawn_child("kill -9 $$");
  run_child_to_exit(*child);
  CHECK(child->exit_status()->signal == SIGKILL);
  CHECK(child->exit_status()->describe() == "killed by signal 9");
}

TEST_CASE("stop: SIGTERM ends a command that does not handle it, and everything it started") {
  auto child = spawn_child("sleep 30 & echo $!; wait");
  Output all;
  REQUIRE(poll_child_until(*child, all, [](const Output& o) { return !o.stdout_lines.empty(); }));
  REQUIRE(all.stdout_lines.size() == 1);
  const pid_t sleeper = std::stoi(all.stdout_lines[0]);
  child->stop(60s);
  run_child_to_exit(*child);
  CHECK(child->exit_status()->signal == SIGTERM);
  // The sleep was signalled with the group; it may still be dying when the shell has been reaped.
  CHECK(aexd::test::eventually([&] { return dead(sleeper); }));
}

TEST_CASE("stop: a command that ignores SIGTERM is killed with SIGKILL once the grace has passed") {
  auto child = spawn_child("trap '' TERM; echo ready; sleep 30");
  Output all;
  REQUIRE(poll_child_until(*child, all, [](const Output& o) { return !o.stdout_lines.empty(); }));
  REQUIRE(all.stdout_lines == std::vector<std::string>{"ready"});  // TERM is ignored from here on
  child->stop(50ms);
  run_child_to_exit(*child);
  CHECK(child->exit_status()->signal == SIGKILL);
  CHECK(child->exit_status()->describe() == "killed by signal 9");
}

TEST_CASE("poll: returns when the wake fd becomes readable, long before its deadline") {
  auto child = spawn_child("sleep 30");
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(wake >= 0);
  const uint64_t one = 1;
  REQUIRE(write(wake, &one, sizeof one) == static_cast<ssize_t>(sizeof one));
  const auto deadline = Clock::now() + 60s;
  Output out;
  child->poll(deadline, out, wake);
  CHECK(Clock::now() < deadline);
  CHECK_FALSE(child->exit_status());
  close(wake);
}  // the destructor kills and reaps the sleep

TEST_CASE("destruction kills a command that still runs") {
  pid_t pid = 0;
  {
    auto child = spawn_child("trap '' TERM; sleep 30");
    pid = child->pid();
  }
  CHECK(dead(pid));  // reaped by the destructor: no such process any more
}
