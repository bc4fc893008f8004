// WriteQueue: the queue in front of a storage's single writer. It admits writes (a hard cap, and a
// latency budget at the writer's learnt commit rate), hands them out in batches in arrival order,
// and answers the jobs whose callers left without running them. Thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <iterator>
#include <mutex>
#include <utility>
#include <vector>

#include "store/storage.h"
#include "store/write_budget.h"

namespace aexd::store {

class WriteQueue {
 public:
  struct Limits {
    size_t max_queued = 10000;  // beyond this, a write is answered RESOURCE_EXHAUSTED at once
    size_t max_batch = 512;     // jobs per transaction
    // Beyond the writes the writer commits in this long (at its recent rate), a write is answered
    // RESOURCE_EXHAUSTED at once; 0: only max_queued sheds.
    std::chrono::milliseconds queue_budget{0};
  };
  struct Pending {
    Storage::Job job;
    Storage::Done done;
    Storage::Wanted wanted;
    int retries = 0;  // times a conflict with another writer sent it back (retry())
  };

  explicit WriteQueue(Limits limits) : limits_(limits), budget_(limits.queue_budget) {}

  /// Queues a write, or answers it RESOURCE_EXHAUSTED. True when the writer was idle: the caller
  /// must then start it (it drains until finished() says the queue is empty).
  bool push(Storage::Job job, Storage::Done done, Storage::Wanted wanted) {
    std::unique_lock lock(mutex_);
    if (queue_.size() >= limits_.max_queued || !budget_.admits(queue_.size())) {
      lock.unlock();
      done(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "write queue is full; retry later"));
      return false;
    }
    queue_.push_back({std::move(job), std::move(done), std::move(wanted)});
    return !std::exchange(draining_, true);
  }

  /// The writer's next batch, oldest first. Nobody waits for the write of a caller that left, or
  /// will have by the time the batch commits: such jobs are answered here and left out.
  std::vector<Pending> take_batch() {
    std::vector<Pending> taken;
    auto committed_by = std::chrono::system_clock::now();
    {
      std::lock_guard lock(mutex_);
      const size_t n = std::min(queue_.size(), limits_.max_batch);
      taken.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
      if (const double rate = budget_.jobs_per_second(); rate > 0)
        committed_by += std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(static_cast<double>(n) / rate));
    }
    std::vector<Pending> batch;
    batch.reserve(taken.size());
    for (auto& pending : taken) {
      if (auto gone = pending.wanted ? pending.wanted(committed_by) : grpc::Status::OK; !gone.ok()) {
        pending.done(gone);
      } else {
        batch.push_back(std::move(pending));
      }
    }
    return batch;
  }

  /// Puts a job that lost a conflict with another writer first in line for the next batch.
  void retry(Pending pending) {
    ++pending.retries;
    std::lock_guard lock(mutex_);
    queue_.insert(queue_.begin(), std::move(pending));
  }

  /// After a batch: `committed` jobs (0 when it failed) kept the writer `busy`. True when more
  /// writes wait and the writer must go on; false when it is idle again.
  bool finished(size_t committed, std::chrono::steady_clock::duration busy) {
    std::lock_guard lock(mutex_);
    if (committed > 0) budget_.committed(committed, busy);
    draining_ = !queue_.empty();
    return draining_;
  }

  size_t size() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  const Limits limits_;
  mutable std::mutex mutex_;
  std::vector<Pending> queue_;
  bool draining_ = false;  // the writer is started or running
  WriteBudget budget_;
};

}  // namespace aexd::store
