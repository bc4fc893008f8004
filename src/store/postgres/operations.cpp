#include "store/postgres/operations.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "domain/audit.h"
#include "domain/errors.h"
#include "domain/resources.h"
#include "domain/status.h"
#include "store/postgres/lists.h"

namespace aexd::store::postgres {
namespace {

/// The ended_ms column: the wall clock of the write that makes the execution terminal, NULL while
/// it is unfinished (as on SQLite).
void bind_ended(Query& q, const Execution& r) {
  if (is_terminal(r.status().phase())) {
    using namespace std::chrono;
    q.bind(int64_t{duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()});
  } else {
    q.bind_null();
  }
}

// Per kind: the table, its insert/update statements (same parameter order, id last), the binder,
// and the side table its tags live in (empty when tags are not indexed).
template <class T>
struct Table;

template <>
struct Table<Agent> {
  static constexpr const char* name = "agents";
  static constexpr const char* insert = "INSERT INTO agents(owner_scope, org, slug, body, id) VALUES($1,$2,$3,$4,$5)";
  static constexpr const char* update = "UPDATE agents SET owner_scope=$1, org=$2, slug=$3, body=$4 WHERE id=$5";
  static constexpr const char* tags = "";
  static constexpr const char* tagged = "";
  static void bind(Query& q, const Agent& r, std::string_view body) {
    q.bind(int64_t{r.metadata().owner_scope()}).bind(r.metadata().org()).bind(r.metadata().slug()).bind_blob(body);
  }
};

template <>
struct Table<AgentInstance> {
  static constexpr const char* name = "agent_instances";
  static constexpr const char* insert =
      "INSERT INTO agent_instances(agent_id, owner_scope, org, slug, body, id) VALUES($1,$2,$3,$4,$5,$6)";
  static constexpr const char* update =
      "UPDATE agent_instances SET agent_id=$1, owner_scope=$2, org=$3, slug=$4, body=$5 WHERE id=$6";
  static constexpr const char* tags = "";
  static constexpr const char* tagged = "";
  static void bind(Query& q, const AgentInstance& r, std::string_view body) {
    q.bind(r.spec().agent_id())
        .bind(int64_t{r.metadata().owner_scope()})
        .bind(r.metadata().org())
        .bind(r.metadata().slug())
        .bind_blob(body);
  }
};

// A session's agent is looked up from its instance, so listByAgent needs no join.
template <>
struct Table<Session> {
  static constexpr const char* name = "sessions";
  static constexpr const char* insert =
      "INSERT INTO sessions(agent_instance_id, agent_id, body, id) VALUES($1, "
      "COALESCE((SELECT agent_id FROM agent_instances WHERE id=$1), ''), $2, $3)";
  static constexpr const char* update =
      "UPDATE sessions SET agent_instance_id=$1, "
      "agent_id=COALESCE((SELECT agent_id FROM agent_instances WHERE id=$1), ''), body=$2 WHERE id=$3";
  static constexpr const char* tags = "session_tags";
  static constexpr const char* tagged = "session_id";
  static void bind(Query& q, const Session& r, std::string_view body) {
    q.bind(r.spec().agent_instance_id()).bind_blob(body);
  }
};

template <>
struct Table<Execution> {
  static constexpr const char* name = "executions";
  static constexpr const char* insert =
      "INSERT INTO executions(session_id, agent_id, phase, revision, body, ended_ms, id) VALUES($1,$2,$3,$4,$5,$6,$7)";
  static constexpr const char* update =
      "UPDATE executions SET session_id=$1, agent_id=$2, phase=$3, revision=$4, body=$5, "
      "ended_ms=COALESCE(ended_ms, $6) WHERE id=$7";
  static constexpr const char* tags = "execution_tags";
  static constexpr const char* tagged = "execution_id";
  static void bind(Query& q, const Execution& r, std::string_view body) {
    q.bind(r.spec().session_id())
        .bind(r.spec().agent_id())
        .bind(int64_t{r.status().phase()})
        .bind(static_cast<int64_t>(revision_of(r.metadata())))
        .bind_blob(body);
    bind_ended(q, r);
  }
};

template <class T>
void write_row(Connection& db, const char* sql, const T& r, std::string_view body) {
  auto q = db.query(sql);
  Table<T>::bind(q, r, body);
  q.bind(r.metadata().id()).run();
}

template <class T>
void write_tags(Connection& db, const T& r, bool add) {
  if (*Table<T>::tags == '\0') return;
  const std::string table = Table<T>::tags;
  const std::string sql = add ? "INSERT INTO " + table + " VALUES($1,$2) ON CONFLICT DO NOTHING"
                              : "DELETE FROM " + table + " WHERE tag=$1 AND " + Table<T>::tagged + "=$2";
  for (const auto& tag : r.metadata().tags()) db.query(sql).bind(tag).bind(r.metadata().id()).run();
}

template <class T>
void insert_row(Connection& db, const T& r, std::string_view body) {
  write_row(db, Table<T>::insert, r, body);
  write_tags(db, r, true);
}

template <class T>
void replace_row(Connection& db, const T& now, const T& before, std::string_view body) {
  write_row(db, Table<T>::update, now, body);
  const auto& a = now.metadata().tags();
  const auto& b = before.metadata().tags();
  if (std::equal(a.begin(), a.end(), b.begin(), b.end())) return;
  write_tags(db, before, false);
  write_tags(db, now, true);
}

template <class T>
void remove_row(Connection& db, const T& before) {
  db.query(std::string("DELETE FROM ") + Table<T>::name + " WHERE id=$1").bind(before.metadata().id()).run();
  write_tags(db, before, false);
}

template <class T>
std::vector<T> rows(Connection& db, const char* sql, std::string_view key) {
  std::vector<T> out;
  auto q = db.query(sql);
  q.bind(key);
  while (q.step()) out.push_back(parse<T>(q.text(0), q.blob(1)));
  return out;
}

int64_t count(Connection& db, const char* sql, std::string_view key) {
  auto q = db.query(sql);
  q.bind(key);
  return q.step() ? q.integer(0) : 0;
}

template <class T>
std::string id_by_slug(Connection& db, const res::ApiResourceMetadata& metadata, std::string_view slug) {
  auto q = db.query(std::string("SELECT id FROM ") + Table<T>::name + " WHERE owner_scope=$1 AND org=$2 AND slug=$3");
  if (!q.bind(int64_t{metadata.owner_scope()}).bind(metadata.org()).bind(slug).step()) return "";
  return std::string(q.text(0));
}

template <class T>
std::string id_by_slug_in_any_org(Connection& db, res::ApiResourceOwnerScope scope, std::string_view slug) {
  // Ids are time-ordered, so the oldest holder wins.
  auto q = db.query(std::string("SELECT id FROM ") + Table<T>::name +
                    " WHERE owner_scope=$1 AND slug=$2 ORDER BY id LIMIT 1");
  if (!q.bind(int64_t{scope}).bind(slug).step()) return "";
  return std::string(q.text(0));
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

// By SQLSTATE (PostgreSQL's appendix "Error Codes"): its class first, a few codes on their own.
Cause cause_of(std::string_view state) {
  if (state.empty() || state.starts_with("08")) return {grpc::StatusCode::UNAVAILABLE, "database connection failed"};
  if (state == kSerializationFailure || state == kDeadlockDetected || state == kLockNotAvailable)
    return {grpc::StatusCode::ABORTED, "conflict with a concurrent write"};
  if (state == "53100") return {grpc::StatusCode::RESOURCE_EXHAUSTED, "disk full"};
  if (state == "53200") return {grpc::StatusCode::RESOURCE_EXHAUSTED, "out of memory"};
  if (state == "53300") return {grpc::StatusCode::RESOURCE_EXHAUSTED, "too many database connections"};
  if (state == "25006") return {grpc::StatusCode::FAILED_PRECONDITION, "read-only storage"};
  if (state == "42501" || state.starts_with("28")) return {grpc::StatusCode::FAILED_PRECONDITION, "storage access denied"};
  if (state.starts_with("57")) return {grpc::StatusCode::UNAVAILABLE, "database server unavailable"};
  if (state.starts_with("XX0")) return {grpc::StatusCode::DATA_LOSS, "database corrupt"};
  return {grpc::StatusCode::INTERNAL, ""};
}

}  // namespace

grpc::Status status_of(const std::exception& e, std::string_view context) {
  const auto* error = dynamic_cast<const Error*>(&e);
  const Cause cause = error ? cause_of(error->sqlstate) : Cause{grpc::StatusCode::INTERNAL, ""};
  std::string message(context);
  if (*cause.name) message.append(": ").append(cause.name);
  return {cause.code, message.append(": ").append(e.what())};
}

grpc::Status Operations::failed(const std::exception& e) {
  if (const auto* error = dynamic_cast<const Error*>(&e))
    conflicted_ |= error->sqlstate == kSerializationFailure || error->sqlstate == kDeadlockDetected ||
                   error->sqlstate == kLockNotAvailable;
  return status_of(e);
}

template <class F>
grpc::Status Operations::guarded(F f) {
  try {
    f();
    return grpc::Status::OK;
  } catch (const std::exception& e) {
    return failed(e);
  }
}

// Agents and instances: the unique slug index is what keeps a slug to one holder, in every process.
template <class T>
grpc::Status Operations::write(const T& resource, auto&& change) {
  if (!changes_) return {grpc::StatusCode::INTERNAL, "storage error: a write on a read-only connection"};
  try {
    change();
    return grpc::Status::OK;
  } catch (const Error& e) {
    if (!kSlugUnique<T> || e.sqlstate != kUniqueViolation) return failed(e);
    return errors::already_exists(std::string(KindOf<T>::name) + " with slug '" +
                                  errors::excerpt(resource.metadata().slug()) +
                                  "' already exists in this owner scope and org");
  } catch (const std::exception& e) {
    return failed(e);
  }
}

grpc::Status Operations::write(auto&& change) {
  if (!changes_) return {grpc::StatusCode::INTERNAL, "storage error: a write on a read-only connection"};
  return guarded(change);
}

void Operations::announce(std::string id, model::SnapshotPtr snapshot) {
  changes_->push_back({std::move(id), std::move(snapshot)});
}

template <class T>
std::optional<T> Operations::load(std::string_view id) {
  static const std::string plain = std::string("SELECT body FROM ") + Table<T>::name + " WHERE id=$1";
  static const std::string locking = plain + " FOR UPDATE";
  auto q = db_.query(changes_ ? locking : plain);
  if (!q.bind(id).step()) return std::nullopt;
  return parse<T>(id, q.blob(0));
}

grpc::Status Operations::find(std::string_view id, std::optional<Agent>& out) {
  return guarded([&] { out = load<Agent>(id); });
}
grpc::Status Operations::find(std::string_view id, std::optional<AgentInstance>& out) {
  return guarded([&] { out = load<AgentInstance>(id); });
}
grpc::Status Operations::find(std::string_view id, std::optional<Session>& out) {
  return guarded([&] { out = load<Session>(id); });
}
grpc::Status Operations::find(std::string_view id, std::optional<Execution>& out) {
  return guarded([&] { out = load<Execution>(id); });
}
grpc::Status Operations::find_snapshot(std::string_view id, model::SnapshotPtr& out) {
  return guarded([&] {
    auto q = db_.query(changes_ ? "SELECT revision, phase, body FROM executions WHERE id=$1 FOR UPDATE"
                                : "SELECT revision, phase, body FROM executions WHERE id=$1");
    out = q.bind(id).step()
              ? model::make_snapshot(static_cast<uint64_t>(q.integer(0)), static_cast<Phase>(q.integer(1)), q.blob(2))
              : nullptr;
  });
}

grpc::Status Operations::agent_by_slug(const res::ApiResourceMetadata& scope, std::string_view slug, std::string& id) {
  return guarded([&] { id = id_by_slug<Agent>(db_, scope, slug); });
}
grpc::Status Operations::instance_by_slug(const res::ApiResourceMetadata& scope, std::string_view slug,
                                          std::string& id) {
  return guarded([&] { id = id_by_slug<AgentInstance>(db_, scope, slug); });
}
grpc::Status Operations::agent_by_slug_in_any_org(res::ApiResourceOwnerScope scope, std::string_view slug,
                                                  std::string& id) {
  return guarded([&] { id = id_by_slug_in_any_org<Agent>(db_, scope, slug); });
}
grpc::Status Operations::instance_by_slug_in_any_org(res::ApiResourceOwnerScope scope, std::string_view slug,
                                                     std::string& id) {
  return guarded([&] { id = id_by_slug_in_any_org<AgentInstance>(db_, scope, slug); });
}

grpc::Status Operations::count_sessions_of_agent(std::string_view agent_id, int64_t& n) {
  return guarded([&] { n = count(db_, "SELECT count(*) FROM sessions WHERE agent_id=$1", agent_id); });
}
grpc::Status Operations::count_sessions_of_instance(std::string_view instance_id, int64_t& n) {
  return guarded([&] { n = count(db_, "SELECT count(*) FROM sessions WHERE agent_instance_id=$1", instance_id); });
}
grpc::Status Operations::instances_of_agent(std::string_view agent_id, std::vector<AgentInstance>& out) {
  return guarded([&] {
    out = rows<AgentInstance>(db_, "SELECT id, body FROM agent_instances WHERE agent_id=$1 ORDER BY id DESC", agent_id);
  });
}
grpc::Status Operations::executions_of_session(std::string_view session_id, std::vector<Execution>& out) {
  return guarded(
      [&] { out = rows<Execution>(db_, "SELECT id, body FROM executions WHERE session_id=$1", session_id); });
}
grpc::Status Operations::list(const ListQuery<ExecutionFilter>& query, ListPage<Execution>& out) {
  return guarded([&] { out = postgres::list(db_, query); });
}
grpc::Status Operations::list(const ListQuery<SessionFilter>& query, ListPage<Session>& out) {
  return guarded([&] { out = postgres::list(db_, query); });
}

grpc::Status Operations::insert(const Agent& r) {
  return write(r, [&] { insert_row(db_, r, r.SerializeAsString()); });
}
grpc::Status Operations::insert(const AgentInstance& r) {
  return write(r, [&] { insert_row(db_, r, r.SerializeAsString()); });
}
grpc::Status Operations::insert(const Session& r) {
  return write(r, [&] { insert_row(db_, r, r.SerializeAsString()); });
}
grpc::Status Operations::insert(const Execution& r, model::SnapshotPtr encoded) {
  return write(r, [&] {
    insert_row(db_, r, encoded->view());
    announce(r.metadata().id(), std::move(encoded));
  });
}

grpc::Status Operations::replace(const Agent& now, const Agent& before) {
  return write(now, [&] { replace_row(db_, now, before, now.SerializeAsString()); });
}
grpc::Status Operations::replace(const AgentInstance& now, const AgentInstance& before) {
  return write(now, [&] { replace_row(db_, now, before, now.SerializeAsString()); });
}
grpc::Status Operations::replace(const Session& now, const Session& before) {
  return write(now, [&] { replace_row(db_, now, before, now.SerializeAsString()); });
}
grpc::Status Operations::replace(const Execution& now, const Execution& before, model::SnapshotPtr encoded) {
  return write(now, [&] {
    replace_row(db_, now, before, encoded->view());
    announce(now.metadata().id(), std::move(encoded));
  });
}
grpc::Status Operations::replace_status(const Execution& now, Phase before, model::SnapshotPtr encoded) {
  return write(now, [&] {
    const Phase phase = now.status().phase();
    auto q = phase == before ? db_.query("UPDATE executions SET revision=$1, body=$2 WHERE id=$3")
                             : db_.query("UPDATE executions SET revision=$1, body=$2, phase=$3, ended_ms=$4 WHERE id=$5");
    q.bind(static_cast<int64_t>(encoded->revision)).bind_blob(encoded->view());
    if (phase != before) bind_ended(q.bind(int64_t{phase}), now);
    q.bind(now.metadata().id()).run();
    announce(now.metadata().id(), std::move(encoded));
  });
}

grpc::Status Operations::remove(const Agent& before) {
  return write(before, [&] { remove_row(db_, before); });
}
grpc::Status Operations::remove(const AgentInstance& before) {
  return write(before, [&] { remove_row(db_, before); });
}
grpc::Status Operations::remove(const Session& before) {
  return write(before, [&] { remove_row(db_, before); });
}
grpc::Status Operations::remove(const Execution& before) {
  return write(before, [&] {
    remove_row(db_, before);
    announce(before.metadata().id(), nullptr);
  });
}

grpc::Status Operations::find_idempotency_key(std::string_view key, std::optional<IdempotencyKey>& out) {
  return guarded([&] {
    auto q = db_.query("SELECT fingerprint, execution_id, created_ms FROM idempotency_keys WHERE key=$1");
    q.bind(key);
    out.reset();
    if (q.step()) out = IdempotencyKey{std::string(key), std::string(q.blob(0)), std::string(q.text(1)), q.integer(2)};
  });
}

grpc::Status Operations::find_lease(std::string_view execution_id, std::optional<Lease>& out) {
  return guarded([&] {
    auto q = db_.query(std::string("SELECT ") + kLeaseColumns + " FROM leases WHERE execution_id=$1");
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
      auto q = db_.query("SELECT id, agent_id, phase, body FROM executions WHERE id=$1 AND phase=1");
      if (q.bind(id).step()) attach(live_of(q));
    }
  });
  if (!s.ok()) return s;
  return unheld_pending({}, pending_limit, out);
}

grpc::Status Operations::unheld_pending(const std::vector<std::string>& agent_ids, int limit,
                                        std::vector<LiveExecution>& out) {
  return guarded([&] {
    auto q = db_.query(agent_ids.empty()
                           ? "SELECT id, agent_id FROM executions e WHERE phase=1 AND NOT EXISTS (SELECT 1 FROM leases "
                             "l WHERE l.execution_id=e.id AND l.lease_id<>'') ORDER BY id LIMIT $1"
                           : "SELECT id, agent_id FROM executions e WHERE phase=1 AND agent_id = ANY($2) AND NOT EXISTS "
                             "(SELECT 1 FROM leases l WHERE l.execution_id=e.id AND l.lease_id<>'') ORDER BY id LIMIT $1");
    q.bind(int64_t{limit});
    if (!agent_ids.empty()) q.bind_array(agent_ids);
    while (q.step())
      out.push_back(LiveExecution{std::string(q.text(0)), std::string(q.text(1)), exv1::EXECUTION_PENDING, 0, {}});
  });
}

grpc::Status Operations::ended_before(int64_t before_ms, int limit, std::vector<std::string>& ids) {
  return guarded([&] {
    ids.clear();
    auto q = db_.query(
        "SELECT id FROM executions WHERE ended_ms IS NOT NULL AND ended_ms <= $1 ORDER BY ended_ms, id LIMIT $2");
    for (q.bind(before_ms).bind(int64_t{limit}); q.step();) ids.emplace_back(q.text(0));
  });
}

grpc::Status Operations::oldest_ended(std::optional<int64_t>& ms) {
  return guarded([&] {
    auto q = db_.query("SELECT min(ended_ms) FROM executions WHERE ended_ms IS NOT NULL");
    ms.reset();
    if (q.step() && !q.is_null(0)) ms = q.integer(0);
  });
}

grpc::Status Operations::put(const Lease& lease) {
  return write([&] {
    db_.query(std::string("INSERT INTO leases(") + kLeaseColumns +
              ") VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (execution_id) DO UPDATE SET lease_id=EXCLUDED.lease_id, "
              "runner_id=EXCLUDED.runner_id, attempt=EXCLUDED.attempt, lease_ms=EXCLUDED.lease_ms, "
              "assigned_ms=EXCLUDED.assigned_ms")
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
    db_.query("INSERT INTO idempotency_keys(key, fingerprint, execution_id, created_ms) VALUES($1, $2, $3, $4)")
        .bind(key.key)
        .bind_blob(key.fingerprint)
        .bind(key.execution_id)
        .bind(key.created_ms)
        .run();
    return grpc::Status::OK;
  } catch (const Error& e) {
    if (e.sqlstate != kUniqueViolation) return failed(e);
    // Another process's create took the key since this job looked it up: run the job again, and it
    // finds that create (the same request gets its execution, another one ALREADY_EXISTS).
    conflicted_ = true;
    return errors::already_exists("idempotency-key '" + errors::excerpt(key.key) + "' is held by another create");
  } catch (const std::exception& e) {
    return failed(e);
  }
}

grpc::Status Operations::remove_idempotency_key(std::string_view key) {
  return write([&] { db_.query("DELETE FROM idempotency_keys WHERE key=$1").bind(key).run(); });
}

grpc::Status Operations::remove_idempotency_keys_before(int64_t before_ms, int limit) {
  return write([&] {
    db_.query(
           "DELETE FROM idempotency_keys WHERE key IN "
           "(SELECT key FROM idempotency_keys WHERE created_ms < $1 ORDER BY created_ms LIMIT $2)")
        .bind(before_ms)
        .bind(int64_t{limit})
        .run();
  });
}

}  // namespace aexd::store::postgres
