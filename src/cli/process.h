// A command run as `/bin/sh -c CMD` in a process group of its own, with pipes for its stdin, stdout
// and stderr: ChildProcess owns the child (its pid, pidfd and pipe ends) until it is reaped. Not
// thread-safe: one thread drives it (poll, stop, destruction); others wake that thread through the
// `wake_fd` it polls along.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aexd::cli {

/// How a child ended: its exit code, or the signal that killed it.
struct ExitStatus {
  int code = -1;   // valid when signal == 0
  int signal = 0;  // non-zero when killed by a signal

  bool success() const { return signal == 0 && code == 0; }
  /// "exit status 3" or "killed by signal 9".
  std::string describe() const;
};

/// What a child wrote since the last poll, split into lines (without their '\n').
struct Output {
  std::vector<std::string> stdout_lines;
  std::vector<std::string> stderr_lines;
};

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  /// Starts `/bin/sh -c command` in a new process group, with this process's environment plus
  /// `env`, and `input` written to its stdin (closed once written). nullptr and `error` set if it
  /// cannot start. Ignores SIGPIPE process-wide on first use: a child that exits without reading
  /// its stdin must fail that write, not end the caller.
  static std::unique_ptr<ChildProcess> spawn(const std::string& command, std::string input,
                                             const std::vector<std::pair<std::string, std::string>>& env,
                                             std::string& error);

  /// Kills the whole group and reaps the child if it still runs.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// Feeds stdin, collects complete lines into `out`, sends the SIGKILL of a stop whose grace has
  /// run out, and reaps the child once it exits (then the rest of its output is collected, including
  /// a last line without '\n'). Returns when any of that happened, `deadline` passed, or `wake_fd`
  /// (if >= 0) became readable; the caller drains `wake_fd`.
  void poll(Clock::time_point deadline, Output& out, int wake_fd = -1);

  /// SIGTERM to the child's process group now, SIGKILL from poll() once `grace` has passed. A later
  /// call may only shorten the grace.
  void stop(Clock::duration grace);

  /// Set once the child has been reaped (by poll()).
  const std::optional<ExitStatus>& exit_status() const { return exit_status_; }
  pid_t pid() const { return pid_; }

 private:
  struct Stream {
    int fd = -1;
    std::string partial;  // bytes after the last '\n'
  };
  ChildProcess() = default;

  void write_input();
  /// Reads what `s` has now into `lines`; closes it at end of file.
  static void read_lines(Stream& s, std::vector<std::string>& lines);
  static void flush_partial(Stream& s, std::vector<std::string>& lines);
  void reap();
  void signal_group(int sig) const;

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdin_fd_ = -1;
  std::string input_;
  size_t input_written_ = 0;
  Stream stdout_, stderr_;
  std::optional<Clock::time_point> kill_at_;
  bool killed_ = false;
  std::optional<ExitStatus> exit_status_;
};

}  // namespace aexd::cli
