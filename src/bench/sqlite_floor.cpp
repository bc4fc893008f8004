#include "bench/sqlite_floor.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace aexd::bench {
namespace {

using Clock = std::chrono::steady_clock;

class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK)
      fail("open " + path);
  }
  ~Db() {
    sqlite3_finalize(insert_);
    sqlite3_close_v2(db_);
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
  }
  void prepare_insert() {
    // An upsert keyed like aexd's tables (text id, protobuf blob), the shape of a status write.
    const char* sql = "INSERT INTO rows(id, body) VALUES(?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body";
    if (sqlite3_prepare_v2(db_, sql, -1, &insert_, nullptr) != SQLITE_OK) fail(sql);
  }
  void insert(const std::string& id, const std::string& body) {
    sqlite3_bind_text(insert_, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert_, 2, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    if (sqlite3_step(insert_) != SQLITE_DONE) fail("insert");
    sqlite3_reset(insert_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("sqlite-floor: " + what + ": " + sqlite3_errmsg(db_));
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

std::string pragma_for(const std::string& sync) {
  if (sync == "full") return "PRAGMA synchronous=FULL";
  if (sync == "normal") return "PRAGMA synchronous=NORMAL";
  if (sync == "off") return "PRAGMA synchronous=OFF";
  throw std::runtime_error("sqlite-floor: unknown --sync " + sync);
}

// Ids grow like ULIDs do, so rows append at the end of the primary key index as aexd's do.
std::string row_id(uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "aex-%026llu", static_cast<unsigned long long>(n));
  return buf;
}

double rows_per_second(Db& db, uint64_t first, uint64_t rows, uint64_t batch, const std::string& body) {
  const auto start = Clock::now();
  for (uint64_t done = 0; done < rows;) {
    db.exec("BEGIN IMMEDIATE");
    for (uint64_t i = 0; i < batch && done < rows; ++i, ++done) db.insert(row_id(first + done), body);
    db.exec("COMMIT");
  }
  const std::chrono::duration<double> elapsed = Clock::now() - start;
  return static_cast<double>(rows) / elapsed.count();
}

}  // namespace

FloorResult run_sqlite_floor(const FloorOptions& o) {
  const auto dir = o.dir.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(o.dir);
  std::string pattern = (dir / "aexbench-floor-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("sqlite-floor: cannot create a directory in " + dir.string());
  const std::filesystem::path tmp = pattern;
  FloorResult result;
  result.path = (tmp / "floor.db").string();
  try {
    Db db(result.path);
    db.exec("PRAGMA journal_mode=WAL");
    db.exec(pragma_for(o.sync));
    db.exec("PRAGMA foreign_keys=OFF");
    db.exec("CREATE TABLE rows(id TEXT PRIMARY KEY, body BLOB NOT NULL)");
    db.prepare_insert();
    const std::string body(o.row_bytes, 'x');
    result.single_rows_per_second = rows_per_second(db, 0, o.rows, 1, body);
    result.batched_rows_per_second = rows_per_second(db, o.rows, o.rows, std::max<uint64_t>(1, o.batch), body);
  } catch (...) {
    std::filesystem::remove_all(tmp);
    throw;
  }
  std::filesystem::remove_all(tmp);
  return result;
}

}  // namespace aexd::bench
