#include "store/sqlite/schema.h"

#include <doctest/doctest.h>
#include <google/protobuf/util/time_util.h>

#include <optional>
#include <string>
#include <vector>

#include "domain/audit.h"
#include "store/sqlite/rows.h"
#include "support/temp_db.h"

using namespace aexd;
using aexd::test::TempDb;
using aexd::test::user_version;

namespace {

std::vector<std::string> schema_objects(store::sqlite::Connection& db) {
  std::vector<std::string> names;
  auto q = db.query("SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY name");
  while (q.step()) names.emplace_back(q.text(0));
  return names;
}

}  // namespace

TEST_CASE("the schema has at least one migration") { CHECK(store::sqlite::schema_version() >= 1); }

TEST_CASE("migrate on a fresh database sets user_version to the schema version") {
  TempDb dir;
  auto db = store::sqlite::Connection::open(dir.path(), store::sqlite::Sync::off);
  REQUIRE(user_version(*db) == 0);
  store::sqlite::migrate(*db);
  CHECK(user_version(*db) == store::sqlite::schema_version());
}

TEST_CASE("migrate creates the resource tables") {
  TempDb dir;
  auto db = dir.open();
  for (const char* table : {"agents", "agent_instances", "sessions", "session_tags", "executions", "execution_tags"}) {
    CAPTURE(table);
    auto q = db->query("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?");
    REQUIRE(q.bind(table).step());
    CHECK(q.integer(0) == 1);
  }
}

TEST_CASE("migrate on an up-to-date database changes nothing") {
  TempDb dir;
  auto db = dir.open();
  db->exec("INSERT INTO agents(id, owner_scope, org, slug, body) VALUES('agt-x', 2, 'acme', 'x', x'')");
  const auto before = schema_objects(*db);
  store::sqlite::migrate(*db);
  CHECK(user_version(*db) == store::sqlite::schema_version());
  CHECK(schema_objects(*db) == before);
  auto q = db->query("SELECT count(*) FROM agents");
  REQUIRE(q.step());
  CHECK(q.integer(0) == 1);
}

TEST_CASE("a database reopened after migration is recognised as current") {
  TempDb dir;
  dir.open();
  auto db = store::sqlite::Connection::open(dir.path(), store::sqlite::Sync::off);
  CHECK(user_version(*db) == store::sqlite::schema_version());
  const auto before = schema_objects(*db);
  CHECK_NOTHROW(store::sqlite::migrate(*db));
  CHECK(schema_objects(*db) == before);
}

TEST_CASE("a database written by a newer schema is refused and left as it was") {
  TempDb dir;
  auto db = dir.open();
  const int newer = store::sqlite::schema_version() + 1;
  db->exec(("PRAGMA user_version=" + std::to_string(newer)).c_str());
  const auto before = schema_objects(*db);
  CHECK_THROWS_AS(store::sqlite::migrate(*db), store::sqlite::Error);
  CHECK(user_version(*db) == newer);
  CHECK(schema_objects(*db) == before);
}

TEST_CASE("the migration that adds the ended time fills it in for executions that had already ended") {
  using google::protobuf::util::TimeUtil;
  TempDb dir;
  auto db = dir.open();
  Execution done;
  done.mutable_metadata()->set_id("aex-done");
  done.mutable_spec()->set_session_id("ses-1");
  done.mutable_spec()->set_agent_id("agt-1");
  done.mutable_status()->set_phase(exv1::EXECUTION_COMPLETED);
  *done.mutable_status()->mutable_audit()->mutable_status_audit()->mutable_updated_at() =
      TimeUtil::MillisecondsToTimestamp(1'700'000'000'250);
  Execution running = done;
  running.mutable_metadata()->set_id("aex-running");
  running.mutable_status()->set_phase(exv1::EXECUTION_IN_PROGRESS);
  Execution undated = done;  // no status time at all: counts as ending when the migration runs
  undated.mutable_metadata()->set_id("aex-undated");
  undated.mutable_status()->set_phase(exv1::EXECUTION_TERMINATED);
  undated.mutable_status()->clear_audit();
  for (const auto* e : {&done, &running, &undated}) store::sqlite::insert(*db, *e);
  // Back to schema version 4, then migrate again.
  db->exec("DROP INDEX executions_by_ended; ALTER TABLE executions DROP COLUMN ended_ms; PRAGMA user_version = 4");
  const int64_t migrated_after = TimeUtil::TimestampToMilliseconds(aexd::now());
  store::sqlite::migrate(*db);

  auto ended = [&](const char* id) {
    auto q = db->query("SELECT ended_ms FROM executions WHERE id=?");
    REQUIRE(q.bind(id).step());
    return q.is_null(0) ? std::optional<int64_t>() : std::optional<int64_t>(q.integer(0));
  };
  CHECK(ended("aex-done") == std::optional<int64_t>(1'700'000'000'250));
  CHECK_FALSE(ended("aex-running").has_value());
  REQUIRE(ended("aex-undated").has_value());
  CHECK(*ended("aex-undated") >= migrated_after);
  CHECK(store::sqlite::oldest_ended(*db) == std::optional<int64_t>(1'700'000'000'250));
  CHECK(store::sqlite::ended_before(*db, 1'700'000'000'250, 10) == std::vector<std::string>{"aex-done"});
  CHECK(store::sqlite::ended_before(*db, migrated_after + 60'000, 1) == std::vector<std::string>{"aex-done"});
}

TEST_CASE("the ended-time lookups read the ended-time index, not the table") {
  TempDb dir;
  auto db = dir.open();
  for (const char* sql : {store::sqlite::kEndedBefore, store::sqlite::kOldestEnded}) {
    CAPTURE(sql);
    std::string plan;
    for (auto q = db->query(std::string("EXPLAIN QUERY PLAN ") + sql); q.step();) plan += std::string(q.text(3)) + "\n";
    CHECK(plan.find("executions_by_ended") != std::string::npos);
    CHECK(plan.find("TEMP B-TREE") == std::string::npos);
  }
}
