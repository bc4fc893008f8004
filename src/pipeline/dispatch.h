// The writes of dispatch (API.md, "Dispatch"): assigning an execution to a runner, and what happens
// when its lease lapses, its runner's stream ends, the runner releases it, or it stalls. Each runs
// inside a write job (store::Tx) and re-checks the stored state first, so a deadline that fires
// late, twice or after a restart changes nothing unless it is still due. StoredLeases hands them to
// the dispatcher as its model::LeaseStore.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/types.h"
#include "model/lease.h"
#include "store/storage.h"

namespace aexd::pipeline {

using model::LeaseOutcome;

/// Holds a PENDING, unheld execution for `runner_id`: writes its lease (the next attempt) and
/// returns it with the execution. FAILED_PRECONDITION when it is no longer PENDING or is held.
grpc::Status assign(store::Tx& tx, std::string_view execution_id, const std::string& runner_id,
                    std::chrono::milliseconds lease_length, store::Lease& lease, Execution& out);

/// `lease_id`'s lease is due: no push for its length since it was assigned. An unstarted execution
/// is unheld, or FAILED once `max_attempts` assignments were made; a started one is FAILED "runner
/// lost". Unchanged when a push renewed the lease, it is paused or waiting, or another lease holds it.
grpc::Status lapse(store::Tx& tx, std::string_view execution_id, std::string_view lease_id, int max_attempts,
                   LeaseOutcome& outcome);

/// The stream of the runner holding `lease_id` ended: an execution it has not started is unheld at
/// once (or FAILED after `max_attempts`); a started one keeps its lease until the lease lapses.
grpc::Status abandon(store::Tx& tx, std::string_view execution_id, std::string_view lease_id, int max_attempts,
                     LeaseOutcome& outcome);

/// The runner hands back an execution it has not started: unheld. NOT_FOUND for an unknown
/// execution; FAILED_PRECONDITION when `lease_id` does not hold it or it has started.
grpc::Status release(store::Tx& tx, std::string_view execution_id, std::string_view lease_id);

/// An IN_PROGRESS execution with no status change for `timeout` ends FAILED "stalled".
grpc::Status stall(store::Tx& tx, std::string_view execution_id, std::chrono::milliseconds timeout,
                   LeaseOutcome& outcome);

/// Unix time in milliseconds of the execution's last status change.
int64_t last_status_change_ms(const Execution& execution);

/// The functions above as write jobs (and live_executions as a read) of `storage`. Thread-safe.
class StoredLeases final : public model::LeaseStore {
 public:
  explicit StoredLeases(store::Storage& storage) : storage_(storage) {}

  void live(int pending_limit, std::function<void(const grpc::Status&, std::vector<model::LiveExecution>)> done) override;
  void pending(const std::vector<std::string>& agent_ids, int limit,
               std::function<void(const grpc::Status&, std::vector<model::LiveExecution>)> done) override;
  void assign(const std::string& id, const std::string& runner_id, std::chrono::milliseconds lease,
              std::function<void(const grpc::Status&, const model::Lease&, const Execution&)> done) override;
  void lapse(const std::string& id, const std::string& lease_id, int max_attempts, Outcome done) override;
  void abandon(const std::string& id, const std::string& lease_id, int max_attempts, Outcome done) override;
  void stall(const std::string& id, std::chrono::milliseconds timeout, Outcome done) override;
  void release(const std::string& id, const std::string& lease_id,
               std::function<void(const grpc::Status&)> done) override;

 private:
  /// Runs `work(tx, outcome)` as a write job and tells `done` the outcome once it is durable.
  void outcome_write(std::function<grpc::Status(store::Tx&, LeaseOutcome&)> work, Outcome done);

  store::Storage& storage_;
};

}  // namespace aexd::pipeline
