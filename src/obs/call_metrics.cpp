#include "obs/call_metrics.h"

#include <string>

namespace aexd::obs {

std::string_view code_name(grpc::StatusCode code) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  const auto i = static_cast<size_t>(code);
  return i < kNames.size() ? kNames[i] : kNames[grpc::StatusCode::UNKNOWN];
}

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

CallMetrics::CallMetrics(prometheus::Registry& registry) {
  auto& calls = prometheus::BuildCounter()
                    .Name("aexd_rpc_calls_total")
                    .Help("RPCs (and streams) finished, by method and gRPC status code")
                    .Register(registry);
  auto& durations = prometheus::BuildHistogram()
                        .Name("aexd_rpc_duration_seconds")
                        .Help("Time from receiving an RPC to finishing it (a stream: its whole life)")
                        .Register(registry);
  auto& open = prometheus::BuildGauge()
                   .Name("aexd_open_streams")
                   .Help("Server streams (subscribe, claim) open right now")
                   .Register(registry);
  for (const api::Method* method : api::methods::kAll) {
    const std::string service(method->service), name(method->name);
    Series& s = series_[method];
    for (size_t code = 0; code < kCodes; ++code)
      s.calls[code] = &calls.Add(
          {{"service", service}, {"method", name}, {"code", std::string(code_name(grpc::StatusCode(code)))}});
    s.duration = &durations.Add({{"service", service}, {"method", name}}, latency_buckets());
    if (method->streaming) s.open = &open.Add({{"method", name}});
  }
}

const CallMetrics::Series* CallMetrics::find(const api::Method& method) const {
  const auto found = series_.find(&method);
  return found == series_.end() ? nullptr : &found->second;
}

void CallMetrics::stream_started(const api::Method& method) {
  if (const Series* s = find(method); s && s->open) s->open->Increment();
}

void CallMetrics::ended(const api::CallRecord& call) {
  const Series* s = find(call.method);
  if (!s) return;
  const auto code = static_cast<size_t>(call.status.error_code());
  s->calls[code < kCodes ? code : size_t{grpc::StatusCode::UNKNOWN}]->Increment();
  try {
    s->duration->Observe(std::chrono::duration<double>(call.elapsed).count());
  } catch (...) {  // only a failing mutex could throw here; a lost sample must not break the call
  }
  if (s->open) s->open->Decrement();
}

}  // namespace aexd::obs
