#include "store/schema.h"

#include <string>

namespace aexd::store {
namespace {

// Each resource is its protobuf binary (`body`, so unknown fields survive) plus the columns
// that lookups, uniqueness and lists need. Append new migrations; never edit a shipped one.
constexpr const char* kMigrations[] = {
    R"sql(
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
};

int user_version(Connection& db) {
  auto q = db.query("PRAGMA user_version");
  return q.step() ? static_cast<int>(q.integer(0)) : 0;
}

}  // namespace

int schema_version() { return static_cast<int>(std::size(kMigrations)); }

void migrate(Connection& db) {
  const int current = user_version(db);
  if (current > schema_version())
    throw StoreError(SQLITE_ERROR, "database schema version " + std::to_string(current) +
                                       " is newer than this aexd supports (" +
                                       std::to_string(schema_version()) + ")");
  for (int v = current; v < schema_version(); ++v) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(kMigrations[v]);
      db.exec(("PRAGMA user_version=" + std::to_string(v + 1)).c_str());
      db.exec("COMMIT");
    } catch (...) {
      db.exec("ROLLBACK");
      throw;
    }
  }
}

}  // namespace aexd::store
