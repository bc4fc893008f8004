// `aexctl runner`: flags, and a thread of its own that takes SIGINT/SIGTERM while the Runner runs
// on main's thread.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include "cli/command.h"
#include "cli/runner.h"

namespace aexd::cli {

namespace {

std::string default_runner_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "runner");
  return std::string(host) + "-" + std::to_string(getpid());
}

struct RunnerCommand {
  RunnerOptions options;
  int grace_seconds = 10;
};

sigset_t stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

int run_runner(const Context& context, RunnerOptions options) {
  const sigset_t signals = stop_signals();
  Runner r(std::move(options), context.shared_connection());
  std::atomic<bool> done = false;
  std::thread signal_thread([&] {
    int signal = 0;
    for (int received = 0; sigwait(&signals, &signal) == 0 && !done; ++received) {
      if (received == 0) {
        std::fprintf(stderr, "aexctl: %s: claiming no more; running commands finish first\n", strsignal(signal));
        r.stop();
      } else {
        std::fprintf(stderr, "aexctl: %s again: %s the running commands\n", strsignal(signal),
                     received == 1 ? "stopping" : "killing");
        r.kill();
      }
    }
  });
  int exit_code = exit_code::kOk;
  try {
    r.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aexctl: %s\n", e.what());
    exit_code = exit_code::kCallFailed;
  }
  // The signal thread uses `r`: end it first, with a signal aimed at it now that it is done.
  done = true;
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return exit_code;
}

}  // namespace

void add_runner_command(CLI::App& app, Selected& selected, std::string& address) {
  auto r = std::make_shared<RunnerCommand>();
  r->options.runner_id = default_runner_id();
  auto* run = app.add_subcommand(
      "runner",
      "claim executions from aexd and run COMMAND for each: /bin/sh -c COMMAND with the execution's message on "
      "stdin and its id in AEXD_EXECUTION_ID; stdout lines become AI messages, the exit status its outcome");
  run->add_option("--command", r->options.command, "shell command to run per execution")->required();
  run->add_option("--server", address, "aexd address (same as --addr)");
  run->add_option("--runner-id", r->options.runner_id, "name of this runner (leases, logs)")->capture_default_str();
  run->add_option("--capacity", r->options.capacity, "executions run at once")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  run->add_option("--agent", r->options.agent_ids, "claim only this agent's executions (repeatable; default: any)");
  run->add_option("--lease-seconds", r->options.lease_seconds, "lease asked for (0: the server's default)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  run->add_option("--grace-seconds", r->grace_seconds, "from SIGTERM to SIGKILL when a command is stopped")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  run->callback([&selected, &address, r] {
    // Signals are taken synchronously by one thread (run_runner's); every other thread inherits
    // the blocked mask, gRPC's too, so it is set now, before the connection starts them. Children
    // get a fresh mask (ChildProcess::spawn).
    const sigset_t signals = stop_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    selected.run = [r, &address](const Context& context) {
      RunnerOptions options = r->options;
      options.server = address;
      options.grace = std::chrono::seconds(r->grace_seconds);
      return run_runner(context, std::move(options));
    };
  });
}

}  // namespace aexd::cli
