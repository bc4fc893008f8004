// obs/call_metrics.h: what a recorded call does to the registry's samples.
#include <doctest/doctest.h>
#include <prometheus/registry.h>

#include "obs/call_metrics.h"

using namespace aexd;
using namespace aexd::obs;

namespace {

const prometheus::ClientMetric* find(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                                     const std::map<std::string, std::string>& labels) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> got;
      for (const auto& label : metric.label) got[label.name] = label.value;
      if (got == labels) return &metric;
    }
  }
  return nullptr;
}

void end(CallMetrics& metrics, const api::Method& method, grpc::StatusCode code, std::chrono::microseconds elapsed) {
  const grpc::Status status(code, "");
  metrics.ended({method, status, elapsed, {}, {}});
}

}  // namespace

TEST_CASE("call metrics: calls counted by method and code, durations in seconds, streams while open") {
  prometheus::Registry registry;
  CallMetrics metrics(registry);
  const std::string commands(api::methods::kExecutionCommands), queries(api::methods::kExecutionQueries);

  end(metrics, api::methods::kExecutionCreate, grpc::StatusCode::OK, std::chrono::microseconds(300));
  end(metrics, api::methods::kExecutionCreate, grpc::StatusCode::OK, std::chrono::milliseconds(20));
  end(metrics, api::methods::kExecutionGet, grpc::StatusCode::NOT_FOUND, std::chrono::microseconds(50));
  metrics.stream_started(api::methods::kExecutionSubscribe);
  metrics.stream_started(api::methods::kExecutionSubscribe);
  end(metrics, api::methods::kExecutionSubscribe, grpc::StatusCode::CANCELLED, std::chrono::seconds(3));

  const auto families = registry.Collect();
  auto counted = [&](const std::string& service, const std::string& method, const std::string& code) {
    const auto* m = find(families, "aexd_rpc_calls_total", {{"service", service}, {"method", method}, {"code", code}});
    REQUIRE(m != nullptr);
    return m->counter.value;
  };
  CHECK(counted(commands, "create", "OK") == 2);
  CHECK(counted(commands, "create", "INTERNAL") == 0);
  CHECK(counted(queries, "get", "NOT_FOUND") == 1);
  CHECK(counted(queries, "get", "OK") == 0);
  CHECK(counted(queries, "subscribe", "CANCELLED") == 1);

  const auto* create = find(families, "aexd_rpc_duration_seconds", {{"service", commands}, {"method", "create"}});
  REQUIRE(create != nullptr);
  CHECK(create->histogram.sample_count == 2);
  CHECK(create->histogram.sample_sum == doctest::Approx(0.0203));
  // 0.3 ms lies in the 0.5 ms bucket, 20 ms in the 25 ms one.
  for (const auto& bucket : create->histogram.bucket) {
    if (bucket.upper_bound == doctest::Approx(0.00025)) CHECK(bucket.cumulative_count == 0);
    if (bucket.upper_bound == doctest::Approx(0.0005)) CHECK(bucket.cumulative_count == 1);
    if (bucket.upper_bound == doctest::Approx(0.01)) CHECK(bucket.cumulative_count == 1);
    if (bucket.upper_bound == doctest::Approx(0.025)) CHECK(bucket.cumulative_count == 2);
  }

  const auto* open = find(families, "aexd_open_streams", {{"method", "subscribe"}});
  REQUIRE(open != nullptr);
  CHECK(open->gauge.value == 1);
  CHECK(find(families, "aexd_open_streams", {{"method", "get"}}) == nullptr);  // unary methods have none
}

TEST_CASE("call metrics: a method outside methods::kAll is ignored, an unknown code counts as UNKNOWN") {
  prometheus::Registry registry;
  CallMetrics metrics(registry);
  const api::Method stranger{"x.Y", "z", api::Right::read};
  end(metrics, stranger, grpc::StatusCode::OK, std::chrono::microseconds(1));
  // 31: the largest value grpc::StatusCode can hold (its enumerators span -1..16), yet no code.
  end(metrics, api::methods::kRelease, static_cast<grpc::StatusCode>(31), std::chrono::microseconds(1));
  const auto families = registry.Collect();
  const auto* unknown =
      find(families, "aexd_rpc_calls_total",
           {{"service", std::string(api::methods::kDispatch)}, {"method", "release"}, {"code", "UNKNOWN"}});
  REQUIRE(unknown != nullptr);
  CHECK(unknown->counter.value == 1);
  CHECK(code_name(grpc::StatusCode::UNAUTHENTICATED) == "UNAUTHENTICATED");
  CHECK(code_name(grpc::StatusCode::NOT_FOUND) == "NOT_FOUND");
}
