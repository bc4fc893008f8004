// Unit-test databases: a migrated SQLite file in a fresh temporary directory, removed afterwards.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite/schema.h"
#include "store/sqlite/connection.h"

namespace aexd::test {

class TempDb {
 public:
  TempDb() {
    std::string pattern = (std::filesystem::temp_directory_path() / "aexd-unit-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
  }
  ~TempDb() { std::filesystem::remove_all(dir_); }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;

  std::string path() const { return (dir_ / "aexd.db").string(); }
  /// A new connection to the database, migrated to the current schema.
  std::unique_ptr<store::sqlite::Connection> open() const {
    auto db = store::sqlite::Connection::open(path(), store::sqlite::Sync::off);
    store::sqlite::migrate(*db);
    return db;
  }

 private:
  std::filesystem::path dir_;
};

inline int64_t user_version(store::sqlite::Connection& db) {
  auto q = db.query("PRAGMA user_version");
  REQUIRE(q.step());
  return q.integer(0);
}

}  // namespace aexd::test
