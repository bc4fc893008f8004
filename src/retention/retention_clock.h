// RetentionClock: deletes terminal executions once they have been terminal for `retain`
// (--retain-terminal). One timer, armed for the oldest terminal execution's expiry from committed
// state: at start-up by a first batch, which reads the ended-time index, and afterwards by the
// batches themselves or, while nothing is armed, by the commit that ends an execution. A firing
// deletes one small batch as a write job and re-arms (at once when the batch was full), so a backlog
// is worked off between other writes, never in a loop that holds the writer. Thread-safe; never
// calls the store while it holds its lock.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/system_timer.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "model/commit_listener.h"
#include "model/retention.h"

namespace aexd::retention {

struct Settings {
  std::chrono::milliseconds retain{0};  // 0: keep terminal executions forever
  int batch = 25;  // deletions per write job: ~150 µs each, so a backlog adds a few ms to the writes sharing its commit
};

class RetentionClock final : public model::CommitListener {
 public:
  RetentionClock(Settings settings, boost::asio::any_io_executor executor);

  /// Deletes through `store` from now on, starting with one batch at once (whatever expired while
  /// the server was down). Returns at once; does nothing when retention is off.
  void start(model::RetentionStore& store);
  /// The storage's commit path: an execution that ends arms the timer if nothing is armed.
  void committed(const std::vector<model::ExecutionChange>& changes) override;
  /// Cancels the timer; a batch in flight still commits, and nothing runs after it.
  void shutdown();

 private:
  // Need mutex_.
  void arm(int64_t due_ms);
  /// Claims the next batch; false when one is already queued or the clock is stopped.
  bool claim_batch();

  void run_batch();
  void on_batch(const grpc::Status& status, const model::RetentionBatch& batch);
  void on_timer();

  const Settings settings_;
  model::RetentionStore* store_ = nullptr;

  std::mutex mutex_;
  bool closed_ = false;
  bool running_ = false;         // a batch is queued or running
  int64_t ended_meanwhile_ = 0;  // the first execution that ended while a batch ran (Unix ms); 0: none
  int64_t armed_at_ = 0;         // when the timer fires (Unix ms); 0: not armed
  boost::asio::system_timer timer_;
};

}  // namespace aexd::retention
