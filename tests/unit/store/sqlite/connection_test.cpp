#include "store/sqlite/connection.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "support/temp_db.h"

using namespace aexd;

TEST_CASE("a WAL that a burst grew past the limit is cut back to the limit when it starts over") {
  test::TempDb temp;
  const std::string path = temp.path();
  auto db = store::sqlite::Connection::open(path, store::sqlite::Sync::normal);
  sqlite3_wal_autocheckpoint(db->handle(), 0);
  db->exec("CREATE TABLE t(b BLOB)");
  constexpr int64_t kChunk = 1 << 20;
  db->exec("BEGIN");
  for (int64_t written = 0; written <= store::sqlite::kWalSizeLimit + 16 * kChunk; written += kChunk)
    db->query("INSERT INTO t VALUES(zeroblob(?))").bind(kChunk).run();
  db->exec("COMMIT");
  const auto wal = path + "-wal";
  REQUIRE(static_cast<int64_t>(std::filesystem::file_size(wal)) > store::sqlite::kWalSizeLimit);

  int log_frames = -1, copied = -1;
  REQUIRE(sqlite3_wal_checkpoint_v2(db->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied) ==
          SQLITE_OK);
  REQUIRE(copied == log_frames);
  db->exec("INSERT INTO t VALUES(x'00')");

  CHECK(static_cast<int64_t>(std::filesystem::file_size(wal)) <= store::sqlite::kWalSizeLimit);
  CHECK(db->query("SELECT count(*) FROM t").step());
}
