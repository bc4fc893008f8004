#include "store/postgres/schema.h"

#include <iterator>
#include <string>

namespace aexd::store::postgres {
namespace {

// The first key of aexd's advisory locks ("aexd"); the second is -1 for migrations, else a writer slot.
constexpr const char* kLockClass = "1634039908";
constexpr int kMaxWriterSlots = 1024;

// As on SQLite: each resource is its protobuf binary (`body`, so unknown fields survive) plus the
// columns that lookups, uniqueness and lists need. Ids, slugs and tags compare bytewise (COLLATE
// "C"), whatever the database's locale: pages are keyed by id order. Append new migrations; never
// edit a shipped one.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE agents(
  id TEXT COLLATE "C" PRIMARY KEY, owner_scope BIGINT NOT NULL, org TEXT COLLATE "C" NOT NULL,
  slug TEXT COLLATE "C" NOT NULL, body BYTEA NOT NULL);
CREATE UNIQUE INDEX agents_by_slug ON agents(owner_scope, org, slug);

CREATE TABLE agent_instances(
  id TEXT COLLATE "C" PRIMARY KEY, agent_id TEXT COLLATE "C" NOT NULL, owner_scope BIGINT NOT NULL,
  org TEXT COLLATE "C" NOT NULL, slug TEXT COLLATE "C" NOT NULL, body BYTEA NOT NULL);
CREATE UNIQUE INDEX agent_instances_by_slug ON agent_instances(owner_scope, org, slug);
CREATE INDEX agent_instances_by_agent ON agent_instances(agent_id, id);

CREATE TABLE sessions(
  id TEXT COLLATE "C" PRIMARY KEY, agent_instance_id TEXT COLLATE "C" NOT NULL,
  agent_id TEXT COLLATE "C" NOT NULL, body BYTEA NOT NULL);
CREATE INDEX sessions_by_instance ON sessions(agent_instance_id, id);
CREATE INDEX sessions_by_agent ON sessions(agent_id, id);
CREATE TABLE session_tags(
  tag TEXT COLLATE "C" NOT NULL, session_id TEXT COLLATE "C" NOT NULL, PRIMARY KEY(tag, session_id));

CREATE TABLE executions(
  id TEXT COLLATE "C" PRIMARY KEY, session_id TEXT COLLATE "C" NOT NULL, agent_id TEXT COLLATE "C" NOT NULL,
  phase BIGINT NOT NULL, revision BIGINT NOT NULL, ended_ms BIGINT, body BYTEA NOT NULL);
CREATE INDEX executions_by_session ON executions(session_id, id);
CREATE INDEX executions_by_phase ON executions(phase, id);
CREATE INDEX executions_pending_by_agent ON executions(agent_id, id) WHERE phase = 1;
CREATE INDEX executions_by_ended ON executions(ended_ms, id) WHERE ended_ms IS NOT NULL;
CREATE TABLE execution_tags(
  tag TEXT COLLATE "C" NOT NULL, execution_id TEXT COLLATE "C" NOT NULL, PRIMARY KEY(tag, execution_id));
CREATE INDEX execution_tags_by_execution ON execution_tags(execution_id, tag);

-- The primary key makes two concurrent creates with one key (in any process) one execution.
CREATE TABLE idempotency_keys(
  key TEXT COLLATE "C" PRIMARY KEY, fingerprint BYTEA NOT NULL, execution_id TEXT COLLATE "C" NOT NULL,
  created_ms BIGINT NOT NULL);
CREATE INDEX idempotency_keys_by_created ON idempotency_keys(created_ms);

CREATE TABLE leases(
  execution_id TEXT COLLATE "C" PRIMARY KEY, lease_id TEXT COLLATE "C" NOT NULL, runner_id TEXT COLLATE "C" NOT NULL,
  attempt BIGINT NOT NULL, lease_ms BIGINT NOT NULL, assigned_ms BIGINT NOT NULL);

-- Row counts of the list filters (phase -1: every phase), one row per writer slot: a writer only
-- ever adds to its own rows, so writers in several processes never wait for one another here.
CREATE TABLE list_counts(
  list TEXT COLLATE "C" NOT NULL, key TEXT COLLATE "C" NOT NULL, phase BIGINT NOT NULL, slot BIGINT NOT NULL,
  n BIGINT NOT NULL, PRIMARY KEY(list, key, phase, slot));
CREATE FUNCTION aexd_count(l TEXT, k TEXT, p BIGINT, d BIGINT) RETURNS void LANGUAGE sql AS $$
  INSERT INTO list_counts VALUES (l, k, p, coalesce(current_setting('aexd.slot', true), '0')::bigint, d)
    ON CONFLICT (list, key, phase, slot) DO UPDATE SET n = list_counts.n + EXCLUDED.n
$$;

-- Every committed change of an execution is announced to every aexd process (LISTEN aexd_executions):
-- its id and revision, never the body (a payload holds at most 8000 bytes).
CREATE FUNCTION executions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('aexd_executions', OLD.id || ' 0');
    PERFORM aexd_count('aex', '', -1, -1), aexd_count('aex', '', OLD.phase, -1),
            aexd_count('aex.session', OLD.session_id, -1, -1);
    -- Tags still present are deleted after their row, when its phase can no longer be looked up.
    PERFORM aexd_count('aex.tag', tag, OLD.phase, -1) FROM execution_tags WHERE execution_id = OLD.id;
    DELETE FROM leases WHERE execution_id = OLD.id;
    RETURN NULL;
  END IF;
  PERFORM pg_notify('aexd_executions', NEW.id || ' ' || NEW.revision);
  IF TG_OP = 'INSERT' THEN
    PERFORM aexd_count('aex', '', -1, 1), aexd_count('aex', '', NEW.phase, 1),
            aexd_count('aex.session', NEW.session_id, -1, 1);
    RETURN NULL;
  END IF;
  IF OLD.phase <> NEW.phase THEN
    PERFORM aexd_count('aex', '', OLD.phase, -1), aexd_count('aex', '', NEW.phase, 1);
    PERFORM aexd_count('aex.tag', tag, OLD.phase, -1), aexd_count('aex.tag', tag, NEW.phase, 1)
      FROM execution_tags WHERE execution_id = NEW.id;
    -- A lease lives as long as its execution is unfinished.
    IF NEW.phase IN (3, 4, 5, 8) THEN DELETE FROM leases WHERE execution_id = NEW.id; END IF;
  END IF;
  IF OLD.session_id <> NEW.session_id THEN
    PERFORM aexd_count('aex.session', OLD.session_id, -1, -1), aexd_count('aex.session', NEW.session_id, -1, 1);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER executions_changed AFTER INSERT OR UPDATE OR DELETE ON executions
  FOR EACH ROW EXECUTE FUNCTION executions_changed();

CREATE FUNCTION execution_tags_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM aexd_count('aex.tag', NEW.tag, -1, 1);
    PERFORM aexd_count('aex.tag', NEW.tag, phase, 1) FROM executions WHERE id = NEW.execution_id;
  ELSE
    PERFORM aexd_count('aex.tag', OLD.tag, -1, -1);
    PERFORM aexd_count('aex.tag', OLD.tag, phase, -1) FROM executions WHERE id = OLD.execution_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER execution_tags_counted AFTER INSERT OR DELETE ON execution_tags
  FOR EACH ROW EXECUTE FUNCTION execution_tags_counted();

CREATE FUNCTION sessions_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    PERFORM aexd_count('ses', '', -1, -1), aexd_count('ses.agent', OLD.agent_id, -1, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM aexd_count('ses', '', -1, 1), aexd_count('ses.agent', NEW.agent_id, -1, 1);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sessions_counted AFTER INSERT OR DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION sessions_counted();
CREATE TRIGGER sessions_recounted AFTER UPDATE OF agent_id ON sessions
  FOR EACH ROW WHEN (OLD.agent_id <> NEW.agent_id) EXECUTE FUNCTION sessions_counted();

CREATE FUNCTION session_tags_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM aexd_count('ses.tag', NEW.tag, -1, 1);
  ELSE
    PERFORM aexd_count('ses.tag', OLD.tag, -1, -1);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER session_tags_counted AFTER INSERT OR DELETE ON session_tags
  FOR EACH ROW EXECUTE FUNCTION session_tags_counted();
)sql",
};

int64_t version_of(Connection& db) {
  auto q = db.query("SELECT coalesce(max(version), 0) FROM aexd_schema");
  return q.step() ? q.integer(0) : 0;
}

}  // namespace

int schema_version() { return static_cast<int>(std::size(kMigrations)); }

void migrate(Connection& db) {
  db.exec("BEGIN");
  try {
    // Processes starting together wait here for the first one's migrations, then find nothing to do.
    db.exec(std::string("SELECT pg_advisory_xact_lock(") + kLockClass + ", -1)");
    db.exec("CREATE TABLE IF NOT EXISTS aexd_schema(version BIGINT NOT NULL)");
    const int64_t current = version_of(db);
    if (current > schema_version())
      throw Error("", "database schema version " + std::to_string(current) + " is newer than this aexd supports (" +
                          std::to_string(schema_version()) + ")");
    for (int64_t v = current; v < schema_version(); ++v) {
      db.exec(kMigrations[v]);
      db.exec("INSERT INTO aexd_schema VALUES(" + std::to_string(v + 1) + ")");
    }
    db.exec("COMMIT");
  } catch (...) {
    PQclear(PQexec(db.handle(), "ROLLBACK"));
    throw;
  }
}

int take_writer_slot(Connection& db) {
  for (int slot = 0; slot < kMaxWriterSlots; ++slot) {
    auto q = db.query(std::string("SELECT pg_try_advisory_lock(") + kLockClass + ", $1::bigint::int)::int");
    if (q.bind(int64_t{slot}).step() && q.integer(0) == 1) {
      db.exec("SELECT set_config('aexd.slot', '" + std::to_string(slot) + "', false)");
      return slot;
    }
  }
  throw Error("", "every one of " + std::to_string(kMaxWriterSlots) + " writer slots is taken");
}

}  // namespace aexd::store::postgres
