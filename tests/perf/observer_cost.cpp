// observer_cost: what obs's CallObservers cost per call, on one thread and on two at once (the
// observers are called on gRPC and executor threads together): metrics alone, the call log below its
// level (the default), and metrics with the call log writing to a discarding sink at debug.
#include <prometheus/registry.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "obs/call_metrics.h"
#include "obs/event_log.h"
#include "obs/log.h"

namespace {

using namespace aexd;
using Clock = std::chrono::steady_clock;

/// Nanoseconds per ended() call with `threads` threads calling at once.
double ns_per_call(api::CallObserver& observer, int threads, int calls_each) {
  const grpc::Status status = grpc::Status::OK;
  const auto started = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < calls_each; ++i)
        observer.ended({api::methods::kExecutionCreate, status, std::chrono::microseconds(400 + i % 1000),
                        "ipv4:127.0.0.1:40000", "aex-0123456789abcdef"});
    });
  for (auto& w : workers) w.join();
  return std::chrono::duration<double, std::nano>(Clock::now() - started).count() / calls_each;
}

void report(const char* name, api::CallObserver& observer) {
  constexpr int kCalls = 1'000'000;
  ns_per_call(observer, 1, kCalls / 10);  // warm up
  std::printf("%-40s %8.0f ns/call (1 thread) %8.0f ns/call (2 threads)\n", name, ns_per_call(observer, 1, kCalls),
              ns_per_call(observer, 2, kCalls));
}

}  // namespace

int main() {
  auto logger = std::make_shared<spdlog::logger>("discard", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_formatter(obs::line_formatter(obs::LogFormat::json));
  spdlog::set_default_logger(logger);

  prometheus::Registry registry;
  obs::CallMetrics metrics(registry);
  obs::CallLog call_log;
  obs::CallFanout both(metrics, call_log);

  logger->set_level(obs::LogLevel::info);
  report("metrics", metrics);
  report("call log at info (skipped)", call_log);
  logger->set_level(obs::LogLevel::debug);
  report("metrics + call log at debug (line built)", both);
  return 0;
}
