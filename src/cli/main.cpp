// aexctl: a command-line client of aexd. `aexctl runner` claims executions and runs a command for
// each. Parses flags; a thread of its own takes SIGINT/SIGTERM.
#include <pthread.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "aexd_config.h"
#include "cli/runner.h"
#include "runtime/process_tuning.h"

namespace {

std::string default_runner_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "runner");
  return std::string(host) + "-" + std::to_string(getpid());
}

}  // namespace

int main(int argc, char** argv) {
  aexd::tune_process();
  CLI::App app{"aexctl - command-line client of aexd", "aexctl"};
  app.set_version_flag("--version", std::string("aexctl ") + AEXD_VERSION);
  app.require_subcommand(1);

  aexd::cli::RunnerOptions runner;
  runner.runner_id = default_runner_id();
  int grace_seconds = static_cast<int>(runner.grace.count());
  auto* run = app.add_subcommand(
      "runner",
      "claim executions from aexd and run COMMAND for each: /bin/sh -c COMMAND with the execution's message on "
      "stdin and its id in AEXD_EXECUTION_ID; stdout lines become AI messages, the exit status its outcome");
  run->add_option("--command", runner.command, "shell command to run per execution")->required();
  run->add_option("--server", runner.server, "aexd address")->capture_default_str();
  run->add_option("--runner-id", runner.runner_id, "name of this runner (leases, logs)")->capture_default_str();
  run->add_option("--capacity", runner.capacity, "executions run at once")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  run->add_option("--agent", runner.agent_ids, "claim only this agent's executions (repeatable; default: any)");
  run->add_option("--lease-seconds", runner.lease_seconds, "lease asked for (0: the server's default)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  run->add_option("--grace-seconds", grace_seconds, "from SIGTERM to SIGKILL when a command is stopped")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  runner.grace = std::chrono::seconds(grace_seconds);

  // Signals are taken synchronously by one thread; every other thread (and, through it, gRPC's)
  // inherits the blocked mask. Children get a fresh mask (ChildProcess::spawn).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  aexd::cli::Runner r(runner);
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
  int exit_code = 0;
  try {
    r.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aexctl: %s\n", e.what());
    exit_code = 1;
  }
  // The signal thread uses `r`: end it first, with a signal aimed at it now that it is done.
  done = true;
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return exit_code;
}
