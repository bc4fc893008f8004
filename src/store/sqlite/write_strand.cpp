#include "store/sqlite/write_strand.h"

#include <boost/asio/post.hpp>

#include <chrono>
#include <exception>

#include "store/sqlite/operations.h"

namespace aexd::store::sqlite {

namespace {

constexpr int kCheckpointPages = 4096;  // ~16 MiB of WAL

}  // namespace

WriteStrand::WriteStrand(boost::asio::any_io_executor executor, std::unique_ptr<Connection> db,
                         std::unique_ptr<Connection> checkpointer, Limits limits, model::CommitListener& listener,
                         CommitStats* stats)
    : executor_(executor),
      strand_(boost::asio::make_strand(executor)),
      db_(std::move(db)),
      checkpointer_(std::move(checkpointer)),
      listener_(listener),
      stats_(stats),
      queue_(limits) {
  sqlite3_wal_autocheckpoint(db_->handle(), 0);
  sqlite3_wal_hook(
      db_->handle(),
      [](void* self, sqlite3*, const char*, int pages) {
        static_cast<WriteStrand*>(self)->wal_pages_ = pages;
        return SQLITE_OK;
      },
      this);
}

void WriteStrand::checkpoint_if_due() {
  if (wal_pages_ < kCheckpointPages || checkpointing_.exchange(true)) return;
  // PASSIVE never blocks the writer or readers; whatever it cannot copy yet waits for the next one.
  boost::asio::post(executor_, [this] {
    sqlite3_wal_checkpoint_v2(checkpointer_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    checkpointing_ = false;
  });
}

void WriteStrand::submit(Job job, Done done, Wanted wanted) {
  if (queue_.push(std::move(job), std::move(done), std::move(wanted))) boost::asio::post(strand_, [this] { drain(); });
}

void WriteStrand::drain() {
  const auto began = std::chrono::steady_clock::now();
  std::vector<WriteQueue::Pending> batch = queue_.take_batch();
  const auto began_commit = std::chrono::steady_clock::now();
  std::vector<grpc::Status> results(batch.size());
  std::vector<model::ExecutionChange> changes;
  Operations tx(*db_, &changes);
  grpc::Status lost;  // why the batch did not commit, as its jobs that had succeeded are told
  if (!batch.empty()) try {
    db_->query("BEGIN IMMEDIATE").run();
    for (size_t i = 0; i < batch.size() && lost.ok(); ++i) {
      const size_t changes_before = changes.size();
      db_->query("SAVEPOINT job").run();
      try {
        results[i] = batch[i].job(tx);
      } catch (const std::exception& e) {  // a job should not throw; if it does, it fails alone
        results[i] = status_of(e);
      }
      if (results[i].ok()) {
        db_->query("RELEASE job").run();
      } else if (sqlite3_get_autocommit(db_->handle())) {
        // SQLite rolled the whole transaction back (on a full disk, say): the job's error is the batch's.
        lost = grpc::Status(results[i].error_code(), "not committed: " + results[i].error_message());
      } else {
        db_->query("ROLLBACK TO job").run();
        changes.resize(changes_before);
        db_->query("RELEASE job").run();
      }
    }
    if (lost.ok()) db_->query("COMMIT").run();
  } catch (const std::exception& e) {
    lost = status_of(e, "not committed");
  }
  const bool committed = lost.ok() && !batch.empty();
  if (!lost.ok()) {
    if (!sqlite3_get_autocommit(db_->handle())) sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    // A job that failed on its own keeps its status; the others learn their writes were lost.
    for (auto& result : results)
      if (result.ok()) result = lost;
    changes.clear();
  }

  if (committed && stats_) stats_->batch_committed(batch.size(), std::chrono::steady_clock::now() - began_commit);
  checkpoint_if_due();
  if (!changes.empty()) listener_.committed(changes);
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(results[i]);

  if (queue_.finished(committed ? batch.size() : 0, std::chrono::steady_clock::now() - began))
    boost::asio::post(strand_, [this] { drain(); });
}

}  // namespace aexd::store::sqlite
