// The postgresql suite's throw-away cluster (support/postgres_cluster.h): a real PostgreSQL server on
// 127.0.0.1 whose databases keep each test server's rows apart.
#include "support/postgres_cluster.h"

using namespace aexd::test;

TEST_CASE("the throw-away cluster creates separate databases: a table made in one is absent from the other") {
  auto& cluster = PostgresCluster::shared();
  const std::string first = cluster.create_database(), second = cluster.create_database();
  REQUIRE(first != second);
  CHECK(first.starts_with("postgresql://aexd@127.0.0.1:"));

  postgres_query(first, "CREATE TABLE executions(id TEXT PRIMARY KEY)");
  postgres_query(first, "INSERT INTO executions VALUES ('aex-1')");
  CHECK(postgres_query(first, "SELECT count(*) FROM executions") == "1");
  CHECK(postgres_query(second, "SELECT to_regclass('executions') IS NULL") == "t");
  CHECK(postgres_query(second, "SELECT current_database()") == second.substr(second.rfind('/') + 1));
}

TEST_CASE("the throw-away cluster runs without durability: tests need speed, not crash safety") {
  const std::string db = PostgresCluster::shared().create_database();
  CHECK(postgres_query(db, "SHOW fsync") == "off");
  CHECK(postgres_query(db, "SHOW full_page_writes") == "off");
  CHECK(postgres_query(db, "SHOW max_connections") == "300");
}
