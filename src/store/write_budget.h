// WriteBudget: the writer's commit rate, learnt from the batches it committed, and whether a write
// queued behind others would wait longer than a latency budget at that rate. Not thread-safe: the
// write strand keeps it under its queue's mutex (write_queue.h).
#pragma once

#include <chrono>
#include <cstddef>

namespace aexd::store {

class WriteBudget {
 public:
  /// A zero budget admits every write (only the queue's hard cap sheds).
  explicit WriteBudget(std::chrono::milliseconds budget) : budget_(budget) {}

  /// A batch of `jobs` took the writer `busy` (from taking it off the queue until its callers were told).
  void committed(size_t jobs, std::chrono::steady_clock::duration busy) {
    const double seconds = std::chrono::duration<double>(busy).count();
    if (jobs == 0 || seconds <= 0) return;
    const double rate = static_cast<double>(jobs) / seconds;
    // An average weighted by jobs: a busy writer's full batches decide the rate, not the many
    // one-job batches of a quiet one, whose commit cost is not shared.
    const double weight = static_cast<double>(jobs) / (static_cast<double>(jobs) + kJobsPerHalfWeight);
    jobs_per_second_ = jobs_per_second_ == 0 ? rate : jobs_per_second_ + weight * (rate - jobs_per_second_);
  }

  /// Whether a write behind `queued` others would commit within the budget. Before the first
  /// commit the rate is unknown, and every write is admitted.
  bool admits(size_t queued) const {
    if (budget_.count() == 0 || jobs_per_second_ == 0) return true;
    return static_cast<double>(queued) <= jobs_per_second_ * std::chrono::duration<double>(budget_).count();
  }

  /// The learnt rate (0: nothing committed yet).
  double jobs_per_second() const { return jobs_per_second_; }

 private:
  static constexpr double kJobsPerHalfWeight = 512;  // a batch this large moves the rate half-way

  const std::chrono::milliseconds budget_;
  double jobs_per_second_ = 0;
};

}  // namespace aexd::store
