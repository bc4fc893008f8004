// aexd: the agent execution daemon. Reads its configuration, starts the server, waits for
// SIGINT/SIGTERM, then shuts down gracefully (Server::shutdown); SIGHUP re-reads the tokens file.
#include <csignal>
#include <cstdio>
#include <cstring>

#include "aexd_config.h"
#include "app/config.h"
#include "app/server.h"
#include "auth/tls.h"
#include "runtime/process_tuning.h"

int main(int argc, char** argv) {
  aexd::tune_process();
  auto config = aexd::config::load({argv + 1, argv + argc}, aexd::config::environment());
  std::fputs(config.out.c_str(), stdout);
  std::fputs(config.err.c_str(), stderr);
  if (config.exit_code) return *config.exit_code;
  const aexd::Options& options = config.options;

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = aexd::Server::start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "aexd: %s\n", server.status().error_message().c_str());
    return 1;
  }
  if (options.auth_tokens.empty() && !aexd::auth::is_local_address(options.listen))
    std::fprintf(stderr, "aexd: auth is off: anyone who reaches %s may make any call (see --auth-tokens)\n",
                 options.listen.c_str());
  std::fprintf(stderr, "aexd %s: serving on %s (port %d), database %s\n", AEXD_VERSION, options.listen.c_str(),
               (*server)->port(), options.db.c_str());
  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
    auto reloaded = (*server)->reload();
    if (reloaded.ok())
      std::fprintf(stderr, "aexd: SIGHUP: re-read %s (entries: %zu)\n", options.auth_tokens.c_str(), *reloaded);
    else
      std::fprintf(stderr, "aexd: SIGHUP: tokens unchanged: %s\n", reloaded.status().error_message().c_str());
  }
  std::fprintf(stderr, "aexd: %s received, stopping\n", strsignal(signal));
  (*server)->shutdown();
  std::fprintf(stderr, "aexd: stopped (%s, database %s)\n", options.listen.c_str(), options.db.c_str());
  return 0;
}
