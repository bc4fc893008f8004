// Server: wires storage, the executor, the watch hub and the gRPC services into one running aexd,
// and takes them down in the order DESIGN.md gives. start() and shutdown() from one thread.
#pragma once

#include <grpcpp/server.h>

#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/backend.h"
#include "api/read_through.h"
#include "dispatch/dispatcher.h"
#include "domain/result.h"
#include "model/commit_listener.h"
#include "obs/event_log.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "pipeline/dispatch.h"
#include "store/storage.h"
#include "store/sync.h"
#include "watch/commit_publisher.h"
#include "watch/execution_cache.h"
#include "watch/watch_hub.h"

namespace aexd {

struct Options {
  std::string listen = "127.0.0.1:7234";
  std::string db = "./aexd.db";
  store::Sync sync = store::Sync::normal;
  int readers = 0;  // 0: one per core
  size_t max_queued_writes = 10000;
  size_t max_in_flight = 20000;
  size_t cache_mb = 64;     // encoded executions kept in memory for get and subscribe; 0: none
  int max_message_mb = 16;  // largest request accepted, and so the largest reply or subscribe message
  bool bench_noop = false;  // also serve aexd.bench.v1.Noop, the floor for load tests
  std::chrono::milliseconds idempotency_ttl = std::chrono::hours(24);  // how long a create's idempotency key counts
  std::chrono::milliseconds lease = std::chrono::seconds(60);          // a claim's lease when it names none
  int max_attempts = 3;  // assignments of an execution that no runner starts before it ends FAILED
  std::chrono::milliseconds stall_timeout = std::chrono::minutes(10);  // IN_PROGRESS without a push; 0: never
  size_t dispatch_window = 100000;  // unheld PENDING executions queued in memory; the rest wait in the database
  std::string metrics_listen;       // host:port serving Prometheus text at /metrics; empty: no metrics
  // The process's logger is main's to configure (obs::configure_logging); the server logs each call
  // only at debug, and lifecycle events at info.
  obs::LogLevel log_level = obs::LogLevel::info;
  obs::LogFormat log_format = obs::LogFormat::text;
};

/// Opens the storage `options.db` names, running on `executor` and telling `listener` of commits
/// (and `stats`, when not null, of each committed batch).
using OpenStorage = std::function<Result<std::unique_ptr<store::Storage>>(
    const Options& options, boost::asio::any_io_executor executor, model::CommitListener& listener,
    store::CommitStats* stats)>;

/// The embedded default: a SQLite file.
Result<std::unique_ptr<store::Storage>> open_storage(const Options& options, boost::asio::any_io_executor executor,
                                                     model::CommitListener& listener, store::CommitStats* stats);

class Server {
 public:
  /// Opens the storage, binds the address and starts serving. On failure the status says what
  /// was wrong (bad path, address in use, ...).
  static Result<std::unique_ptr<Server>> start(Options options, const OpenStorage& open = open_storage);
  ~Server();

  /// The port actually bound (useful with ":0").
  int port() const { return port_; }
  /// The port serving /metrics, 0 without metrics.
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  const Options& options() const { return options_; }
  /// Executions with at least one open subscribe stream.
  size_t watched_executions() const { return hub_.channels(); }
  /// Writes waiting for their batch.
  size_t queued_writes() const { return storage_->queued_writes(); }
  dispatch::Dispatcher::Counts dispatch_counts() const { return dispatcher_.counts(); }
  /// Idempotent; ends open streams, stops accepting, drains writes, joins threads.
  void shutdown();

 private:
  explicit Server(Options options);

  Options options_;
  int port_ = 0;
  boost::asio::thread_pool pool_;
  watch::WatchHub hub_;
  watch::ExecutionCache cache_;
  watch::CommitPublisher publisher_{cache_, hub_};
  dispatch::Dispatcher dispatcher_;
  obs::LifecycleLog lifecycle_log_;
  /// Commits reach the readers of executions first, then dispatch, then the log.
  struct CommitFanout final : model::CommitListener {
    CommitFanout(model::CommitListener& a, model::CommitListener& b, model::CommitListener& c)
        : first(a), second(b), third(c) {}
    void committed(const std::vector<model::ExecutionChange>& changes) override {
      first.committed(changes);
      second.committed(changes);
      third.committed(changes);
    }
    model::CommitListener& first;
    model::CommitListener& second;
    model::CommitListener& third;
  } fanout_{publisher_, dispatcher_, lifecycle_log_};
  std::unique_ptr<obs::Metrics> metrics_;  // null without --metrics-listen
  std::unique_ptr<store::Storage> storage_;
  std::unique_ptr<pipeline::StoredLeases> leases_;  // the dispatcher's writes, on storage_
  std::unique_ptr<api::ReadThrough> executions_;
  api::Admission admission_;
  api::OpenCalls open_calls_;
  obs::CallLog call_log_;
  std::unique_ptr<obs::CallFanout> metrics_and_log_;
  std::unique_ptr<api::Backend> backend_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> grpc_;
  bool stopped_ = false;
};

}  // namespace aexd
