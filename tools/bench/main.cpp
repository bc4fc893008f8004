// aexbench: a ghz-style load generator for aexd, plus the noop-call floor the server's figures
// are compared against. Parses flags, runs one scenario, prints its summary.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "bench/load.h"
#include "runtime/process_tuning.h"

namespace {

using aexd::bench::CallKind;

/// "10s", "500ms", "2m", "250us", "1h"; a bare number is seconds. nullopt if malformed.
std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  static const std::regex kDuration(R"(^\s*([0-9]+(?:\.[0-9]*)?)\s*(ns|us|ms|s|m|h)?\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, kDuration)) return std::nullopt;
  static const std::map<std::string, double> kUnitNs{{"ns", 1}, {"us", 1e3}, {"ms", 1e6},  {"s", 1e9},
                                                     {"", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  return std::chrono::nanoseconds(static_cast<int64_t>(std::stod(m[1]) * kUnitNs.at(m[2])));
}

bool is_whole_number(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  aexd::tune_process();
  CLI::App app{"aexbench - load generator for aexd (ghz-compatible JSON summary)", "aexbench"};
  aexd::bench::LoadOptions load;
  std::string call_name = "get", duration, warmup, timeout = "20s", format = "text";
  bool json = false;
  const std::map<std::string, CallKind> calls{
      {"noop", CallKind::noop},  {"create", CallKind::create}, {"updateStatus", CallKind::update_status},
      {"get", CallKind::get},    {"list", CallKind::list},     {"subscribe", CallKind::subscribe},
      {"mixed", CallKind::mixed}};
  std::vector<std::string> call_names;
  for (const auto& entry : calls) call_names.push_back(entry.first);
  app.add_option("--call", call_name,
                 "what to call: noop (needs aexd --bench-noop), create, updateStatus, get, list, subscribe, "
                 "mixed (10% create, 60% updateStatus, 30% get)")
      ->transform(CLI::IsMember(call_names, CLI::ignore_case))
      ->capture_default_str();
  app.add_option("--host", load.host, "aexd address; several, comma-separated, share the connections in turn")->capture_default_str();
  app.add_option("-c,--concurrency", load.concurrency, "calls in flight (subscribe: open streams)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("-n,--total", load.total, "measured requests (ignored with -z)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("-z,--duration", duration, "run for this long instead of -n requests (10s, 500ms, 2m)");
  app.add_option("--rps", load.rps, "request rate limit across all workers (0: unlimited)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--connections", load.connections, "gRPC channels, each its own connection")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", warmup, "excluded from the summary: a request count (500) or a duration (2s)");
  app.add_option("--executions", load.executions,
                 "executions set up for updateStatus/get/list/mixed to spread over (0: max(c, 50); subscribe: c)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--message-bytes", load.message_bytes, "size of the message updateStatus pushes")
      ->capture_default_str();
  app.add_option("--timeout", timeout, "deadline of each call, and how long the run may stall")->capture_default_str();
  app.add_option("--format", format, "summary format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  app.add_flag("--json", json, "same as --format json");
  app.add_option("--token", load.security.token, "bearer token to send on every call (aexd --auth-tokens)")
      ->envname("AEXD_TOKEN");
  std::string tls_ca;
  app.add_option("--tls-ca", tls_ca, "PEM CA of the server's certificate: connect with TLS (aexd --tls-cert)")
      ->check(CLI::ExistingFile);

  CLI11_PARSE(app, argc, argv);
  if (json) format = "json";
  if (!tls_ca.empty()) load.security.ca_pem = aexd::bench::read_file_or_fail(tls_ca);
  load.call = calls.at(call_name);

  try {
    if (!duration.empty()) {
      auto d = parse_duration(duration);
      if (!d || d->count() <= 0) throw CLI::ValidationError("-z", "not a duration: " + duration);
      load.duration = *d;
    }
    if (is_whole_number(warmup)) {
      load.warmup_requests = std::stoull(warmup);
    } else if (!warmup.empty()) {
      auto d = parse_duration(warmup);
      if (!d) throw CLI::ValidationError("--warmup", "neither a request count nor a duration: " + warmup);
      load.warmup_duration = *d;
    }
    auto t = parse_duration(timeout);
    if (!t || t->count() <= 0) throw CLI::ValidationError("--timeout", "not a duration: " + timeout);
    load.timeout = *t;
  } catch (const CLI::Error& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aexbench: %s\n", e.what());
    return 1;
  }

  try {
    const auto summary = aexd::bench::run_load(load);
    nlohmann::ordered_json options{{"call", call_name},
                                   {"host", load.host},
                                   {"concurrency", load.concurrency},
                                   {"connections", load.connections},
                                   {"rps", load.rps},
                                   {"warmupRequests", load.warmup_requests},
                                   {"warmupDuration", load.warmup_duration.count()},
                                   {"token", !load.security.token.empty()},
                                   {"tls", !load.security.ca_pem.empty()}};
    if (load.duration.count() > 0)
      options["duration"] = load.duration.count();
    else
      options["total"] = load.total;
    if (format == "json") {
      std::printf("%s\n", aexd::bench::to_json(summary, options).dump(2).c_str());
    } else {
      const std::string title = "aexbench --call " + call_name + " -c " + std::to_string(load.concurrency) +
                                " --connections " + std::to_string(load.connections) + " against " + load.host;
      std::printf("%s", aexd::bench::to_text(summary, title).c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aexbench: %s\n", e.what());
    return 1;
  }
  return 0;
}
