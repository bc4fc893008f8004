// What one aexd runs with. The defaults here are the defaults of every source: app/config.cpp
// declares how each field is read (flag, environment, JSON file) and printed.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "obs/log.h"
#include "store/sync.h"

namespace aexd {

struct Options {
  std::string listen = "127.0.0.1:7234";
  std::string db = "./aexd.db";
  store::Sync sync = store::Sync::normal;
  int readers = 0;  // 0: one per core
  size_t max_queued_writes = 10000;
  // A write that would wait longer than this for its commit (at the recent commit rate) is shed; 0: never.
  std::chrono::milliseconds write_queue_budget{500};
  size_t max_in_flight = 20000;
  size_t cache_mb = 64;     // encoded executions kept in memory for get and subscribe; 0: none
  int max_message_mb = 16;  // largest request accepted, and so the largest reply or subscribe message
  bool bench_noop = false;  // also serve aexd.bench.v1.Noop, the floor for load tests
  std::chrono::milliseconds idempotency_ttl = std::chrono::hours(24);  // how long a create's idempotency key counts
  std::chrono::milliseconds lease = std::chrono::seconds(60);          // a claim's lease when it names none
  int max_attempts = 3;  // assignments of an execution that no runner starts before it ends FAILED
  std::chrono::milliseconds stall_timeout = std::chrono::minutes(10);  // IN_PROGRESS without a push; 0: never
  size_t dispatch_window = 100000;  // unheld PENDING executions queued in memory; the rest wait in the database
  std::chrono::milliseconds retain_terminal{0};  // terminal executions are deleted this long after they end; 0: kept
  std::string auth_tokens;        // the tokens file (README "Auth and TLS"); empty: every call is allowed
  std::string tls_cert, tls_key;  // PEM files: serve TLS instead of plaintext
  std::string tls_client_ca;      // PEM CA file: require client certificates it signed (mTLS)
  std::string metrics_listen;     // host:port serving Prometheus text at /metrics; empty: no metrics
  // The process's logger is main's to configure (obs::configure_logging); the server logs each call
  // only at debug, and lifecycle events at info.
  obs::LogLevel log_level = obs::LogLevel::info;
  obs::LogFormat log_format = obs::LogFormat::text;
  std::chrono::milliseconds shutdown_grace = std::chrono::seconds(5);  // in-flight calls' time to finish at shutdown
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);    // a connection without calls is closed; 0: never
  std::chrono::milliseconds keepalive_time = std::chrono::minutes(1);  // a connection with calls is pinged; 0: never
  std::chrono::milliseconds keepalive_timeout = std::chrono::seconds(20);         // an unanswered ping closes it
  std::chrono::milliseconds min_client_ping_interval = std::chrono::seconds(10);  // more frequent: GOAWAY

  bool operator==(const Options&) const = default;
};

}  // namespace aexd
