// Unit-test databases: a migrated SQLite file in a fresh temporary directory, removed afterwards.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "support/temp_dir.h"

namespace aexd::test {

class TempDb {
 public:
  std::string path() const { return (dir_.path() / "aexd.db").string(); }
  /// A new connection to the database, migrated to the current schema.
  std::unique_ptr<store::sqlite::Connection> open() const {
    auto db = store::sqlite::Connection::open(path(), store::sqlite::Sync::off);
    store::sqlite::migrate(*db);
    return db;
  }

 private:
  TempDir dir_;
};

inline int64_t user_version(store::sqlite::Connection& db) {
  auto q = db.query("PRAGMA user_version");
  REQUIRE(q.step());
  return q.integer(0);
}

}  // namespace aexd::test
