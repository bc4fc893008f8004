// CallMetrics: counts, durations and open streams of the public RPCs in a Prometheus registry. Every
// method's series are made once up front, so a call only bumps atomics and one histogram; thread-safe
// (called on gRPC and executor threads at once), never blocks on the registry, never throws.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <string_view>
#include <unordered_map>

#include "api/calls.h"

namespace aexd::obs {

/// The gRPC name of a status code ("OK", "NOT_FOUND", ...); UNKNOWN for a code gRPC does not define.
std::string_view code_name(grpc::StatusCode code);

/// Upper bounds for latencies from 0.1 ms to 10 s, in seconds.
const prometheus::Histogram::BucketBoundaries& latency_buckets();

class CallMetrics final : public api::CallObserver {
 public:
  /// Adds aexd_rpc_calls_total, aexd_rpc_duration_seconds and aexd_open_streams to `registry`.
  explicit CallMetrics(prometheus::Registry& registry);

  bool wants_details() const override { return false; }
  void stream_started(const api::Method& method) override;
  void ended(const api::CallRecord& call) override;

 private:
  static constexpr size_t kCodes = 17;  // OK .. UNAUTHENTICATED
  struct Series {
    std::array<prometheus::Counter*, kCodes> calls{};
    prometheus::Histogram* duration = nullptr;
    prometheus::Gauge* open = nullptr;  // streaming methods only
  };
  /// Null for a method that is not in api::methods::kAll.
  const Series* find(const api::Method& method) const;

  std::unordered_map<const api::Method*, Series> series_;  // filled by the constructor, read-only after
};

}  // namespace aexd::obs
