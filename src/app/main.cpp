// aexd: the agent execution daemon. Parses flags, starts the server, waits for SIGINT/SIGTERM.
#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <map>
#include <regex>
#include <string>

#include "aexd_config.h"
#include "app/server.h"
#include "obs/log.h"
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
  app.add_option("--metrics-listen", options.metrics_listen,
                 "address to serve Prometheus metrics on at /metrics, e.g. 127.0.0.1:9464 (off when absent)");
  using aexd::obs::LogLevel;
  const std::map<std::string, LogLevel> levels{{"trace", LogLevel::trace}, {"debug", LogLevel::debug},
                                               {"info", LogLevel::info},   {"warn", LogLevel::warn},
                                               {"error", LogLevel::err}};
  app.add_option("--log-level", options.log_level,
                 "trace|debug|info|warn|error: info (default) logs start, stop and executions' lifecycle, debug "
                 "also every call")
      ->transform(CLI::CheckedTransformer(levels, CLI::ignore_case));
  using aexd::obs::LogFormat;
  const std::map<std::string, LogFormat> formats{{"text", LogFormat::text}, {"json", LogFormat::json}};
  app.add_option("--log-format", options.log_format, "text (default) or json: one JSON object per line, on stderr")
      ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case));
  CLI11_PARSE(app, argc, argv);
  options.lease = std::chrono::seconds(lease_seconds);
  aexd::obs::configure_logging(options.log_level, options.log_format);

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  using aexd::obs::log;
  auto server = aexd::Server::start(options);
  if (!server.ok()) {
    log(LogLevel::err, "cannot start", {{"reason", server.status().error_message()}});
    aexd::obs::stop_logging();
    return 1;
  }
  const std::string port = std::to_string((*server)->port());
  const std::string metrics_port = std::to_string((*server)->metrics_port());
  log(LogLevel::info, "serving",
      {{"version", AEXD_VERSION},
       {"listen", options.listen},
       {"port", port, true},
       {"metrics_port", metrics_port, true},
       {"db", options.db}});
  int signal = 0;
  sigwait(&signals, &signal);
  log(LogLevel::info, "stopping", {{"signal", strsignal(signal)}});
  (*server)->shutdown();
  log(LogLevel::info, "stopped", {{"listen", options.listen}, {"db", options.db}});
  aexd::obs::stop_logging();
  return 0;
}
