// Summary: what one aexbench run measured, and its output as ghz-compatible JSON or as text.
#pragma once

#include <grpcpp/support/status.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "bench/histogram.h"

namespace aexd::bench {

struct Summary {
  Histogram latency;  // nanoseconds, every measured call (errors included, as ghz does)
  std::map<grpc::StatusCode, uint64_t> codes;
  std::map<std::string, uint64_t> errors;  // error message -> count
  std::chrono::nanoseconds total{0};       // first measured send to last measured completion

  void add(std::chrono::nanoseconds latency_ns, const grpc::Status& status);
  void merge(const Summary& other);
  uint64_t count() const { return latency.count(); }
  double rps() const;
};

/// The name Go's codes.Code.String() gives, which is what ghz prints ("OK", "Unimplemented", ...).
std::string code_name(grpc::StatusCode code);

/// The percentages reported in latencyDistribution.
inline constexpr double kPercentages[] = {10, 25, 50, 75, 90, 95, 99, 99.9};

/// ghz's summary fields (durations in nanoseconds) plus `options`, which describes the run.
nlohmann::ordered_json to_json(const Summary& summary, const nlohmann::ordered_json& options);
std::string to_text(const Summary& summary, const std::string& title);

}  // namespace aexd::bench
