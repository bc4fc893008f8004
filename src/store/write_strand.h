// WriteStrand owns the single SQLite writer connection. Writes queue up and are drained in
// batches, one transaction per batch (group commit); each call completes only after its batch
// is durable. Every job runs inside its own savepoint, so one failing job leaves no trace and
// does not disturb the others in its batch.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>
#include <grpcpp/support/status.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "domain/types.h"
#include "store/snapshot.h"
#include "store/sqlite.h"

namespace aexd::store {

/// A committed change to one execution: its new snapshot, or null when it was deleted.
struct ExecutionChange {
  std::string id;
  std::shared_ptr<const Snapshot> snapshot;
};

/// What a job sees: the writer connection inside the open transaction, and a place to record
/// execution changes to announce once the batch has committed.
struct WriteTx {
  Connection& db;
  std::vector<ExecutionChange> changes;

  /// Encodes `execution` once for everything that hands it out; the snapshot is returned so the
  /// row can store the same bytes.
  const Snapshot& changed(const Execution& execution) {
    changes.push_back({execution.metadata().id(), make_snapshot(execution)});
    return *changes.back().snapshot;
  }
  void deleted(std::string id) { changes.push_back({std::move(id), nullptr}); }
};

class WriteStrand {
 public:
  /// Strand-bound: runs on the write strand, inside the batch transaction. Must not block on I/O
  /// other than the database.
  using Job = std::function<grpc::Status(WriteTx&)>;
  /// Runs after the batch committed (or failed), on the write strand.
  using Done = std::function<void(const grpc::Status&)>;
  /// Called on the write strand after each commit with the batch's execution changes, in order.
  using OnCommit = std::function<void(std::vector<ExecutionChange>&)>;

  struct Limits {
    size_t max_queued = 10000;  // beyond this, submit answers RESOURCE_EXHAUSTED at once
    size_t max_batch = 512;     // jobs per transaction
  };

  /// `checkpointer` is a second connection to the same database: WAL checkpoints run on it,
  /// off the strand, so commits never wait for one.
  WriteStrand(boost::asio::any_io_executor executor, std::unique_ptr<Connection> db,
              std::unique_ptr<Connection> checkpointer, Limits limits, OnCommit on_commit);

  /// Thread-safe. Queues `job`; `done` gets its status once the job's batch is durable.
  void submit(Job job, Done done);

  /// Jobs waiting for the strand right now.
  size_t queued() const;

 private:
  struct Pending {
    Job job;
    Done done;
  };
  void drain();
  void checkpoint_if_due();

  boost::asio::any_io_executor executor_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::unique_ptr<Connection> db_;
  std::unique_ptr<Connection> checkpointer_;
  int wal_pages_ = 0;                       // strand-bound: WAL size after the last commit
  std::atomic<bool> checkpointing_{false};
  const Limits limits_;
  OnCommit on_commit_;

  mutable std::mutex mutex_;
  std::vector<Pending> queue_;
  bool draining_ = false;  // a drain is posted or running; guarded by mutex_
};

}  // namespace aexd::store
