#include "store/sqlite/operations.h"

#include <google/protobuf/util/time_util.h>

#include <cerrno>
#include <unordered_map>

#include "domain/errors.h"
#include "domain/resources.h"
#include "store/sqlite/lists.h"
#include "store/sqlite/rows.h"

namespace aexd::store::sqlite {
namespace {

template <class F>
grpc::Status guarded(F f) {
  try {
    f();
    return grpc::Status::OK;
  } catch (const std::exception& e) {
    return status_of(e);
  }
}

constexpr const char* kLeaseColumns = "execution_id, lease_id, runner_id, attempt, lease_ms, assigned_ms";

Lease lease_of(const Query& q) {
  return Lease{std::string(q.text(0)), std::string(q.text(1)), std::string(q.text(2)), static_cast<int>(q.integer(3)),
               q.integer(4), q.integer(5)};
}

/// Columns id, agent_id, phase, body of an execution row.
LiveExecution live_of(const Query& q) {
  const auto id = q.text(0);
  const auto execution = parse<Execution>(id, q.blob(3));
  const auto& updated = execution.status().audit().status_audit().updated_at();
  return LiveExecution{std::string(id), std::string(q.text(1)), static_cast<Phase>(q.integer(2)),
                       google::protobuf::util::TimeUtil::TimestampToMilliseconds(updated), std::nullopt};
}

struct Cause {
  grpc::StatusCode code;
  const char* name;  // leads the message; empty for a failure that is a bug, not a condition
};

// RESOURCE_EXHAUSTED: retry once something is freed; FAILED_PRECONDITION: not until an operator
// fixes the storage; UNAVAILABLE: retrying the call may work; DATA_LOSS: the file is damaged.
constexpr Cause kDiskFull{grpc::StatusCode::RESOURCE_EXHAUSTED, "disk full"};
constexpr Cause kOutOfMemory{grpc::StatusCode::RESOURCE_EXHAUSTED, "out of memory"};
constexpr Cause kReadOnly{grpc::StatusCode::FAILED_PRECONDITION, "read-only storage"};
constexpr Cause kAccessDenied{grpc::StatusCode::FAILED_PRECONDITION, "storage access denied"};

/// An I/O failure by the errno behind it (read only for I/O codes: SQLite keeps the last one it saw).
Cause io_cause(int system_errno, Cause otherwise) {
  switch (system_errno) {
    case ENOSPC:
    case EDQUOT:
      return kDiskFull;
    case ENOMEM:
      return kOutOfMemory;
    case EMFILE:
    case ENFILE:
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, "out of file descriptors"};
    case EROFS:
      return kReadOnly;
    case EACCES:
    case EPERM:
      return kAccessDenied;
    default:
      return otherwise;
  }
}

Cause cause_of(int code, int system_errno) {
  switch (code & 0xff) {
    case SQLITE_FULL:
      return kDiskFull;
    case SQLITE_NOMEM:
      return kOutOfMemory;
    case SQLITE_READONLY:
      return kReadOnly;
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return kAccessDenied;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return {grpc::StatusCode::UNAVAILABLE, "database locked"};
    case SQLITE_PROTOCOL:
      return {grpc::StatusCode::UNAVAILABLE, "database lock protocol failed"};
    case SQLITE_IOERR:
      return code == SQLITE_IOERR_NOMEM ? kOutOfMemory
                                        : io_cause(system_errno, {grpc::StatusCode::UNAVAILABLE, "I/O error"});
    case SQLITE_CANTOPEN:
      return io_cause(system_errno, {grpc::StatusCode::UNAVAILABLE, "cannot open a database file"});
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return {grpc::StatusCode::DATA_LOSS, "database corrupt"};
    default:
      return {grpc::StatusCode::INTERNAL, ""};
  }
}

}  // namespace

grpc::Status status_of(const std::exception& e, std::string_view context) {
  const auto* error = dynamic_cast<const Error*>(&e);
  const Cause cause = error ? cause_of(error->code, error->system_errno) : Cause{grpc::StatusCode::INTERNAL, ""};
  std::string message(context);
  if (*cause.name) message.append(": ").append(cause.name);
  return {cause.code, message.append(": ").append(e.what())};
}

// Agents and instances: the unique slug index is what keeps a slug to one holder.
template <class T>
grpc::Status Operations::write(const T& resource, auto&& change) {
  if (!changes_) return {grpc::StatusCode::INTERNAL, "storage error: a write on a read-only connection"};
  try {
    change();
    return grpc::Status::OK;
  } catch (const Error& e) {
    if (!kSlugUnique<T> || e.code != SQLITE_CONSTRAINT_UNIQUE) return status_of(e);
    return errors::already_exists(std::string(KindOf<T>::name) + " with slug '" +
                                  errors::excerpt(resource.metadata().slug()) +
                                  "' already exists in this owner scope and org");
  } catch (const std::exception& e) {
    return status_of(e);
  }
}

grpc::Status Operations::write(auto&& change) {
  if (!changes_) return {grpc::StatusCode::INTERNAL, "storage error: a write on a read-only connection"};
  return guarded(change);
}

void Operations::announce(std::string id, model::SnapshotPtr snapshot) {
  changes_->push_back({std::move(id), std::move(snapshot)});
}

grpc::Status Operations::find(std::string_view id, std::optional<Agent>& out) {
  return guarded([&] { out = load<Agent>(db_, id); });
}
grpc::Status Operations::find(std::string_view id, std::optional<AgentInstance>& out) {
  return guarded([&] { out = load<AgentInstance>(db_, id); });
}
grpc::Status Operations::find(std::string_view id, std::optional<Session>& out) {
  return guarded([&] { out = load<Session>(db_, id); });
}
grpc::Status Operations::find(std::string_view id, std::optional<Execution>& out) {
  return guarded([&] { out = load<Execution>(db_, id); });
}
grpc::Status Operations::find_snapshot(std::string_view id, model::SnapshotPtr& out) {
  return guarded([&] { out = load_snapshot(db_, id); });
}

grpc::Status Operations::agent_by_slug(const res::ApiResourceMetadata& scope, std::string_view slug, std::string& id) {
  return guarded([&] { id = id_by_slug<Agent>(db_, scope, slug).value_or(""); });
}
grpc::Status Operations::instance_by_slug(const res::ApiResourceMetadata& scope, std::string_view slug,
                                          std::string& id) {
  return guarded([&] { id = id_by_slug<AgentInstance>(db_, scope, slug).value_or(""); });
}
grpc::Status Operations::agent_by_slug_in_any_org(res::ApiResourceOwnerScope scope, std::string_view slug,
                                                  std::string& id) {
  return guarded([&] { id = id_by_slug_in_any_org<Agent>(db_, scope, slug).value_or(""); });
}
grpc::Status Operations::instance_by_slug_in_any_org(res::ApiResourceOwnerScope scope, std::string_view slug,
                                                     std::string& id) {
  return guarded([&] { id = id_by_slug_in_any_org<AgentInstance>(db_, scope, slug).value_or(""); });
}

grpc::Status Operations::count_sessions_of_agent(std::string_view agent_id, int64_t& n) {
  return guarded([&] { n = sqlite::count_sessions_of_agent(db_, agent_id); });
}
grpc::Status Operations::count_sessions_of_instance(std::string_view instance_id, int64_t& n) {
  return guarded([&] { n = sqlite::count_sessions_of_instance(db_, instance_id); });
}
grpc::Status Operations::instances_of_agent(std::string_view agent_id, std::vector<AgentInstance>& out) {
  return guarded([&] { out = sqlite::instances_of_agent(db_, agent_id); });
}
grpc::Status Operations::executions_of_session(std::string_view session_id, std::vector<Execution>& out) {
  return guarded([&] { out = sqlite::executions_of_session(db_, session_id); });
}
grpc::Status Operations::list(const ListQuery<ExecutionFilter>& query, ListPage<Execution>& out) {
  return guarded([&] { out = sqlite::list(db_, query); });
}
grpc::Status Operations::list(const ListQuery<SessionFilter>& query, ListPage<Session>& out) {
  return guarded([&] { out = sqlite::list(db_, query); });
}

grpc::Status Operations::insert(const Agent& r) {
  return write(r, [&] { sqlite::insert(db_, r); });
}
grpc::Status Operations::insert(const AgentInstance& r) {
  return write(r, [&] { sqlite::insert(db_, r); });
}
grpc::Status Operations::insert(const Session& r) {
  return write(r, [&] { sqlite::insert(db_, r); });
}
grpc::Status Operations::insert(const Execution& r, model::SnapshotPtr encoded) {
  return write(r, [&] {
    sqlite::insert(db_, r, *encoded);
    announce(r.metadata().id(), std::move(encoded));
  });
}

grpc::Status Operations::replace(const Agent& now, const Agent& before) {
  return write(now, [&] { sqlite::replace(db_, now, before); });
}
grpc::Status Operations::replace(const AgentInstance& now, const AgentInstance& before) {
  return write(now, [&] { sqlite::replace(db_, now, before); });
}
grpc::Status Operations::replace(const Session& now, const Session& before) {
  return write(now, [&] { sqlite::replace(db_, now, before); });
}
grpc::Status Operations::replace(const Execution& now, const Execution& before, model::SnapshotPtr encoded) {
  return write(now, [&] {
    sqlite::replace(db_, now, before, *encoded);
    announce(now.metadata().id(), std::move(encoded));
  });
}
grpc::Status Operations::replace_status(const Execution& now, Phase before, model::SnapshotPtr encoded) {
  return write(now, [&] {
    sqlite::replace_status(db_, now, before, *encoded);
    announce(now.metadata().id(), std::move(encoded));
  });
}

grpc::Status Operations::remove(const Agent& before) {
  return write(before, [&] { sqlite::remove(db_, before); });
}
grpc::Status Operations::remove(const AgentInstance& before) {
  return write(before, [&] { sqlite::remove(db_, before); });
}
grpc::Status Operations::remove(const Session& before) {
  return write(before, [&] { sqlite::remove(db_, before); });
}
grpc::Status Operations::remove(const Execution& before) {
  return write(before, [&] {
    sqlite::remove(db_, before);
    announce(before.metadata().id(), nullptr);
  });
}

grpc::Status Operations::find_idempotency_key(std::string_view key, std::optional<IdempotencyKey>& out) {
  return guarded([&] {
    auto q = db_.query("SELECT fingerprint, execution_id, created_ms FROM idempotency_keys WHERE key=?");
    q.bind(key);
    out.reset();
    if (q.step()) out = IdempotencyKey{std::string(key), std::string(q.blob(0)), std::string(q.text(1)), q.integer(2)};
  });
}

grpc::Status Operations::find_lease(std::string_view execution_id, std::optional<Lease>& out) {
  return guarded([&] {
    auto q = db_.query(std::string("SELECT ") + kLeaseColumns + " FROM leases WHERE execution_id=?");
    out.reset();
    if (q.bind(execution_id).step()) out = lease_of(q);
  });
}

grpc::Status Operations::live_executions(int pending_limit, std::vector<LiveExecution>& out) {
  const auto s = guarded([&] {
    out.clear();
    std::unordered_map<std::string, Lease> leases;
    for (auto q = db_.query(std::string("SELECT ") + kLeaseColumns + " FROM leases"); q.step();) {
      Lease lease = lease_of(q);
      leases.emplace(lease.execution_id, std::move(lease));
    }
    auto attach = [&](LiveExecution live) {
      if (auto it = leases.find(live.id); it != leases.end()) live.lease = std::move(it->second), leases.erase(it);
      out.push_back(std::move(live));
    };
    // Started and unfinished: IN_PROGRESS, WAITING_FOR_APPROVAL, PAUSED.
    for (auto q = db_.query("SELECT id, agent_id, phase, body FROM executions WHERE phase IN (2, 6, 7)"); q.step();)
      attach(live_of(q));
    // Held and not started yet.
    std::vector<std::string> held;
    for (const auto& [id, lease] : leases)
      if (lease.held()) held.push_back(id);
    for (const auto& id : held) {
      auto q = db_.query("SELECT id, agent_id, phase, body FROM executions WHERE id=? AND phase=1");
      if (q.bind(id).step()) attach(live_of(q));
    }
  });
  if (!s.ok()) return s;
  return unheld_pending({}, pending_limit, out);
}

grpc::Status Operations::unheld_pending(const std::vector<std::string>& agent_ids, int limit,
                                        std::vector<LiveExecution>& out) {
  return guarded([&] {
    std::string sql = "SELECT id, agent_id FROM executions e WHERE phase=1";
    if (!agent_ids.empty()) {
      sql += " AND agent_id IN (?";
      for (size_t i = 1; i < agent_ids.size(); ++i) sql += ", ?";
      sql += ")";
    }
    sql += " AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.execution_id=e.id AND l.lease_id<>'') ORDER BY id LIMIT ?";
    auto q = db_.query(sql);
    for (const auto& agent : agent_ids) q.bind(agent);
    for (q.bind(int64_t{limit}); q.step();)
      out.push_back(LiveExecution{std::string(q.text(0)), std::string(q.text(1)), exv1::EXECUTION_PENDING, 0, {}});
  });
}

grpc::Status Operations::ended_before(int64_t before_ms, int limit, std::vector<std::string>& ids) {
  return guarded([&] { ids = sqlite::ended_before(db_, before_ms, limit); });
}

grpc::Status Operations::oldest_ended(std::optional<int64_t>& ms) {
  return guarded([&] { ms = sqlite::oldest_ended(db_); });
}

grpc::Status Operations::put(const Lease& lease) {
  return write([&] {
    db_.query(std::string("INSERT OR REPLACE INTO leases(") + kLeaseColumns + ") VALUES(?, ?, ?, ?, ?, ?)")
        .bind(lease.execution_id)
        .bind(lease.lease_id)
        .bind(lease.runner_id)
        .bind(int64_t{lease.attempt})
        .bind(lease.lease_ms)
        .bind(lease.assigned_ms)
        .run();
  });
}

grpc::Status Operations::insert(const IdempotencyKey& key) {
  if (!changes_) return {grpc::StatusCode::INTERNAL, "storage error: a write on a read-only connection"};
  try {
    db_.query("INSERT INTO idempotency_keys(key, fingerprint, execution_id, created_ms) VALUES(?, ?, ?, ?)")
        .bind(key.key)
        .bind_blob(key.fingerprint)
        .bind(key.execution_id)
        .bind(key.created_ms)
        .run();
    return grpc::Status::OK;
  } catch (const Error& e) {
    if (e.code != SQLITE_CONSTRAINT_PRIMARYKEY && e.code != SQLITE_CONSTRAINT_UNIQUE) return status_of(e);
    return errors::already_exists("idempotency-key '" + errors::excerpt(key.key) + "' is held by another create");
  } catch (const std::exception& e) {
    return status_of(e);
  }
}

grpc::Status Operations::remove_idempotency_key(std::string_view key) {
  return write([&] { db_.query("DELETE FROM idempotency_keys WHERE key=?").bind(key).run(); });
}

grpc::Status Operations::remove_idempotency_keys_before(int64_t before_ms, int limit) {
  return write([&] {
    db_.query(
           "DELETE FROM idempotency_keys WHERE key IN "
           "(SELECT key FROM idempotency_keys WHERE created_ms < ? ORDER BY created_ms LIMIT ?)")
        .bind(before_ms)
        .bind(int64_t{limit})
        .run();
  });
}

}  // namespace aexd::store::sqlite
