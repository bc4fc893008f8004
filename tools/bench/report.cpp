#include "bench/report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace aexd::bench {
namespace {

// Keeps a flood of distinct error messages (ids in them) from growing the report without bound.
constexpr size_t kMaxDistinctErrors = 20;

std::string format_duration(double ns) {
  char buf[32];
  if (ns >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2f s", ns / 1e9);
  else if (ns >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f ms", ns / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.2f us", ns / 1e3);
  return buf;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

void Summary::add(std::chrono::nanoseconds latency_ns, const grpc::Status& status) {
  latency.record(static_cast<uint64_t>(std::max<int64_t>(0, latency_ns.count())));
  ++codes[status.error_code()];
  if (status.ok()) return;
  const std::string message = code_name(status.error_code()) + ": " + status.error_message();
  if (auto it = errors.find(message); it != errors.end())
    ++it->second;
  else if (errors.size() < kMaxDistinctErrors)
    errors.emplace(message, 1);
}

void Summary::merge(const Summary& other) {
  latency.merge(other.latency);
  for (const auto& [code, n] : other.codes) codes[code] += n;
  for (const auto& [message, n] : other.errors)
    if (errors.count(message) || errors.size() < kMaxDistinctErrors) errors[message] += n;
}

double Summary::rps() const {
  if (total.count() <= 0) return 0.0;
  return static_cast<double>(count()) * 1e9 / static_cast<double>(total.count());
}

std::string code_name(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  const auto i = static_cast<size_t>(code);
  return i < std::size(kNames) ? kNames[i] : "Code(" + std::to_string(i) + ")";
}

nlohmann::ordered_json to_json(const Summary& s, const nlohmann::ordered_json& options) {
  nlohmann::ordered_json latencies = nlohmann::ordered_json::array();
  for (double p : kPercentages) latencies.push_back({{"percentage", p}, {"latency", s.latency.percentile(p)}});
  nlohmann::ordered_json codes = nlohmann::ordered_json::object();
  for (const auto& [code, n] : s.codes) codes[code_name(code)] = n;
  nlohmann::ordered_json errors = nlohmann::ordered_json::object();
  for (const auto& [message, n] : s.errors) errors[message] = n;
  return {
      {"date", utc_now()},
      {"options", options},
      {"count", s.count()},
      {"total", s.total.count()},
      {"average", static_cast<uint64_t>(s.latency.mean())},
      {"fastest", s.latency.min()},
      {"slowest", s.latency.max()},
      {"rps", s.rps()},
      {"errorDistribution", errors},
      {"statusCodeDistribution", codes},
      {"latencyDistribution", latencies},
  };
}

std::string to_text(const Summary& s, const std::string& title) {
  std::string out = title + "\n\nSummary:\n";
  char line[160];
  auto add = [&](const char* name, const std::string& value) {
    std::snprintf(line, sizeof line, "  %-14s %s\n", name, value.c_str());
    out += line;
  };
  add("Count:", std::to_string(s.count()));
  add("Total:", format_duration(static_cast<double>(s.total.count())));
  add("Slowest:", format_duration(static_cast<double>(s.latency.max())));
  add("Fastest:", format_duration(static_cast<double>(s.latency.min())));
  add("Average:", format_duration(s.latency.mean()));
  std::snprintf(line, sizeof line, "%.2f", s.rps());
  add("Requests/sec:", line);
  out += "\nLatency distribution:\n";
  for (double p : kPercentages) {
    std::snprintf(line, sizeof line, "  %5g %% in %s\n", p,
                  format_duration(static_cast<double>(s.latency.percentile(p))).c_str());
    out += line;
  }
  out += "\nStatus code distribution:\n";
  for (const auto& [code, n] : s.codes) {
    std::snprintf(line, sizeof line, "  [%s]   %llu responses\n", code_name(code).c_str(),
                  static_cast<unsigned long long>(n));
    out += line;
  }
  if (!s.errors.empty()) {
    out += "\nError distribution:\n";
    for (const auto& [message, n] : s.errors) out += "  [" + std::to_string(n) + "]   " + message + "\n";
  }
  return out;
}

}  // namespace aexd::bench
