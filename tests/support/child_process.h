// Driving an aexd::cli::ChildProcess from a test thread: start it or fail the test, and poll it
// until a condition on its collected output holds or it exits, bounded so that a hang fails.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/process.h"

namespace aexd::test {

/// `s` as one word for /bin/sh.
inline std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::unique_ptr<cli::ChildProcess> spawn_child(
    const std::string& command, std::string input = "",
    const std::vector<std::pair<std::string, std::string>>& env = {}) {
  std::string error;
  auto child = cli::ChildProcess::spawn(command, std::move(input), env, error);
  REQUIRE_MESSAGE(child != nullptr, error);
  return child;
}

/// Polls `child`, appending its lines to `all`, until `done(all)` or the child has exited; false if
/// `timeout` passed first.
template <class Done>
bool poll_child_until(cli::ChildProcess& child, cli::Output& all, Done done,
                      std::chrono::seconds timeout = std::chrono::seconds(60)) {
  const auto give_up = cli::ChildProcess::Clock::now() + timeout;
  while (!done(all) && !child.exit_status()) {
    if (cli::ChildProcess::Clock::now() >= give_up) return false;
    cli::Output out;
    child.poll(give_up, out);
    all.stdout_lines.insert(all.stdout_lines.end(), out.stdout_lines.begin(), out.stdout_lines.end());
    all.stderr_lines.insert(all.stderr_lines.end(), out.stderr_lines.begin(), out.stderr_lines.end());
  }
  return true;
}

/// Everything `child` writes until it exits (fails the test if it does not within `timeout`).
inline cli::Output run_child_to_exit(cli::ChildProcess& child,
                                     std::chrono::seconds timeout = std::chrono::seconds(60)) {
  cli::Output all;
  REQUIRE(poll_child_until(
      child, all, [](const cli::Output&) { return false; }, timeout));
  REQUIRE(child.exit_status());
  return all;
}

}  // namespace aexd::test
