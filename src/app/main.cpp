// aexd: the agent execution daemon. Reads its configuration, starts the server, waits for
// SIGINT/SIGTERM, then shuts down gracefully (Server::shutdown); SIGHUP re-reads the tokens file.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "aexd_config.h"
#include "app/config.h"
#include "app/server.h"
#include "auth/tls.h"
#include "obs/log.h"
#include "runtime/process_tuning.h"
#include "store/postgres/postgres_storage.h"

int main(int argc, char** argv) {
  aexd::tune_process();
  auto config = aexd::config::load({argv + 1, argv + argc}, aexd::config::environment());
  std::fputs(config.out.c_str(), stdout);
  std::fputs(config.err.c_str(), stderr);
  if (config.exit_code) return *config.exit_code;
  const aexd::Options& options = config.options;
  using aexd::obs::LogLevel;
  aexd::obs::configure_logging(options.log_level, options.log_format);
  const auto descriptors = aexd::raise_descriptor_limit();  // reported with "serving"

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  using aexd::obs::log;
  auto server = aexd::Server::start(options);
  if (!server.ok()) {
    log(LogLevel::err, "cannot start", {{"reason", server.status().error_message()}});
    aexd::obs::stop_logging();
    return 1;
  }
  if (options.auth_tokens.empty() && !aexd::auth::is_local_address(options.listen))
    log(LogLevel::warn, "auth is off: anyone who reaches the listen address may make any call (see --auth-tokens)",
        {{"listen", options.listen}});
  const std::string port = std::to_string((*server)->port());
  const std::string metrics_port = std::to_string((*server)->metrics_port());
  log(LogLevel::info, "serving",
      {{"version", AEXD_VERSION},
       {"listen", options.listen},
       {"port", port, true},
       {"metrics_port", metrics_port, true},
       {"db", aexd::store::postgres::without_password(options.db)},
       {"descriptors", std::to_string(descriptors.soft), true},
       {"descriptors_were", std::to_string(descriptors.soft_was), true}});
  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
    if (auto reloaded = (*server)->reload(); reloaded.ok())
      log(LogLevel::info, "tokens re-read",
          {{"file", options.auth_tokens}, {"entries", std::to_string(*reloaded), true}});
    else
      log(LogLevel::err, "tokens unchanged", {{"reason", reloaded.status().error_message()}});
  }
  log(LogLevel::info, "stopping", {{"signal", strsignal(signal)}});
  (*server)->shutdown();
  log(LogLevel::info, "stopped", {{"listen", options.listen}, {"db", aexd::store::postgres::without_password(options.db)}});
  aexd::obs::stop_logging();
  return 0;
}
