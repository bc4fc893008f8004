// The database a test's server gets: a SQLite file in the test's temporary directory, or, with
// AEXD_TEST_BACKEND=postgresql (tests/meson.build's suite postgresql), a fresh database of this
// process's throw-away PostgreSQL cluster. Test thread only.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "support/postgres_cluster.h"
#include "support/temp_dir.h"

namespace aexd::test {

/// What to pass as --db (Options::db): `dir`/aexd.db, or a new PostgreSQL database's URI.
inline std::string test_database(const TempDir& dir) {
  const char* set = std::getenv("AEXD_TEST_BACKEND");
  const std::string backend = set != nullptr && *set != '\0' ? set : "sqlite";
  REQUIRE_MESSAGE((backend == "sqlite" || backend == "postgresql"),
                  "AEXD_TEST_BACKEND=" << backend << ": expected sqlite or postgresql");
  if (backend == "postgresql") return PostgresCluster::shared().create_database();
  return (dir.path() / "aexd.db").string();
}

}  // namespace aexd::test
