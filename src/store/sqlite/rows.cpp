#include "store/sqlite/rows.h"

#include <algorithm>
#include <chrono>

#include "domain/audit.h"
#include "domain/status.h"

namespace aexd::store::sqlite {
namespace {

/// The ended_ms column: the wall clock of the write that makes the execution terminal (in ms: the
/// status audit's clock has whole seconds only), NULL (outside its index) while it is unfinished.
void bind_ended(Query& q, const Execution& r) {
  if (is_terminal(r.status().phase())) {
    using namespace std::chrono;
    q.bind(int64_t{duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()});
  } else {
    q.bind_null();
  }
}

// Per kind: the table, its insert/update statements (same column order, id bound last), the
// column binder, and the side table its tags live in (empty when tags are not indexed).
template <class T>
struct Table;

template <>
struct Table<Agent> {
  static constexpr const char* name = "agents";
  static constexpr const char* insert = "INSERT INTO agents(owner_scope, org, slug, body, id) VALUES(?,?,?,?,?)";
  static constexpr const char* update = "UPDATE agents SET owner_scope=?, org=?, slug=?, body=? WHERE id=?";
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
      "INSERT INTO agent_instances(agent_id, owner_scope, org, slug, body, id) VALUES(?,?,?,?,?,?)";
  static constexpr const char* update =
      "UPDATE agent_instances SET agent_id=?, owner_scope=?, org=?, slug=?, body=? WHERE id=?";
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
      "INSERT INTO sessions(agent_instance_id, agent_id, body, id) VALUES(?1, "
      "COALESCE((SELECT agent_id FROM agent_instances WHERE id=?1), ''), ?2, ?3)";
  static constexpr const char* update =
      "UPDATE sessions SET agent_instance_id=?1, "
      "agent_id=COALESCE((SELECT agent_id FROM agent_instances WHERE id=?1), ''), body=?2 WHERE id=?3";
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
      "INSERT INTO executions(session_id, agent_id, phase, revision, body, ended_ms, id) VALUES(?,?,?,?,?,?,?)";
  static constexpr const char* update =
      "UPDATE executions SET session_id=?, agent_id=?, phase=?, revision=?, body=?, ended_ms=COALESCE(ended_ms, ?) "
      "WHERE id=?";
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
  const std::string sql = add ? "INSERT OR IGNORE INTO " + table + " VALUES(?,?)"
                              : "DELETE FROM " + table + " WHERE tag=? AND " + Table<T>::tagged + "=?";
  for (const auto& tag : r.metadata().tags()) db.query(sql).bind(tag).bind(r.metadata().id()).run();
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

}  // namespace

template <class T>
std::optional<T> load(Connection& db, std::string_view id) {
  static const std::string sql = std::string("SELECT body FROM ") + Table<T>::name + " WHERE id=?";
  auto q = db.query(sql);
  if (!q.bind(id).step()) return std::nullopt;
  return parse<T>(id, q.blob(0));
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
void insert(Connection& db, const T& r) {
  insert_row(db, r, r.SerializeAsString());
}

template <class T>
void replace(Connection& db, const T& now, const T& before) {
  replace_row(db, now, before, now.SerializeAsString());
}

void insert(Connection& db, const Execution& execution, const model::Snapshot& encoded) {
  insert_row(db, execution, encoded.view());
}

void replace(Connection& db, const Execution& now, const Execution& before, const model::Snapshot& encoded) {
  replace_row(db, now, before, encoded.view());
}

void replace_status(Connection& db, const Execution& now, Phase before, const model::Snapshot& encoded) {
  // SQLite rewrites an index whenever one of its columns is assigned, even to the same value.
  const Phase phase = now.status().phase();
  auto q = phase == before ? db.query("UPDATE executions SET revision=?, body=? WHERE id=?")
                           : db.query("UPDATE executions SET revision=?, body=?, phase=?, ended_ms=? WHERE id=?");
  q.bind(static_cast<int64_t>(encoded.revision)).bind_blob(encoded.view());
  if (phase != before) bind_ended(q.bind(int64_t{phase}), now);
  q.bind(now.metadata().id()).run();
}

template <class T>
void remove(Connection& db, const T& before) {
  db.query(std::string("DELETE FROM ") + Table<T>::name + " WHERE id=?").bind(before.metadata().id()).run();
  write_tags(db, before, false);
}

template <class T>
std::optional<std::string> id_by_slug(Connection& db, const res::ApiResourceMetadata& metadata, std::string_view slug) {
  auto q = db.query(std::string("SELECT id FROM ") + Table<T>::name + " WHERE owner_scope=? AND org=? AND slug=?");
  if (!q.bind(int64_t{metadata.owner_scope()}).bind(metadata.org()).bind(slug).step()) return std::nullopt;
  return std::string(q.text(0));
}

template <class T>
std::optional<std::string> id_by_slug_in_any_org(Connection& db, res::ApiResourceOwnerScope scope,
                                                 std::string_view slug) {
  // The slug index's owner_scope prefix bounds the scan; ids are time-ordered, so the oldest wins.
  auto q =
      db.query(std::string("SELECT id FROM ") + Table<T>::name + " WHERE owner_scope=? AND slug=? ORDER BY id LIMIT 1");
  if (!q.bind(int64_t{scope}).bind(slug).step()) return std::nullopt;
  return std::string(q.text(0));
}

int64_t count_sessions_of_instance(Connection& db, std::string_view instance_id) {
  return count(db, "SELECT count(*) FROM sessions WHERE agent_instance_id=?", instance_id);
}

int64_t count_sessions_of_agent(Connection& db, std::string_view agent_id) {
  return count(db, "SELECT count(*) FROM sessions WHERE agent_id=?", agent_id);
}

std::vector<AgentInstance> instances_of_agent(Connection& db, std::string_view agent_id) {
  return rows<AgentInstance>(db, "SELECT id, body FROM agent_instances WHERE agent_id=? ORDER BY id DESC", agent_id);
}

std::vector<Execution> executions_of_session(Connection& db, std::string_view session_id) {
  return rows<Execution>(db, "SELECT id, body FROM executions WHERE session_id=?", session_id);
}

#define AEXD_TABLE(T)                                               \
  template std::optional<T> load<T>(Connection&, std::string_view); \
  template void insert<T>(Connection&, const T&);                   \
  template void replace<T>(Connection&, const T&, const T&);        \
  template void remove<T>(Connection&, const T&);
AEXD_TABLE(Agent)
AEXD_TABLE(AgentInstance)
AEXD_TABLE(Session)
AEXD_TABLE(Execution)
#undef AEXD_TABLE
template std::optional<std::string> id_by_slug<Agent>(Connection&, const res::ApiResourceMetadata&, std::string_view);
template std::optional<std::string> id_by_slug<AgentInstance>(Connection&, const res::ApiResourceMetadata&,
                                                              std::string_view);
template std::optional<std::string> id_by_slug_in_any_org<Agent>(Connection&, res::ApiResourceOwnerScope,
                                                                 std::string_view);
template std::optional<std::string> id_by_slug_in_any_org<AgentInstance>(Connection&, res::ApiResourceOwnerScope,
                                                                         std::string_view);

std::vector<std::string> ended_before(Connection& db, int64_t before_ms, int limit) {
  std::vector<std::string> ids;
  auto q = db.query(kEndedBefore);
  for (q.bind(before_ms).bind(int64_t{limit}); q.step();) ids.emplace_back(q.text(0));
  return ids;
}

std::optional<int64_t> oldest_ended(Connection& db) {
  auto q = db.query(kOldestEnded);
  if (!q.step() || q.is_null(0)) return std::nullopt;
  return q.integer(0);
}

model::SnapshotPtr load_snapshot(Connection& db, std::string_view execution_id) {
  auto q = db.query("SELECT revision, phase, body FROM executions WHERE id=?");
  if (!q.bind(execution_id).step()) return nullptr;
  return model::make_snapshot(static_cast<uint64_t>(q.integer(0)), static_cast<Phase>(q.integer(1)), q.blob(2));
}

}  // namespace aexd::store::sqlite
