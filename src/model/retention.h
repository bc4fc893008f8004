// Retention (--retain-terminal) as the retention clock sees storage: one write job deletes a small
// batch of executions whose terminal phase committed long enough ago. pipeline/retention.h
// implements it; the clock includes nothing of store/.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

namespace aexd::model {

/// What one batch did, and what it left for the next.
struct RetentionBatch {
  int removed = 0;
  std::optional<int64_t> oldest_ended_ms;  // the oldest terminal execution left (Unix ms); nullopt: none
};

/// Thread-safe; `done` runs once, on the storage's threads, after the batch is durable (or failed).
class RetentionStore {
 public:
  using Done = std::function<void(const grpc::Status&, const RetentionBatch&)>;

  /// Deletes, as the delete call does, at most `limit` executions that ended more than `retain`
  /// ago by the writer's clock when the job runs, oldest first, in one write job.
  virtual void remove_ended(std::chrono::milliseconds retain, int limit, Done done) = 0;

 protected:
  ~RetentionStore() = default;
};

}  // namespace aexd::model
