#include "pipeline/dispatch.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "domain/audit.h"
#include "domain/errors.h"
#include "domain/status.h"
#include "pipeline/create_execution.h"

namespace aexd::pipeline {
namespace {

using google::protobuf::util::TimeUtil;

int64_t now_ms() { return TimeUtil::TimestampToMilliseconds(now()); }

std::string seconds(int64_t ms) { return std::to_string((ms + 999) / 1000) + " s"; }

bool is_started(Phase phase) { return phase != exv1::EXECUTION_PENDING && !is_terminal(phase); }

grpc::Status fail(store::Tx& tx, Execution& execution, const std::string& error) {
  const Phase before = execution.status().phase();
  const auto at = now();
  end_status(*execution.mutable_status(), exv1::EXECUTION_FAILED, error, at);
  model::SnapshotPtr stored;
  return store_status(tx, execution, before, at, stored);
}

/// The execution and its lease, when `lease_id` still holds it.
grpc::Status held_by(store::Tx& tx, std::string_view execution_id, std::string_view lease_id,
                     std::optional<Execution>& execution, std::optional<store::Lease>& lease) {
  if (auto s = tx.find_lease(execution_id, lease); !s.ok()) return s;
  if (!lease || lease->lease_id != lease_id) {
    lease.reset();
    return grpc::Status::OK;
  }
  return tx.find(execution_id, execution);
}

/// An unstarted execution goes back to the queue, unless it has had its attempts.
grpc::Status unhold_or_fail(store::Tx& tx, Execution& execution, store::Lease& lease, int max_attempts,
                            LeaseOutcome& outcome) {
  if (lease.attempt >= max_attempts) {
    outcome = LeaseOutcome::ended;
    return fail(tx, execution,
                "no runner started it after " + std::to_string(lease.attempt) +
                    (lease.attempt == 1 ? " attempt" : " attempts"));
  }
  lease.lease_id.clear();
  outcome = LeaseOutcome::unheld;
  return tx.put(lease);
}

}  // namespace

int64_t last_status_change_ms(const Execution& execution) {
  return TimeUtil::TimestampToMilliseconds(execution.status().audit().status_audit().updated_at());
}

grpc::Status assign(store::Tx& tx, std::string_view execution_id, const std::string& runner_id,
                    std::chrono::milliseconds lease_length, store::Lease& lease, Execution& out) {
  std::optional<Execution> execution;
  std::optional<store::Lease> stored;
  if (auto s = tx.find(execution_id, execution); !s.ok()) return s;
  if (!execution) return errors::not_found("AgentExecution", execution_id);
  if (execution->status().phase() != exv1::EXECUTION_PENDING)
    return errors::failed_precondition("execution " + errors::excerpt(execution_id) + " is no longer PENDING");
  if (auto s = tx.find_lease(execution_id, stored); !s.ok()) return s;
  if (stored && stored->held())
    return errors::failed_precondition("execution " + errors::excerpt(execution_id) + " is held by runner " +
                                       errors::excerpt(stored->runner_id));
  lease = store::Lease{std::string(execution_id), new_id("lse"), runner_id, (stored ? stored->attempt : 0) + 1,
                       lease_length.count(), now_ms()};
  if (auto s = tx.put(lease); !s.ok()) return s;
  out = std::move(*execution);
  return grpc::Status::OK;
}

grpc::Status lapse(store::Tx& tx, std::string_view execution_id, std::string_view lease_id, int max_attempts,
                   LeaseOutcome& outcome) {
  outcome = LeaseOutcome::unchanged;
  std::optional<Execution> execution;
  std::optional<store::Lease> lease;
  if (auto s = held_by(tx, execution_id, lease_id, execution, lease); !s.ok() || !execution) return s;
  const Phase phase = execution->status().phase();
  const int64_t last = std::max(lease->assigned_ms, last_status_change_ms(*execution));
  if (clocks_stopped(phase) || last + lease->lease_ms > now_ms()) return grpc::Status::OK;
  if (!is_started(phase)) return unhold_or_fail(tx, *execution, *lease, max_attempts, outcome);
  outcome = LeaseOutcome::ended;
  return fail(tx, *execution, "runner lost: no status update for " + seconds(lease->lease_ms));
}

grpc::Status abandon(store::Tx& tx, std::string_view execution_id, std::string_view lease_id, int max_attempts,
                     LeaseOutcome& outcome) {
  outcome = LeaseOutcome::unchanged;
  std::optional<Execution> execution;
  std::optional<store::Lease> lease;
  if (auto s = held_by(tx, execution_id, lease_id, execution, lease); !s.ok() || !execution) return s;
  if (execution->status().phase() != exv1::EXECUTION_PENDING) return grpc::Status::OK;
  return unhold_or_fail(tx, *execution, *lease, max_attempts, outcome);
}

grpc::Status release(store::Tx& tx, std::string_view execution_id, std::string_view lease_id) {
  if (execution_id.empty()) return errors::invalid("execution_id", "is required");
  if (lease_id.empty()) return errors::invalid("lease_id", "is required");
  std::optional<Execution> execution;
  std::optional<store::Lease> lease;
  if (auto s = held_by(tx, execution_id, lease_id, execution, lease); !s.ok()) return s;
  if (!execution) {
    if (auto s = tx.find(execution_id, execution); !s.ok()) return s;
    if (!execution) return errors::not_found("AgentExecution", execution_id);
    return errors::failed_precondition("lease " + errors::excerpt(lease_id) + " does not hold execution " +
                                       errors::excerpt(execution_id));
  }
  if (execution->status().phase() != exv1::EXECUTION_PENDING)
    return errors::failed_precondition("execution " + errors::excerpt(execution_id) + " has started (" +
                                       exv1::ExecutionPhase_Name(execution->status().phase()) +
                                       "); only an unstarted execution can be released");
  lease->lease_id.clear();
  return tx.put(*lease);
}

grpc::Status stall(store::Tx& tx, std::string_view execution_id, std::chrono::milliseconds timeout,
                   LeaseOutcome& outcome) {
  outcome = LeaseOutcome::unchanged;
  std::optional<Execution> execution;
  if (auto s = tx.find(execution_id, execution); !s.ok() || !execution) return s;
  if (execution->status().phase() != exv1::EXECUTION_IN_PROGRESS) return grpc::Status::OK;
  if (last_status_change_ms(*execution) + timeout.count() > now_ms()) return grpc::Status::OK;
  outcome = LeaseOutcome::ended;
  return fail(tx, *execution, "stalled: no status update for " + seconds(timeout.count()));
}

void StoredLeases::live(int pending_limit,
                        std::function<void(const grpc::Status&, std::vector<model::LiveExecution>)> done) {
  auto out = std::make_shared<std::vector<model::LiveExecution>>();
  storage_.read([pending_limit, out](store::Reader& reader) { return reader.live_executions(pending_limit, *out); },
                [out, done = std::move(done)](const grpc::Status& status) { done(status, std::move(*out)); });
}

void StoredLeases::pending(const std::vector<std::string>& agent_ids, int limit,
                           std::function<void(const grpc::Status&, std::vector<model::LiveExecution>)> done) {
  auto out = std::make_shared<std::vector<model::LiveExecution>>();
  storage_.read([agent_ids, limit, out](store::Reader& reader) { return reader.unheld_pending(agent_ids, limit, *out); },
                [out, done = std::move(done)](const grpc::Status& status) { done(status, std::move(*out)); });
}

void StoredLeases::assign(const std::string& id, const std::string& runner_id, std::chrono::milliseconds lease,
                          std::function<void(const grpc::Status&, const model::Lease&, const Execution&)> done) {
  struct Assigned {
    store::Lease lease;
    Execution execution;
  };
  auto out = std::make_shared<Assigned>();
  storage_.write(
      [id, runner_id, lease, out](store::Tx& tx) {
        return pipeline::assign(tx, id, runner_id, lease, out->lease, out->execution);
      },
      [out, done = std::move(done)](const grpc::Status& status) { done(status, out->lease, out->execution); });
}

void StoredLeases::outcome_write(std::function<grpc::Status(store::Tx&, LeaseOutcome&)> work, Outcome done) {
  auto outcome = std::make_shared<LeaseOutcome>(LeaseOutcome::unchanged);
  storage_.write([outcome, work = std::move(work)](store::Tx& tx) { return work(tx, *outcome); },
                 [outcome, done = std::move(done)](const grpc::Status& status) { done(status, *outcome); });
}

void StoredLeases::lapse(const std::string& id, const std::string& lease_id, int max_attempts, Outcome done) {
  outcome_write([=](store::Tx& tx, LeaseOutcome& outcome) { return pipeline::lapse(tx, id, lease_id, max_attempts, outcome); },
                std::move(done));
}

void StoredLeases::abandon(const std::string& id, const std::string& lease_id, int max_attempts, Outcome done) {
  outcome_write(
      [=](store::Tx& tx, LeaseOutcome& outcome) { return pipeline::abandon(tx, id, lease_id, max_attempts, outcome); },
      std::move(done));
}

void StoredLeases::stall(const std::string& id, std::chrono::milliseconds timeout, Outcome done) {
  outcome_write([=](store::Tx& tx, LeaseOutcome& outcome) { return pipeline::stall(tx, id, timeout, outcome); },
                std::move(done));
}

void StoredLeases::release(const std::string& id, const std::string& lease_id,
                           std::function<void(const grpc::Status&)> done) {
  storage_.write([id, lease_id](store::Tx& tx) { return pipeline::release(tx, id, lease_id); }, std::move(done));
}

}  // namespace aexd::pipeline
