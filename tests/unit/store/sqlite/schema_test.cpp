#include "store/sqlite/schema.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

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
