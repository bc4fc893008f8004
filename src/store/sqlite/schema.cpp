#include "store/sqlite/schema.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "domain/audit.h"
#include "domain/types.h"

namespace aexd::store::sqlite {
namespace {

// Each resource is its protobuf binary (`body`, so unknown fields survive) plus the columns
// that lookups, uniqueness and lists need. Append new migrations; never edit a shipped one.
constexpr const char* kMigrations[] = {
    // The application_id marks the file as aexd's from its first commit (added after shipping: a
    // database an earlier aexd created gets it from migration 6).
    R"sql(
PRAGMA application_id = 1634039908;
CREATE TABLE agents(
  id TEXT PRIMARY KEY, owner_scope INTEGER NOT NULL, org TEXT NOT NULL, slug TEXT NOT NULL,
  body BLOB NOT NULL);
CREATE UNIQUE INDEX agents_by_slug ON agents(owner_scope, org, slug);

CREATE TABLE agent_instances(
  id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, owner_scope INTEGER NOT NULL, org TEXT NOT NULL,
  slug TEXT NOT NULL, body BLOB NOT NULL);
CREATE UNIQUE INDEX agent_instances_by_slug ON agent_instances(owner_scope, org, slug);
CREATE INDEX agent_instances_by_agent ON agent_instances(agent_id, id);

CREATE TABLE sessions(
  id TEXT PRIMARY KEY, agent_instance_id TEXT NOT NULL, agent_id TEXT NOT NULL,
  body BLOB NOT NULL);
CREATE INDEX sessions_by_instance ON sessions(agent_instance_id, id);
CREATE INDEX sessions_by_agent ON sessions(agent_id, id);
CREATE TABLE session_tags(
  tag TEXT NOT NULL, session_id TEXT NOT NULL, PRIMARY KEY(tag, session_id)) WITHOUT ROWID;

CREATE TABLE executions(
  id TEXT PRIMARY KEY, session_id TEXT NOT NULL, agent_id TEXT NOT NULL,
  phase INTEGER NOT NULL, revision INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX executions_by_session ON executions(session_id, id);
CREATE INDEX executions_by_phase ON executions(phase, id);
CREATE TABLE execution_tags(
  tag TEXT NOT NULL, execution_id TEXT NOT NULL, PRIMARY KEY(tag, execution_id)) WITHOUT ROWID;
)sql",
    // Row counts of the list filters (store/lists.h), kept by triggers so that total_pages is one
    // primary-key lookup at any size instead of a COUNT over a million index entries. phase -1 is
    // "every phase"; a missing row is 0. The execution_tags index finds an execution's tags when
    // its phase moves.
    R"sql(
CREATE INDEX execution_tags_by_execution ON execution_tags(execution_id, tag);
CREATE TABLE list_counts(
  list TEXT NOT NULL, key TEXT NOT NULL, phase INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY(list, key, phase)) WITHOUT ROWID;

INSERT INTO list_counts SELECT 'aex', '', -1, count(*) FROM executions WHERE true;
INSERT INTO list_counts SELECT 'aex', '', phase, count(*) FROM executions GROUP BY phase;
INSERT INTO list_counts SELECT 'aex.session', session_id, -1, count(*) FROM executions GROUP BY session_id;
INSERT INTO list_counts SELECT 'aex.tag', tag, -1, count(*) FROM execution_tags GROUP BY tag;
INSERT INTO list_counts SELECT 'aex.tag', t.tag, e.phase, count(*)
  FROM execution_tags t JOIN executions e ON e.id = t.execution_id GROUP BY t.tag, e.phase;
INSERT INTO list_counts SELECT 'ses', '', -1, count(*) FROM sessions WHERE true;
INSERT INTO list_counts SELECT 'ses.agent', agent_id, -1, count(*) FROM sessions GROUP BY agent_id;
INSERT INTO list_counts SELECT 'ses.tag', tag, -1, count(*) FROM session_tags GROUP BY tag;
DELETE FROM list_counts WHERE n = 0;

CREATE TRIGGER executions_counted AFTER INSERT ON executions BEGIN
  INSERT INTO list_counts VALUES('aex', '', -1, 1), ('aex', '', NEW.phase, 1), ('aex.session', NEW.session_id, -1, 1)
    ON CONFLICT(list, key, phase) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER executions_uncounted AFTER DELETE ON executions BEGIN
  UPDATE list_counts SET n = n - 1 WHERE list = 'aex' AND key = '' AND phase IN (-1, OLD.phase);
  DELETE FROM list_counts WHERE list = 'aex' AND key = '' AND n = 0;
  UPDATE list_counts SET n = n - 1 WHERE list = 'aex.session' AND key = OLD.session_id AND phase = -1;
  DELETE FROM list_counts WHERE list = 'aex.session' AND key = OLD.session_id AND n = 0;
  -- Tags still present here are deleted after their row, when its phase can no longer be looked up.
  UPDATE list_counts SET n = n - 1
    WHERE list = 'aex.tag' AND phase = OLD.phase AND key IN (SELECT tag FROM execution_tags WHERE execution_id = OLD.id);
END;
CREATE TRIGGER executions_phase_recounted AFTER UPDATE OF phase ON executions
  WHEN OLD.phase IS NOT NEW.phase BEGIN
  UPDATE list_counts SET n = n - 1 WHERE list = 'aex' AND key = '' AND phase = OLD.phase;
  DELETE FROM list_counts WHERE list = 'aex' AND key = '' AND n = 0;
  INSERT INTO list_counts VALUES('aex', '', NEW.phase, 1) ON CONFLICT(list, key, phase) DO UPDATE SET n = n + 1;
  UPDATE list_counts SET n = n - 1
    WHERE list = 'aex.tag' AND phase = OLD.phase AND key IN (SELECT tag FROM execution_tags WHERE execution_id = NEW.id);
  INSERT INTO list_counts SELECT 'aex.tag', tag, NEW.phase, 1 FROM execution_tags WHERE execution_id = NEW.id
    ON CONFLICT(list, key, phase) DO UPDATE SET n = n + 1;
  DELETE FROM list_counts WHERE list = 'aex.tag' AND phase = OLD.phase AND n = 0
    AND key IN (SELECT tag FROM execution_tags WHERE execution_id = NEW.id);
END;
CREATE TRIGGER executions_session_recounted AFTER UPDATE OF session_id ON executions
  WHEN OLD.session_id IS NOT NEW.session_id BEGIN
  UPDATE list_counts SET n = n - 1 WHERE list = 'aex.session' AND key = OLD.session_id AND phase = -1;
  DELETE FROM list_counts WHERE list = 'aex.session' AND key = OLD.session_id AND n = 0;
  INSERT INTO list_counts VALUES('aex.session', NEW.session_id, -1, 1)
    ON CONFLICT(list, key, phase) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER execution_tags_counted AFTER INSERT ON execution_tags BEGIN
  INSERT INTO list_counts VALUES('aex.tag', NEW.tag, -1, 1) ON CONFLICT(list, key, phase) DO UPDATE SET n = n + 1;
  INSERT INTO list_counts SELECT 'aex.tag', NEW.tag, phase, 1 FROM executions WHERE id = NEW.execution_id
    ON CONFLICT(list, key, phase) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER execution_tags_uncounted AFTER DELETE ON execution_tags BEGIN
  UPDATE list_counts SET n = n - 1 WHERE list = 'aex.tag' AND key = OLD.tag
    AND phase IN (-1, (SELECT phase FROM executions WHERE id = OLD.execution_id));
  DELETE FROM list_counts WHERE list = 'aex.tag' AND key = OLD.tag AND n = 0;
END;

CREATE TRIGGER sessions_counted AFTER INSERT ON sessions BEGIN
  INSERT INTO list_counts VALUES('ses', '', -1, 1), ('ses.agent', NEW.agent_id, -1, 1)
    ON CONFLICT(list, key, phase) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER sessions_uncounted AFTER DELETE ON sessions BEGIN
  UPDATE list_counts SET n = n - 1 WHERE list = 'ses' AND key = '' AND phase = -1;
  DELETE FROM list_counts WHERE list = 'ses' AND key = '' AND n = 0;
  UPDATE list_counts SET n = n - 1 WHERE list = 'ses.agent' AND key = OLD.agent_id AND phase = -1;
  DELETE FROM list_counts WHERE list = 'ses.agent' AND key = OLD.agent_id AND n = 0;
END;
CREATE TRIGGER sessions_agent_recounted AFTER UPDATE OF agent_id ON sessions
  WHEN OLD.agent_id IS NOT NEW.agent_id BEGIN
  UPDATE list_counts SET n = n - 1 WHERE list = 'ses.agent' AND key = OLD.agent_id AND phase = -1;
  DELETE FROM list_counts WHERE list = 'ses.agent' AND key = OLD.agent_id AND n = 0;
  INSERT INTO list_counts VALUES('ses.agent', NEW.agent_id, -1, 1) ON CONFLICT(list, key, phase) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER session_tags_counted AFTER INSERT ON session_tags BEGIN
  INSERT INTO list_counts VALUES('ses.tag', NEW.tag, -1, 1) ON CONFLICT(list, key, phase) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER session_tags_uncounted AFTER DELETE ON session_tags BEGIN
  UPDATE list_counts SET n = n - 1 WHERE list = 'ses.tag' AND key = OLD.tag AND phase = -1;
  DELETE FROM list_counts WHERE list = 'ses.tag' AND key = OLD.tag AND n = 0;
END;
)sql",
    // 3: idempotency keys of execution creates. The primary key is what makes two concurrent
    // creates with one key one execution; the created-time index lets expired keys be deleted a
    // few at a time without scanning the table. No foreign key to executions: a deleted
    // execution frees its key when the key is next used.
    R"sql(
CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY,
  fingerprint BLOB NOT NULL,
  execution_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_by_created ON idempotency_keys(created_ms);
)sql",
    // 4: dispatch leases (store::Lease). A row lives as long as its execution is unfinished; the
    // triggers end it with the execution, so no write path has to remember to.
    R"sql(
CREATE TABLE leases (
  execution_id TEXT PRIMARY KEY,
  lease_id TEXT NOT NULL,
  runner_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  lease_ms INTEGER NOT NULL,
  assigned_ms INTEGER NOT NULL
);
CREATE TRIGGER executions_lease_ended AFTER UPDATE OF phase ON executions
  WHEN NEW.phase IN (3, 4, 5, 8) BEGIN
  DELETE FROM leases WHERE execution_id = NEW.id;
END;
CREATE TRIGGER executions_lease_deleted AFTER DELETE ON executions BEGIN
  DELETE FROM leases WHERE execution_id = OLD.id;
END;
-- The queue of one agent's PENDING executions, oldest first, for runners that claim only some agents.
CREATE INDEX executions_pending_by_agent ON executions(agent_id, id) WHERE phase = 1;
)sql",
    // 5: when a terminal execution ended (Unix ms; NULL while unfinished), for --retain-terminal:
    // the oldest ended execution is the first of this index. Rows already terminal are filled in
    // by fill_ended_times from their bodies.
    R"sql(
ALTER TABLE executions ADD COLUMN ended_ms INTEGER;
CREATE INDEX executions_by_ended ON executions(ended_ms, id) WHERE ended_ms IS NOT NULL;
)sql",
    // 6: marks a database an earlier aexd created, before migration 1 set the application_id.
    R"sql(
PRAGMA application_id = 1634039908;
)sql",
};

/// Migration 5's data: each terminal row ended when its status last changed (the terminal phase is
/// final), read from its body; a row without that time counts as ending now, so none goes early.
void fill_ended_times(Connection& db) {
  using google::protobuf::util::TimeUtil;
  const int64_t now = TimeUtil::TimestampToMilliseconds(aexd::now());
  std::vector<std::pair<std::string, int64_t>> ended;
  for (auto q = db.query("SELECT id, body FROM executions WHERE phase IN (3, 4, 5, 8)"); q.step();) {
    Execution execution;
    const auto body = q.blob(1);
    const bool read = execution.ParseFromArray(body.data(), static_cast<int>(body.size()));
    const auto& at = execution.status().audit().status_audit().updated_at();
    ended.emplace_back(std::string(q.text(0)), read && at.seconds() > 0 ? TimeUtil::TimestampToMilliseconds(at) : now);
  }
  for (const auto& [id, ms] : ended) db.query("UPDATE executions SET ended_ms=? WHERE id=?").bind(ms).bind(id).run();
}

/// Work a migration does in code after its SQL, in the same transaction (index: the migration's).
void (*const kMigrationCode[])(Connection&) = {nullptr, nullptr, nullptr, nullptr, fill_ended_times, nullptr};
static_assert(std::size(kMigrationCode) == std::size(kMigrations));

int64_t pragma(Connection& db, const char* name) {
  auto q = db.query(std::string("PRAGMA ") + name);
  return q.step() ? q.integer(0) : 0;
}

int user_version(Connection& db) { return static_cast<int>(pragma(db, "user_version")); }

void check_not_newer(int version) {
  if (version > schema_version())
    throw Error(SQLITE_ERROR, "database schema version " + std::to_string(version) +
                                  " is newer than this aexd supports (" + std::to_string(schema_version()) + ")");
}

/// The tables the migrations create, read from a database they built in memory.
const std::set<std::string>& own_tables() {
  static const std::set<std::string> tables = [] {
    auto db = Connection::open(":memory:", Sync::off);
    migrate(*db);
    std::set<std::string> names;
    for (auto q = db->query("SELECT name FROM sqlite_schema WHERE type = 'table'"); q.step();) names.emplace(q.text(0));
    return names;
  }();
  return tables;
}

std::string hex(int64_t id) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08llx", static_cast<unsigned long long>(id) & 0xffffffffULL);
  return text;
}

}  // namespace

int schema_version() { return static_cast<int>(std::size(kMigrations)); }

void check_adoptable(Connection& db) {
  const int64_t application_id = pragma(db, "application_id");
  const int version = user_version(db);
  int objects = 0, tables = 0;
  std::vector<std::string> foreign;
  for (auto q = db.query("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
       q.step();) {
    ++objects;
    if (q.text(0) != "table") continue;
    ++tables;
    if (const std::string name(q.text(1)); !own_tables().contains(name)) foreign.push_back(name);
  }
  if (application_id == 0 && version == 0 && objects == 0) return;  // empty: aexd initialises it
  if (application_id != kApplicationId && application_id != 0)
    throw Error(SQLITE_ERROR, "another application's database (application_id " + hex(application_id) + ", aexd's is " +
                                  hex(kApplicationId) + ")");
  if (application_id == 0) {
    if (!foreign.empty())
      throw Error(SQLITE_ERROR,
                  "not an aexd database: it has table '" + foreign.front() + "', which aexd does not create");
    if (version == 0 || tables == 0)
      throw Error(SQLITE_ERROR,
                  "not an aexd database: it has schema objects, but neither aexd's application_id nor an "
                  "earlier aexd's tables and user_version");
  }
  check_not_newer(version);
}

void migrate(Connection& db) {
  const int current = user_version(db);
  check_not_newer(current);
  for (int v = current; v < schema_version(); ++v) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(kMigrations[v]);
      if (kMigrationCode[v]) kMigrationCode[v](db);
      db.exec(("PRAGMA user_version=" + std::to_string(v + 1)).c_str());
      db.exec("COMMIT");
    } catch (...) {
      db.exec("ROLLBACK");
      throw;
    }
  }
}

}  // namespace aexd::store::sqlite
