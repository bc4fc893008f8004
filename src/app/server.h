// Server: wires storage, the executor, the watch hub and the gRPC services into one running aexd,
// and takes them down in the order DESIGN.md gives. start() and shutdown() from one thread.
#pragma once

#include <grpcpp/server.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/backend.h"
#include "api/read_through.h"
#include "app/connection_guard.h"
#include "app/options.h"
#include "auth/token_authorizer.h"
#include "dispatch/dispatcher.h"
#include "domain/result.h"
#include "model/commit_listener.h"
#include "obs/event_log.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "pipeline/dispatch.h"
#include "pipeline/retention.h"
#include "retention/retention_clock.h"
#include "runtime/quiet_trim.h"
#include "store/storage.h"
#include "watch/commit_publisher.h"
#include "watch/execution_cache.h"
#include "watch/watch_hub.h"

namespace aexd {

/// Opens the storage `options.db` names, running on `executor` and telling `listener` of commits
/// (and `stats`, when not null, of each committed batch).
using OpenStorage =
    std::function<Result<std::unique_ptr<store::Storage>>(const Options& options, boost::asio::any_io_executor executor,
                                                          model::CommitListener& listener, store::CommitStats* stats)>;

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
  /// Writes waiting for their batch (0 once shut down).
  size_t queued_writes() const { return storage_ ? storage_->queued_writes() : 0; }
  dispatch::Dispatcher::Counts dispatch_counts() const { return dispatcher_.counts(); }
  /// Idempotent: health NOT_SERVING, new calls refused, open streams ended UNAVAILABLE, calls in
  /// flight given options().shutdown_grace to finish, queued writes committed, threads joined and
  /// the database closed.
  /// Re-reads the tokens file (SIGHUP), from any thread; calls in progress are not held up. On an
  /// error the tokens in use stay. The number of entries now in use.
  Result<size_t> reload();
  void shutdown();

 private:
  // How long writes must have stopped before the heap's free memory is handed back: longer than
  // the pauses within a burst, short enough that an idle server soon shrinks.
  static constexpr std::chrono::seconds kQuietBeforeTrim{1};

  explicit Server(Options options);
  /// The health service's answer for the server ("") and each of its services.
  void set_serving(bool serving);
  /// On the pool, after guard_ started or stopped refusing connections: health follows it, and
  /// during a shortage a timer looks for freed descriptors.
  void connections_changed();

  Options options_;
  int port_ = 0;
  boost::asio::thread_pool pool_;
  watch::WatchHub hub_;
  watch::ExecutionCache cache_;
  watch::CommitPublisher publisher_{cache_, hub_};
  dispatch::Dispatcher dispatcher_;
  retention::RetentionClock retention_;
  obs::LifecycleLog lifecycle_log_;
  ConnectionGuard guard_;
  std::mutex health_mutex_;   // guards the health answers and the four below
  bool health_live_ = false;  // from start's SERVING until shutdown's NOT_SERVING: health follows guard_
  boost::asio::steady_timer recheck_{pool_};
  bool short_of_descriptors_ = false;
  std::chrono::steady_clock::time_point last_shortage_log_;
  /// Commits reach the readers of executions first, then dispatch, retention and the log.
  struct CommitFanout final : model::CommitListener {
    explicit CommitFanout(std::vector<model::CommitListener*> listeners) : listeners(std::move(listeners)) {}
    void committed(const std::vector<model::ExecutionChange>& changes) override {
      for (auto* listener : listeners) listener->committed(changes);
    }
    std::vector<model::CommitListener*> listeners;
  } fanout_{{&publisher_, &dispatcher_, &retention_, &lifecycle_log_}};
  std::unique_ptr<obs::Metrics> metrics_;  // null without --metrics-listen
  QuietTrim quiet_trim_{pool_.get_executor(), kQuietBeforeTrim};
  /// Each committed batch is a figure for the metrics (if any) and activity that defers the trim.
  struct BatchStats final : store::CommitStats {
    explicit BatchStats(QuietTrim& trim) : trim(trim) {}
    void batch_committed(size_t jobs, std::chrono::steady_clock::duration elapsed) override {
      if (metrics) metrics->batch_committed(jobs, elapsed);
      trim.activity();
    }
    QuietTrim& trim;
    store::CommitStats* metrics = nullptr;
  } batch_stats_{quiet_trim_};
  std::unique_ptr<store::Storage> storage_;
  std::unique_ptr<pipeline::StoredLeases> leases_;       // the dispatcher's writes, on storage_
  std::unique_ptr<pipeline::StoredRetention> retained_;  // the retention clock's writes, on storage_
  std::unique_ptr<api::ReadThrough> executions_;
  api::Admission admission_;
  api::OpenCalls open_calls_;
  std::unique_ptr<auth::TokenAuthorizer> tokens_;  // with --auth-tokens; else open_calls_ authorizes
  obs::CallLog call_log_;
  std::unique_ptr<obs::CallFanout> metrics_and_log_;
  std::unique_ptr<api::Backend> backend_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::vector<std::string> service_names_;  // of services_, for the health service
  std::unique_ptr<grpc::Server> grpc_;
  bool stopped_ = false;
};

}  // namespace aexd
