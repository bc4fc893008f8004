#include "cli/process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

extern char** environ;

namespace aexd::cli {

namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

/// A pipe whose ends are closed unless taken; both ends close on exec, so no child inherits the
/// pipes of another (a stray write end would keep that child's output open after it exits).
struct Pipe {
  int ends[2] = {-1, -1};
  int& read = ends[0];
  int& write = ends[1];
  bool open() { return pipe2(ends, O_CLOEXEC) == 0; }
  ~Pipe() {
    close_fd(read);
    close_fd(write);
  }
  static int take(int& fd) { return std::exchange(fd, -1); }
};

/// glibc 2.36's <sys/pidfd.h> declares pidfd_open without C linkage, so C++ cannot link it.
int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/// This process's environment with `extra` set (replacing variables of the same name).
std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const auto& kv) {
      return entry.size() > kv.first.size() && entry.starts_with(kv.first) && entry[kv.first.size()] == '=';
    });
    if (!replaced) out.emplace_back(entry);
  }
  for (const auto& [name, value] : extra) out.push_back(name + "=" + value);
  return out;
}

}  // namespace

std::string ExitStatus::describe() const {
  return signal != 0 ? "killed by signal " + std::to_string(signal) : "exit status " + std::to_string(code);
}

std::unique_ptr<ChildProcess> ChildProcess::spawn(const std::string& command, std::string input,
                                                  const std::vector<std::pair<std::string, std::string>>& env,
                                                  std::string& error) {
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });

  Pipe in, out, err;
  if (!in.open() || !out.open() || !err.open()) {
    error = std::string("cannot create pipes: ") + std::strerror(errno);
    return nullptr;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own group, so a stop reaches everything the shell started; and the signal mask and
  // dispositions of a fresh process, not ours (we block SIGINT/SIGTERM and ignore SIGPIPE).
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attr, &signals);
  sigfillset(&signals);
  posix_spawnattr_setsigdefault(&attr, &signals);

  std::vector<std::string> env_strings = environment_with(env);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, sh.c_str(), &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    error = "cannot start /bin/sh: " + std::string(std::strerror(rc));
    return nullptr;
  }

  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = pid;
  child->pidfd_ = pidfd_open(pid);
  if (child->pidfd_ < 0) {
    error = "cannot watch the child (pidfd_open): " + std::string(std::strerror(errno));
    return nullptr;  // the destructor kills and reaps it
  }
  child->stdin_fd_ = Pipe::take(in.write);
  child->stdout_.fd = Pipe::take(out.read);
  child->stderr_.fd = Pipe::take(err.read);
  for (int fd : {child->stdin_fd_, child->stdout_.fd, child->stderr_.fd}) set_nonblocking(fd);
  child->input_ = std::move(input);
  if (child->input_.empty()) close_fd(child->stdin_fd_);
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_status_) {
    signal_group(SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  for (int* fd : {&pidfd_, &stdin_fd_, &stdout_.fd, &stderr_.fd}) close_fd(*fd);
}

void ChildProcess::poll(Clock::time_point deadline, Output& out, int wake_fd) {
  if (exit_status_) return;
  const auto escalate = [this] {
    if (kill_at_ && !killed_ && Clock::now() >= *kill_at_) {
      signal_group(SIGKILL);
      killed_ = true;
    }
  };
  escalate();
  if (kill_at_ && !killed_) deadline = std::min(deadline, *kill_at_);
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  const int timeout_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));

  pollfd fds[] = {{stdin_fd_, POLLOUT, 0},
                  {stdout_.fd, POLLIN, 0},
                  {stderr_.fd, POLLIN, 0},
                  {pidfd_, POLLIN, 0},
                  {wake_fd, POLLIN, 0}};                    // poll skips negative fds
  if (::poll(fds, std::size(fds), timeout_ms) < 0) return;  // EINTR: the caller polls again
  if (fds[0].revents != 0) write_input();
  if (fds[1].revents != 0) read_lines(stdout_, out.stdout_lines);
  if (fds[2].revents != 0) read_lines(stderr_, out.stderr_lines);
  if (fds[3].revents != 0) {
    reap();
    // Whatever it wrote before exiting is in the pipes now; a background process it left behind
    // may keep them open, so take what is there rather than wait for end of file.
    for (auto [stream, lines] : {std::pair{&stdout_, &out.stdout_lines}, std::pair{&stderr_, &out.stderr_lines}}) {
      if (stream->fd >= 0) read_lines(*stream, *lines);
      flush_partial(*stream, *lines);
      close_fd(stream->fd);
    }
    close_fd(stdin_fd_);
    close_fd(pidfd_);
    return;
  }
  escalate();
}

void ChildProcess::stop(Clock::duration grace) {
  if (exit_status_) return;
  const auto at = Clock::now() + grace;
  if (!kill_at_) signal_group(SIGTERM);
  if (!kill_at_ || at < *kill_at_) kill_at_ = at;
}

void ChildProcess::write_input() {
  while (input_written_ < input_.size()) {
    const ssize_t n = ::write(stdin_fd_, input_.data() + input_written_, input_.size() - input_written_);
    if (n > 0) {
      input_written_ += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;  // the pipe is full; poll says when it drains
    } else {
      break;  // EPIPE: it closed its stdin or exited; the rest is not wanted
    }
  }
  close_fd(stdin_fd_);
  input_.clear();
}

void ChildProcess::read_lines(Stream& s, std::vector<std::string>& lines) {
  char buf[64 * 1024];
  // Bounded, so that a child writing without pause cannot keep its thread from pushing or stopping.
  for (int reads = 0; reads < 16; ++reads) {
    const ssize_t n = ::read(s.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // end of file, or an error that will not go away
      flush_partial(s, lines);
      close_fd(s.fd);
      return;
    }
    s.partial.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos; start = nl + 1)
      lines.push_back(s.partial.substr(start, nl - start));
    s.partial.erase(0, start);
  }
}

void ChildProcess::flush_partial(Stream& s, std::vector<std::string>& lines) {
  if (!s.partial.empty()) lines.push_back(std::move(s.partial));
  s.partial.clear();
}

void ChildProcess::reap() {
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      exit_status_ = ExitStatus{};  // not ours to reap (cannot happen: we are its parent)
      return;
    }
  }
  exit_status_ = WIFSIGNALED(status) ? ExitStatus{.code = -1, .signal = WTERMSIG(status)}
                                     : ExitStatus{.code = WEXITSTATUS(status), .signal = 0};
}

void ChildProcess::signal_group(int sig) const {
  // Only before reaping: after that the group id may name someone else's group.
  if (pid_ > 0 && !exit_status_) ::kill(-pid_, sig);
}

}  // namespace aexd::cli
