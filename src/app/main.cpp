// aexd: the agent execution daemon. Parses flags, starts the server, waits for SIGINT/SIGTERM;
// SIGHUP re-reads the tokens file.
#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <map>
#include <regex>

#include "aexd_config.h"
#include "app/server.h"
#include "auth/tls.h"
#include "runtime/process_tuning.h"

int main(int argc, char** argv) {
  aexd::tune_process();
  aexd::Options options;
  CLI::App app{"aexd - the agent execution daemon (Stigmer agentic v1 gRPC API)", "aexd"};
  app.set_version_flag("--version", std::string("aexd ") + AEXD_VERSION);
  app.add_option("--listen", options.listen, "address to serve gRPC on")->capture_default_str();
  app.add_option("--db", options.db, "SQLite database file (created if missing)")->capture_default_str();
  using aexd::store::Sync;
  const std::map<std::string, Sync> syncs{{"full", Sync::full}, {"normal", Sync::normal}, {"off", Sync::off}};
  app.add_option("--sync", options.sync,
                 "durability: full survives power loss, normal (default) survives a process crash")
      ->transform(CLI::CheckedTransformer(syncs, CLI::ignore_case));
  app.add_option("--readers", options.readers, "reader connections (0: one per core)")->check(CLI::NonNegativeNumber);
  app.add_option("--max-queued-writes", options.max_queued_writes,
                 "writes waiting for commit before new ones get RESOURCE_EXHAUSTED")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-in-flight", options.max_in_flight,
                 "unary calls in progress before new ones get RESOURCE_EXHAUSTED")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--cache-mb", options.cache_mb,
                 "MiB of encoded executions kept in memory for get and subscribe (0: no cache)")
      ->capture_default_str();
  app.add_option("--max-message-mb", options.max_message_mb,
                 "largest request accepted, in MiB (larger ones get RESOURCE_EXHAUSTED); replies may be as large")
      ->check(CLI::Range(1, 2047))
      ->capture_default_str();
  app.add_flag("--bench-noop", options.bench_noop,
               "also serve aexd.bench.v1.Noop/call, a do-nothing floor for load tests");
  // Durations: a number and a unit (ms, s, m, h); a bare number is seconds.
  auto duration = [&app](const std::string& name, std::chrono::milliseconds& value, const std::string& help) {
    return app
        .add_option_function<std::string>(
            name,
            [&value, name](const std::string& text) {
              static const std::regex kDuration(R"(^([0-9]+)(ms|s|m|h)?$)");
              static const std::map<std::string, int64_t> kUnitMs{{"ms", 1}, {"", 1000}, {"s", 1000}, {"m", 60'000},
                                                                  {"h", 3'600'000}};
              std::smatch m;
              if (!std::regex_match(text, m, kDuration)) throw CLI::ValidationError(name, "not a duration: " + text);
              value = std::chrono::milliseconds(std::stoll(m[1]) * kUnitMs.at(m[2]));
            },
            help)
        ->type_name("DURATION");
  };
  duration("--idempotency-ttl", options.idempotency_ttl,
           "how long an execution create's idempotency-key counts, e.g. 24h, 90m, 30s (default 24h)");
  int lease_seconds = 60;
  app.add_option("--lease-seconds", lease_seconds, "a runner's lease when its claim names none: it ends this long "
                                                   "after the runner's last status push")
      ->check(CLI::Range(1, 24 * 3600))
      ->capture_default_str();
  app.add_option("--max-attempts", options.max_attempts,
                 "assignments of an execution that no runner starts before it ends FAILED")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  duration("--stall-timeout", options.stall_timeout,
           "an IN_PROGRESS execution with no status push for this long ends FAILED, e.g. 10m (default); 0 never");
  app.add_option("--auth-tokens", options.auth_tokens,
                 "tokens file, lines of NAME ROLE SHA256HEX (README \"Auth and TLS\"); re-read on SIGHUP. "
                 "Without it every call is allowed")
      ->check(CLI::ExistingFile);
  auto* tls_cert =
      app.add_option("--tls-cert", options.tls_cert, "PEM certificate chain: serve TLS instead of plaintext")
          ->check(CLI::ExistingFile);
  auto* tls_key =
      app.add_option("--tls-key", options.tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  tls_cert->needs(tls_key);
  tls_key->needs(tls_cert);
  app.add_option("--tls-client-ca", options.tls_client_ca,
                 "PEM CA certificates: require client certificates they signed (mTLS)")
      ->check(CLI::ExistingFile)
      ->needs(tls_cert);
  CLI11_PARSE(app, argc, argv);
  options.lease = std::chrono::seconds(lease_seconds);

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
