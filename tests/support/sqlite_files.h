// Database files as another program sees them: their bytes, the names in their directory, and SQL
// run through a plain SQLite connection of the test's own (not aexd's Connection). Test thread only.
#pragma once

#include <sqlite3.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace aexd::test {

inline std::string file_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline std::set<std::string> files_in(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

/// Runs `sql` on the database at `path` (created if missing), as a program other than aexd would.
inline void run_sql(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << message);
}

/// The first column of each row `sql` returns, one line each, read from the database at `path`.
inline std::string query_text(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  std::string rows;
  while (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
    rows += (rows.empty() ? "" : "\n") + std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, sql);
  return rows;
}

}  // namespace aexd::test
