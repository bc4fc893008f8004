// The storage interface on one PostgreSQL connection, with every postgres::Error turned into a
// status here, so none leaves store/postgres. In a write transaction every row read is locked
// (FOR UPDATE) until the commit: a job's read-modify-write then holds against writers in other
// processes. Used on the connection's thread only (the writer, or the reader holding it).
#pragma once

#include <utility>
#include <vector>

#include "model/commit_listener.h"
#include "store/postgres/connection.h"
#include "store/storage.h"

namespace aexd::store::postgres {

class Operations final : public Tx {
 public:
  /// `changes` collects what execution writes announce; null for a reader, whose writes fail.
  Operations(Connection& db, std::vector<model::ExecutionChange>* changes) : db_(db), changes_(changes) {}

  grpc::Status find(std::string_view id, std::optional<Agent>& out) override;
  grpc::Status find(std::string_view id, std::optional<AgentInstance>& out) override;
  grpc::Status find(std::string_view id, std::optional<Session>& out) override;
  grpc::Status find(std::string_view id, std::optional<Execution>& out) override;
  grpc::Status find_snapshot(std::string_view id, model::SnapshotPtr& out) override;
  grpc::Status agent_by_slug(const res::ApiResourceMetadata& scope, std::string_view slug, std::string& id) override;
  grpc::Status instance_by_slug(const res::ApiResourceMetadata& scope, std::string_view slug, std::string& id) override;
  grpc::Status agent_by_slug_in_any_org(res::ApiResourceOwnerScope scope, std::string_view slug,
                                        std::string& id) override;
  grpc::Status instance_by_slug_in_any_org(res::ApiResourceOwnerScope scope, std::string_view slug,
                                           std::string& id) override;
  grpc::Status count_sessions_of_agent(std::string_view agent_id, int64_t& n) override;
  grpc::Status count_sessions_of_instance(std::string_view instance_id, int64_t& n) override;
  grpc::Status instances_of_agent(std::string_view agent_id, std::vector<AgentInstance>& out) override;
  grpc::Status executions_of_session(std::string_view session_id, std::vector<Execution>& out) override;
  grpc::Status list(const ListQuery<ExecutionFilter>& query, ListPage<Execution>& out) override;
  grpc::Status list(const ListQuery<SessionFilter>& query, ListPage<Session>& out) override;
  grpc::Status find_idempotency_key(std::string_view key, std::optional<IdempotencyKey>& out) override;
  grpc::Status find_lease(std::string_view execution_id, std::optional<Lease>& out) override;
  grpc::Status live_executions(int pending_limit, std::vector<LiveExecution>& out) override;
  grpc::Status unheld_pending(const std::vector<std::string>& agent_ids, int limit,
                              std::vector<LiveExecution>& out) override;
  grpc::Status ended_before(int64_t before_ms, int limit, std::vector<std::string>& ids) override;
  grpc::Status oldest_ended(std::optional<int64_t>& ms) override;

  grpc::Status insert(const Agent& r) override;
  grpc::Status insert(const AgentInstance& r) override;
  grpc::Status insert(const Session& r) override;
  grpc::Status insert(const Execution& r, model::SnapshotPtr encoded) override;
  grpc::Status replace(const Agent& now, const Agent& before) override;
  grpc::Status replace(const AgentInstance& now, const AgentInstance& before) override;
  grpc::Status replace(const Session& now, const Session& before) override;
  grpc::Status replace(const Execution& now, const Execution& before, model::SnapshotPtr encoded) override;
  grpc::Status replace_status(const Execution& now, Phase before, model::SnapshotPtr encoded) override;
  grpc::Status remove(const Agent& before) override;
  grpc::Status remove(const AgentInstance& before) override;
  grpc::Status remove(const Session& before) override;
  grpc::Status remove(const Execution& before) override;
  grpc::Status insert(const IdempotencyKey& key) override;
  grpc::Status remove_idempotency_key(std::string_view key) override;
  grpc::Status remove_idempotency_keys_before(int64_t before_ms, int limit) override;
  grpc::Status put(const Lease& lease) override;

  /// Whether a statement since the last call failed on a conflict with another transaction (a
  /// deadlock, a serialization failure, a lock wait past lock_timeout): the job is worth running
  /// again in a later transaction.
  bool take_conflict() { return std::exchange(conflicted_, false); }

 private:
  template <class T>
  grpc::Status write(const T& resource, auto&& change);
  grpc::Status write(auto&& change);
  template <class F>
  grpc::Status guarded(F f);
  grpc::Status failed(const std::exception& e);
  template <class T>
  std::optional<T> load(std::string_view id);
  void announce(std::string id, model::SnapshotPtr snapshot);

  Connection& db_;
  std::vector<model::ExecutionChange>* changes_;
  bool conflicted_ = false;
};

/// A storage failure as the status a caller gets, `context` and the cause leading its message:
/// UNAVAILABLE for a lost connection or a conflict with another writer (retrying may work),
/// RESOURCE_EXHAUSTED for a full disk or too many connections, FAILED_PRECONDITION for a read-only
/// or refusing server.
grpc::Status status_of(const std::exception& e, std::string_view context = "storage error");

}  // namespace aexd::store::postgres
