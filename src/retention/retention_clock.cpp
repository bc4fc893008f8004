#include "retention/retention_clock.h"

#include <algorithm>
#include <utility>

namespace aexd::retention {
namespace {

using namespace std::chrono;

int64_t now_ms() { return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(); }

/// How long to wait before trying again after a batch that did not commit (a full write queue, a
/// storage error): not at once, which could spin.
constexpr int64_t kRetryMs = 1000;

}  // namespace

RetentionClock::RetentionClock(Settings settings, boost::asio::any_io_executor executor)
    : settings_(settings), timer_(executor) {}

void RetentionClock::start(model::RetentionStore& store) {
  if (settings_.retain.count() <= 0) return;
  {
    std::lock_guard lock(mutex_);
    store_ = &store;
    if (!claim_batch()) return;
  }
  run_batch();
}

void RetentionClock::committed(const std::vector<model::ExecutionChange>& changes) {
  if (settings_.retain.count() <= 0) return;
  if (std::none_of(changes.begin(), changes.end(), [](const auto& c) { return c.snapshot && c.snapshot->terminal; }))
    return;
  const int64_t ended = now_ms();
  std::lock_guard lock(mutex_);
  if (closed_ || !store_) return;  // before start: the first batch reads what this commit wrote
  if (running_) {
    // The batch may have read the index before this commit: remember it for when the batch is done.
    if (ended_meanwhile_ == 0) ended_meanwhile_ = ended;
    return;
  }
  // Anything armed is for an execution that ended earlier, so it comes first.
  if (armed_at_ == 0) arm(ended + settings_.retain.count());
}

void RetentionClock::shutdown() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  timer_.cancel();
}

void RetentionClock::arm(int64_t due_ms) {
  armed_at_ = due_ms;
  timer_.expires_at(system_clock::time_point(milliseconds(due_ms)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_timer();
  });
}

bool RetentionClock::claim_batch() {
  if (closed_ || running_) return false;
  running_ = true;
  return true;
}

void RetentionClock::run_batch() {
  store_->remove_ended(
      settings_.retain, settings_.batch,
      [this](const grpc::Status& status, const model::RetentionBatch& batch) { on_batch(status, batch); });
}

void RetentionClock::on_timer() {
  {
    std::lock_guard lock(mutex_);
    armed_at_ = 0;
    if (!claim_batch()) return;
  }
  run_batch();
}

void RetentionClock::on_batch(const grpc::Status& status, const model::RetentionBatch& batch) {
  {
    std::lock_guard lock(mutex_);
    running_ = false;
    if (closed_) return;
    const int64_t meanwhile = std::exchange(ended_meanwhile_, 0);
    if (!status.ok()) return arm(now_ms() + kRetryMs);
    // A full batch may have left more that has expired: the next one queues behind other writes.
    if (batch.removed < settings_.batch) {
      int64_t due = meanwhile ? meanwhile + settings_.retain.count() : 0;
      if (batch.oldest_ended_ms) {
        const int64_t oldest = *batch.oldest_ended_ms + settings_.retain.count();
        due = due ? std::min(due, oldest) : oldest;
      }
      if (due) arm(due);
      return;
    }
    running_ = true;
  }
  run_batch();
}

}  // namespace aexd::retention
