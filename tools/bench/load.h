// The gRPC load generator of aexbench: sets up what a scenario needs, then keeps `concurrency`
// calls in flight (callback API) until the request count or the duration is reached.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "auth/client_channel.h"
#include "bench/report.h"

namespace aexd::bench {

enum class CallKind { noop, create, update_status, get, list, subscribe, mixed };

struct LoadOptions {
  CallKind call = CallKind::noop;
  std::string host = "127.0.0.1:7234";
  int concurrency = 50;
  uint64_t total = 200;                  // used when duration is zero
  std::chrono::nanoseconds duration{0};  // wins over total when non-zero
  double rps = 0;                        // 0: as fast as the server answers
  int connections = 1;
  uint64_t warmup_requests = 0;                 // excluded from the summary...
  std::chrono::nanoseconds warmup_duration{0};  // ...or everything started this early
  int executions = 0;                           // executions prepared for updateStatus/get/list (0: auto)
  std::chrono::nanoseconds timeout = std::chrono::seconds(20);  // per call; also the stall limit
  size_t message_bytes = 1024;                                  // updateStatus message content
  auth::ClientSecurity security;  // a bearer token and the server's CA (TLS), to measure what they cost
};

/// Throws std::runtime_error when the scenario cannot be set up (server down, setup call refused).
Summary run_load(const LoadOptions& options);

}  // namespace aexd::bench
