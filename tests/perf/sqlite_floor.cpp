// sqlite_floor: durable 1 KiB inserts per second into a temporary database opened exactly as aexd
// opens its own (store/sqlite/connection.h: WAL, the --sync mode, the same pragmas), one row per
// transaction and batched, so the server's write figures can be read against what SQLite alone does.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "store/sqlite/connection.h"

namespace {

using namespace aexd::store::sqlite;
using Clock = std::chrono::steady_clock;

// Ids grow like ULIDs do, so rows append at the end of the primary key index as aexd's do.
std::string row_id(uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "aex-%026llu", static_cast<unsigned long long>(n));
  return buf;
}

// An upsert keyed like aexd's tables (text id, protobuf blob): the shape of a status write.
double rows_per_second(Connection& db, uint64_t first, uint64_t rows, uint64_t batch, const std::string& body) {
  const auto start = Clock::now();
  for (uint64_t done = 0; done < rows;) {
    db.exec("BEGIN IMMEDIATE");
    for (uint64_t i = 0; i < batch && done < rows; ++i, ++done)
      db.query("INSERT INTO rows(id, body) VALUES(?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body")
          .bind(row_id(first + done))
          .bind_blob(body)
          .run();
    db.exec("COMMIT");
  }
  return static_cast<double>(rows) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  Sync sync = Sync::normal;
  uint64_t rows = 20000, batch = 256;
  size_t row_bytes = 1024;
  std::string dir = std::filesystem::temp_directory_path().string();
  CLI::App app{"sqlite_floor - raw durable inserts/s with aexd's own connection setup"};
  const std::map<std::string, Sync> syncs{{"full", Sync::full}, {"normal", Sync::normal}, {"off", Sync::off}};
  app.add_option("--sync", sync, "synchronous mode, as aexd --sync")->transform(CLI::CheckedTransformer(syncs));
  app.add_option("-n,--rows", rows, "rows per figure")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", batch, "rows per transaction for the batched figure")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--row-bytes", row_bytes, "blob size")->capture_default_str();
  app.add_option("--dir", dir, "directory for the temporary database")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::string pattern = (std::filesystem::path(dir) / "sqlite-floor-XXXXXX").string();
  if (!mkdtemp(pattern.data())) {
    std::fprintf(stderr, "sqlite_floor: cannot create a directory in %s\n", dir.c_str());
    return 1;
  }
  const std::filesystem::path tmp = pattern;
  int rc = 0;
  try {
    auto db = Connection::open((tmp / "floor.db").string(), sync);
    db->exec("CREATE TABLE rows(id TEXT PRIMARY KEY, body BLOB NOT NULL)");
    const std::string body(row_bytes, 'x');
    const double single = rows_per_second(*db, 0, rows, 1, body);
    const double batched = rows_per_second(*db, rows, rows, batch, body);
    std::printf("sqlite_floor: %zu-byte rows, aexd's connection setup, %llu rows per figure\n", row_bytes,
                static_cast<unsigned long long>(rows));
    std::printf("  1 row per transaction:     %.0f rows/s\n", single);
    std::printf("  %llu rows per transaction: %.0f rows/s\n", static_cast<unsigned long long>(batch), batched);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sqlite_floor: %s\n", e.what());
    rc = 1;
  }
  std::filesystem::remove_all(tmp);
  return rc;
}
