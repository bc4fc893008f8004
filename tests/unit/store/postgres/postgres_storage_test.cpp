#include "store/postgres/postgres_storage.h"

#include <doctest/doctest.h>

using aexd::store::postgres::is_postgres_uri;
using aexd::store::postgres::without_password;

TEST_CASE("a postgresql:// or postgres:// URI selects PostgreSQL; anything else is a SQLite file") {
  CHECK(is_postgres_uri("postgresql://aexd@db.example:5432/aexd"));
  CHECK(is_postgres_uri("postgres:///aexd?host=/run/postgresql"));
  CHECK_FALSE(is_postgres_uri("./aexd.db"));
  CHECK_FALSE(is_postgres_uri("/var/lib/postgresql://x.db"));
}

TEST_CASE("a database URI is logged without its password") {
  CHECK(without_password("postgresql://aexd:s3cret@db:5432/aexd") == "postgresql://aexd:***@db:5432/aexd");
  CHECK(without_password("postgresql://aexd:p%40ss@db/aexd?sslmode=require") ==
        "postgresql://aexd:***@db/aexd?sslmode=require");
  CHECK(without_password("postgresql://db/aexd?user=aexd&password=s3cret&sslmode=require") ==
        "postgresql://db/aexd?user=aexd&password=***&sslmode=require");
  CHECK(without_password("postgresql://aexd@db/aexd") == "postgresql://aexd@db/aexd");
  CHECK(without_password("postgresql://db/mail@box") == "postgresql://db/mail@box");
  CHECK(without_password("/var/lib/aexd/user:pw@host.db") == "/var/lib/aexd/user:pw@host.db");
}
