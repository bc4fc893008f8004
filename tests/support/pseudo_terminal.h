// A program run on a pseudo-terminal (forkpty), as a user runs it in a terminal: what it writes is
// read back from the master side, and a test waits (bounded) for text to appear or for the program
// to exit. Not thread-safe: the test thread drives it.
#pragma once

#include <doctest/doctest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace aexd::test {

class PseudoTerminal {
 public:
  using Clock = std::chrono::steady_clock;

  /// Runs `argv[0]` (a path) with `argv` on a new pseudo-terminal.
  explicit PseudoTerminal(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    REQUIRE_MESSAGE(pid_ >= 0, "forkpty: " << std::strerror(errno));
    if (pid_ == 0) {
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~PseudoTerminal() {
    if (!exit_code_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(master_);
  }
  PseudoTerminal(const PseudoTerminal&) = delete;
  PseudoTerminal& operator=(const PseudoTerminal&) = delete;

  /// Reads until `text` appears in the output (counting from `from`) or `timeout` passes; true if it appeared.
  bool wait_for(const std::string& text, size_t from = 0, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto deadline = Clock::now() + timeout;
    while (output_.find(text, from) == std::string::npos) {
      if (!read_some(deadline)) return false;
    }
    return true;
  }

  /// Reads until the program closes the terminal, then reaps it: its exit code (128 + N when
  /// killed by signal N), or nullopt if `timeout` passed first.
  std::optional<int> wait_exit(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto deadline = Clock::now() + timeout;
    while (read_some(deadline)) {
    }
    if (!eof_) return std::nullopt;
    int status = 0;
    REQUIRE(waitpid(pid_, &status, 0) == pid_);
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }

  /// Types `keys` on the terminal (`"\x03"` is Ctrl-C: the terminal sends SIGINT).
  void type(const std::string& keys) {
    REQUIRE(write(master_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size()));
  }

  const std::string& output() const { return output_; }

 private:
  /// Appends what the program wrote; false at end of output (the terminal closed) or at `deadline`.
  bool read_some(Clock::time_point deadline) {
    if (eof_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{master_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) return true;
    if (ready <= 0) return false;
    char buffer[4096];
    const ssize_t n = read(master_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {  // EIO: every slave descriptor is closed, the program is gone
      eof_ = true;
      return false;
    }
    output_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int master_ = -1;
  std::string output_;
  bool eof_ = false;
  std::optional<int> exit_code_;
};

/// How many times `text` occurs in `s`.
inline size_t occurrences(const std::string& s, const std::string& text) {
  size_t n = 0;
  for (size_t at = s.find(text); at != std::string::npos; at = s.find(text, at + text.size())) ++n;
  return n;
}

}  // namespace aexd::test
