// Leases (API.md, "Dispatch"), and the storage side of dispatch as the dispatcher sees it: each of
// its decisions becomes durable through a LeaseStore, which pipeline/dispatch.h implements as write
// jobs that re-check the stored state.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "domain/types.h"

namespace aexd::model {

/// Who runs an execution. The row outlives a lapsed or released lease, unheld (empty lease_id),
/// so the next assignment knows its attempt; it ends with its execution: a terminal phase or a
/// delete removes it.
struct Lease {
  std::string execution_id;
  std::string lease_id;  // empty: unheld, waiting for its next assignment
  std::string runner_id;
  int attempt = 0;          // assignments so far
  int64_t lease_ms = 0;     // how long the lease lasts without a push
  int64_t assigned_ms = 0;  // Unix time in milliseconds
  bool held() const { return !lease_id.empty(); }
};

/// An unfinished execution as dispatch rebuilds it at start-up.
struct LiveExecution {
  std::string id;
  std::string agent_id;
  Phase phase = exv1::EXECUTION_PHASE_UNSPECIFIED;
  int64_t updated_ms = 0;  // its status's last change, Unix time in milliseconds
  std::optional<Lease> lease;
};

/// What a write about a lease did to it.
enum class LeaseOutcome {
  unchanged,  // not due, or no longer this lease's business
  unheld,     // back in the queue, to be offered again
  ended,      // the execution ended (FAILED)
};

/// The dispatcher's writes and its start-up read. Thread-safe; every callback runs once, on the
/// storage's threads, after the write is durable (or failed).
class LeaseStore {
 public:
  using Outcome = std::function<void(const grpc::Status&, LeaseOutcome)>;

  /// Started unfinished executions, held ones, and the oldest `pending_limit` unheld PENDING ones.
  virtual void live(int pending_limit, std::function<void(const grpc::Status&, std::vector<LiveExecution>)> done) = 0;
  /// The oldest `limit` unheld PENDING executions of `agent_ids` (empty: any agent).
  virtual void pending(const std::vector<std::string>& agent_ids, int limit,
                       std::function<void(const grpc::Status&, std::vector<LiveExecution>)> done) = 0;
  /// Holds a PENDING, unheld execution for `runner_id`.
  virtual void assign(const std::string& id, const std::string& runner_id, std::chrono::milliseconds lease,
                      std::function<void(const grpc::Status&, const Lease&, const Execution&)> done) = 0;
  /// `lease_id`'s lease may be due: no push for its length.
  virtual void lapse(const std::string& id, const std::string& lease_id, int max_attempts, Outcome done) = 0;
  /// The stream of the runner holding `lease_id` ended.
  virtual void abandon(const std::string& id, const std::string& lease_id, int max_attempts, Outcome done) = 0;
  /// The execution may have stalled: IN_PROGRESS and no push for `timeout`.
  virtual void stall(const std::string& id, std::chrono::milliseconds timeout, Outcome done) = 0;
  /// The runner hands back an execution it has not started.
  virtual void release(const std::string& id, const std::string& lease_id,
                       std::function<void(const grpc::Status&)> done) = 0;

 protected:
  ~LeaseStore() = default;
};

}  // namespace aexd::model
