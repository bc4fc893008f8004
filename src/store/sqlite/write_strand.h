// WriteStrand owns the single SQLite writer connection. Writes queue up and are drained in
// batches, one transaction per batch (group commit); each call completes only after its batch
// is durable. Every job runs inside its own savepoint, so one failing job leaves no trace and
// does not disturb the others in its batch. A job whose caller left while it was queued is not run;
// a write that would wait longer than the queue's budget is refused at once. submit() is
// thread-safe; jobs run on the strand.
#pragma once

#include <grpcpp/support/status.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstddef>
#include <memory>

#include "model/commit_listener.h"
#include "store/sqlite/connection.h"
#include "store/storage.h"
#include "store/write_queue.h"

namespace aexd::store::sqlite {

class WriteStrand {
 public:
  /// Strand-bound: runs on the write strand, inside the batch transaction.
  using Job = Storage::Job;
  /// Runs after the batch committed (or failed), on the write strand.
  using Done = Storage::Done;
  /// Asked on the strand when the job is taken into a batch.
  using Wanted = Storage::Wanted;

  using Limits = WriteQueue::Limits;

  /// `checkpointer` is a second connection to the same database: WAL checkpoints run on it,
  /// off the strand, so commits never wait for one. `listener` hears of every commit on the strand,
  /// and so does `stats` (if any).
  WriteStrand(boost::asio::any_io_executor executor, std::unique_ptr<Connection> db,
              std::unique_ptr<Connection> checkpointer, Limits limits, model::CommitListener& listener,
              CommitStats* stats = nullptr);

  /// Thread-safe. Queues `job`; `done` gets its status once the job's batch is durable, or what
  /// `wanted` answered if that was not OK when the job's turn came (the job is then not run).
  void submit(Job job, Done done, Wanted wanted = {});

  /// Jobs waiting for the strand right now.
  size_t queued() const { return queue_.size(); }

 private:
  void drain();
  void checkpoint_if_due();

  boost::asio::any_io_executor executor_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::unique_ptr<Connection> db_;
  std::unique_ptr<Connection> checkpointer_;
  int wal_pages_ = 0;  // strand-bound: WAL size after the last commit
  std::atomic<bool> checkpointing_{false};
  model::CommitListener& listener_;
  CommitStats* const stats_;
  WriteQueue queue_;
};

}  // namespace aexd::store::sqlite
