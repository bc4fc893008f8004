// The built aexd binary as a child process of the test: started with a database (test_database() of
// support/test_database.h for the backend under test) and flags, awaited (bounded) until its "serving"
// line names the port it bound, its stderr collected; or run until it refuses to start. Test thread
// only; the test must pass -DAEXD_PATH (tests/meson.build does).
#pragma once

#include <signal.h>

#include <doctest/doctest.h>
#include <grpcpp/create_channel.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "auth/client_channel.h"
#include "support/child_process.h"
#include "support/test_database.h"

namespace aexd::test {

/// The shell command that runs aexd (with exec, so that signals reach aexd itself and not a shell).
inline std::string aexd_command(const std::string& db, const std::string& args = "",
                                const std::string& listen = "127.0.0.1:0") {
  return "exec " AEXD_PATH " --listen " + listen + " --db " + shell_quoted(db) + " " + args;
}

class AexdProcess {
 public:
  using Seconds = std::chrono::seconds;

  /// `aexd --listen LISTEN --db DB ARGS`; `shell_first` runs in the shell before it (`ulimit -n 256; `).
  /// Returns once aexd logged that it serves (text `port=N` or JSON `"port":N`).
  explicit AexdProcess(const std::string& db, const std::string& args = "", const std::string& listen = "127.0.0.1:0",
                       const std::string& shell_first = "")
      : child_(spawn_child(shell_first + aexd_command(db, args, listen))) {
    // `port=` and `"port":` but not `metrics_port`.
    static const std::regex kPort(R"((?:\s|")port"?[=:]([0-9]+))");
    std::smatch m;
    wait_until([&](const std::vector<std::string>& lines) {
      for (; seen_ < lines.size(); ++seen_)
        if (lines[seen_].find("serving") != std::string::npos && std::regex_search(lines[seen_], m, kPort)) {
          port_ = std::stoi(m[1].str());
          ++seen_;
          return true;
        }
      return false;
    });
    REQUIRE_MESSAGE(port_ > 0, log());
  }
  ~AexdProcess() {
    if (!child_->exit_status()) {
      child_->stop(Seconds(10));
      poll_child_until(*child_, output_, [](const cli::Output&) { return false; });
    }
  }
  AexdProcess(const AexdProcess&) = delete;
  AexdProcess& operator=(const AexdProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  /// Its resident memory (VmRSS) in KiB.
  long rss_kib() const {
    std::ifstream status("/proc/" + std::to_string(pid()) + "/status");
    std::string line;
    while (std::getline(status, line))
      if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    return 0;
  }
  /// Its open file descriptors.
  long open_descriptors() const {
    const std::filesystem::directory_iterator fds("/proc/" + std::to_string(pid()) + "/fd");
    return std::distance(begin(fds), end(fds));
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  /// A plaintext channel of its own (not shared with other channels to the same address).
  std::shared_ptr<grpc::Channel> new_channel() const {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
  }
  /// A channel with a bearer token and/or TLS.
  std::shared_ptr<grpc::Channel> channel(const auth::ClientSecurity& security) const {
    return auth::open_channel(address(), security);
  }

  /// Polls (bounded) until `done(lines())` holds; fails the test if aexd exits or time runs out first.
  template <class Done>
  void wait_until(Done done, Seconds timeout = Seconds(60)) {
    bool met = false;  // `done` may keep state (wait_for does): it is asked once per poll
    poll_child_until(
        *child_, output_, [&](const cli::Output& all) { return met = done(all.stderr_lines); }, timeout);
    REQUIRE_MESSAGE(met, "aexd exited or timed out; its log:\n" << log());
  }
  /// Waits (bounded) for a stderr line containing `text` after the ones already found; returns it.
  std::string wait_for(const std::string& text, Seconds timeout = Seconds(60)) {
    std::string found;
    wait_until(
        [&](const std::vector<std::string>& lines) {
          for (; seen_ < lines.size() && found.empty(); ++seen_)
            if (lines[seen_].find(text) != std::string::npos) found = lines[seen_];
          return !found.empty();
        },
        timeout);
    return found;
  }

  void signal(int sig) { REQUIRE(kill(child_->pid(), sig) == 0); }
  /// Waits (bounded) for aexd to exit by itself (after signal(), say), collecting the rest of its log.
  cli::ExitStatus wait_exit(Seconds timeout = Seconds(30)) {
    REQUIRE(poll_child_until(
        *child_, output_, [](const cli::Output&) { return false; }, timeout));
    REQUIRE(child_->exit_status());
    return *child_->exit_status();
  }
  /// SIGTERM, SIGKILL after `grace`; waits for the exit.
  cli::ExitStatus stop(Seconds grace = Seconds(10)) {
    child_->stop(grace);
    return wait_exit(grace + Seconds(30));
  }

  /// Its stderr lines so far.
  const std::vector<std::string>& lines() const { return output_.stderr_lines; }
  std::string log() const {
    std::string out;
    for (const auto& line : output_.stderr_lines) out += line + "\n";
    return out;
  }

 private:
  std::unique_ptr<cli::ChildProcess> child_;
  cli::Output output_;
  size_t seen_ = 0;
  int port_ = 0;
};

/// How aexd exited and what it wrote when it did not start serving.
struct RefusedStart {
  cli::ExitStatus exit;
  std::vector<std::string> lines;  // stderr
};

/// Runs `aexd --listen 127.0.0.1:0 --db DB` until it exits (bounded); fails the test if it serves.
inline RefusedStart run_aexd_expecting_refusal(const std::string& db) {
  auto child = spawn_child(aexd_command(db));
  cli::Output output;
  const auto serving = [](const cli::Output& all) {
    for (const auto& line : all.stderr_lines)
      if (line.find("serving") != std::string::npos) return true;
    return false;
  };
  REQUIRE(poll_child_until(*child, output, serving));
  if (!child->exit_status()) {
    child->stop(std::chrono::seconds(10));
    FAIL("aexd started serving " << db << " instead of refusing it");
  }
  poll_child_until(*child, output, [](const cli::Output&) { return false; });
  return {*child->exit_status(), output.stderr_lines};
}

}  // namespace aexd::test
