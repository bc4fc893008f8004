// The storage interface: typed operations on the stored resources, write jobs that share one
// transaction per batch (group commit), and reads. The pipeline and api see only this; store/sqlite
// implements it. Every operation returns a status (a storage failure is INTERNAL or UNAVAILABLE);
// a row that is absent is not an error (nullopt or null). Nothing here throws.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/types.h"
#include "model/lease.h"
#include "model/snapshot.h"
#include "store/list_query.h"

namespace aexd::store {

/// An execution create remembered under the client's idempotency key.
struct IdempotencyKey {
  std::string key;
  std::string fingerprint;  // of the create request (domain/idempotency.h)
  std::string execution_id;
  int64_t created_ms = 0;  // Unix time in milliseconds
};

using Lease = model::Lease;
using LiveExecution = model::LiveExecution;

/// Reads of one connection (or of the write transaction, which sees its own writes).
class Reader {
 public:
  virtual grpc::Status find(std::string_view id, std::optional<Agent>& out) = 0;
  virtual grpc::Status find(std::string_view id, std::optional<AgentInstance>& out) = 0;
  virtual grpc::Status find(std::string_view id, std::optional<Session>& out) = 0;
  virtual grpc::Status find(std::string_view id, std::optional<Execution>& out) = 0;
  /// The stored execution as its row holds it, without decoding; null when absent.
  virtual grpc::Status find_snapshot(std::string_view id, model::SnapshotPtr& out) = 0;

  /// Id of the agent (instance) holding `slug` in (owner_scope, org) of `scope`, or empty.
  virtual grpc::Status agent_by_slug(const res::ApiResourceMetadata& scope, std::string_view slug, std::string& id) = 0;
  virtual grpc::Status instance_by_slug(const res::ApiResourceMetadata& scope, std::string_view slug,
                                        std::string& id) = 0;
  /// As above in every org of `scope` (the platform and identity_account scopes do not belong to an
  /// org, but rows keep the org their client sent): the oldest holder, or empty.
  virtual grpc::Status agent_by_slug_in_any_org(res::ApiResourceOwnerScope scope, std::string_view slug,
                                                std::string& id) = 0;
  virtual grpc::Status instance_by_slug_in_any_org(res::ApiResourceOwnerScope scope, std::string_view slug,
                                                   std::string& id) = 0;

  virtual grpc::Status count_sessions_of_agent(std::string_view agent_id, int64_t& n) = 0;
  virtual grpc::Status count_sessions_of_instance(std::string_view instance_id, int64_t& n) = 0;
  /// Every instance of an agent, newest first.
  virtual grpc::Status instances_of_agent(std::string_view agent_id, std::vector<AgentInstance>& out) = 0;
  virtual grpc::Status executions_of_session(std::string_view session_id, std::vector<Execution>& out) = 0;

  /// One page and the filter's total, read consistently with each other.
  virtual grpc::Status list(const ListQuery<ExecutionFilter>& query, ListPage<Execution>& out) = 0;
  virtual grpc::Status list(const ListQuery<SessionFilter>& query, ListPage<Session>& out) = 0;

  /// The key as stored, however old; null when absent.
  virtual grpc::Status find_idempotency_key(std::string_view key, std::optional<IdempotencyKey>& out) = 0;

  virtual grpc::Status find_lease(std::string_view execution_id, std::optional<Lease>& out) = 0;
  /// What dispatch needs at start-up: every started unfinished execution, every held one, and the
  /// oldest `pending_limit` PENDING ones that no lease holds (oldest first). Reads index ranges only.
  virtual grpc::Status live_executions(int pending_limit, std::vector<LiveExecution>& out) = 0;
  /// The oldest `limit` PENDING executions that no lease holds, of `agent_ids` (empty: any agent).
  virtual grpc::Status unheld_pending(const std::vector<std::string>& agent_ids, int limit,
                                      std::vector<LiveExecution>& out) = 0;

  /// Terminal executions whose terminal phase committed at or before `before_ms` (Unix ms), oldest
  /// first, at most `limit`; and when the oldest ended (nullopt: none has). Index ranges only.
  virtual grpc::Status ended_before(int64_t before_ms, int limit, std::vector<std::string>& ids) = 0;
  virtual grpc::Status oldest_ended(std::optional<int64_t>& ms) = 0;

 protected:
  ~Reader() = default;
};

/// A write job's view of its batch transaction. Writes of executions take the snapshot the
/// caller encoded (the row stores those bytes) and announce it to the commit listener once the
/// batch commits. A slug that another row holds is ALREADY_EXISTS, by the database's constraint:
/// a backend shared by several processes cannot rely on a check made before the write. `replace`
/// and `remove` name the row as it was read in this transaction (`before`).
class Tx : public Reader {
 public:
  virtual grpc::Status insert(const Agent& r) = 0;
  virtual grpc::Status insert(const AgentInstance& r) = 0;
  virtual grpc::Status insert(const Session& r) = 0;
  virtual grpc::Status insert(const Execution& r, model::SnapshotPtr encoded) = 0;

  virtual grpc::Status replace(const Agent& now, const Agent& before) = 0;
  virtual grpc::Status replace(const AgentInstance& now, const AgentInstance& before) = 0;
  virtual grpc::Status replace(const Session& now, const Session& before) = 0;
  virtual grpc::Status replace(const Execution& now, const Execution& before, model::SnapshotPtr encoded) = 0;
  /// A status write: spec and metadata other than the revision are unchanged; the phase was `before`.
  virtual grpc::Status replace_status(const Execution& now, Phase before, model::SnapshotPtr encoded) = 0;

  virtual grpc::Status remove(const Agent& before) = 0;
  virtual grpc::Status remove(const AgentInstance& before) = 0;
  virtual grpc::Status remove(const Session& before) = 0;
  virtual grpc::Status remove(const Execution& before) = 0;

  /// ALREADY_EXISTS when the key is held, by the database's constraint: the insert, not a lookup
  /// before it, decides which of two concurrent creates (maybe in two processes) owns the key.
  virtual grpc::Status insert(const IdempotencyKey& key) = 0;
  virtual grpc::Status remove_idempotency_key(std::string_view key) = 0;
  /// Removes at most `limit` keys created before `before_ms`, oldest first (bounded: it runs on
  /// the hot path of creates, walking the created-time index).
  virtual grpc::Status remove_idempotency_keys_before(int64_t before_ms, int limit) = 0;

  /// Inserts or replaces the execution's lease row.
  virtual grpc::Status put(const Lease& lease) = 0;

 protected:
  ~Tx() = default;
};

/// Told of each batch transaction the storage commits, on its writer right after the commit (for
/// metrics): how many jobs it held and how long it took from BEGIN to durable COMMIT. Must not block.
class CommitStats {
 public:
  virtual void batch_committed(size_t jobs, std::chrono::steady_clock::duration elapsed) = 0;

 protected:
  ~CommitStats() = default;
};

class Storage {
 public:
  /// Runs inside the batch transaction on the storage's writer; must not block on anything but it.
  /// A job that does not return OK is rolled back alone; the rest of its batch still commits.
  using Job = std::function<grpc::Status(Tx&)>;
  using Read = std::function<grpc::Status(Reader&)>;
  /// The job's (or read's) outcome: its own status, or why its batch did not commit.
  using Done = std::function<void(const grpc::Status&)>;
  /// Whether the job's caller will still wait for it when its batch is expected to have committed
  /// (`committed_by`): OK, or why not (CANCELLED, DEADLINE_EXCEEDED). Asked on the writer when the
  /// job is taken into a batch; must not block.
  using Wanted = std::function<grpc::Status(std::chrono::system_clock::time_point committed_by)>;

  virtual ~Storage() = default;

  /// Thread-safe; never runs `job` on the caller's thread. `done` runs once the job's batch is
  /// durable and the commit listener has seen it; or at once with RESOURCE_EXHAUSTED when the
  /// queue ahead of it is too long; or without running `job` with what `wanted` answered when its
  /// caller has left, or will have before its batch commits (an empty `wanted`: always wanted).
  virtual void write(Job job, Done done, Wanted wanted) = 0;
  /// A write that nobody can abandon (the server's own: dispatch, retention).
  void write(Job job, Done done) { write(std::move(job), std::move(done), {}); }
  /// Thread-safe; runs `read` on a reader connection off the caller's thread, then `done`.
  virtual void read(Read read, Done done) = 0;
  /// Writes waiting for their batch right now.
  virtual size_t queued_writes() const = 0;
  /// Stops what the storage waits for on its own (another process's changes), so that its executor
  /// can run out of work; queued writes still commit. Thread-safe.
  virtual void stop() = 0;
};

}  // namespace aexd::store
