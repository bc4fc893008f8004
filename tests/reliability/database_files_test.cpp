// The real aexd binary against database files it must not take: each is refused at start-up with
// one line naming the file and the reason, a non-zero exit, and the file byte-for-byte as it was
// (no -wal or -shm left beside it). An empty file is initialised and served.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/aexd_process.h"
#include "support/client.h"
#include "support/requests.h"
#include "support/sqlite_files.h"
#include "support/temp_dir.h"
#include "support/tmpfs_mount.h"

using namespace aexd;
using namespace aexd::test;
namespace fs = std::filesystem;

namespace {

/// A database aexd made and served, with one agent in it, aexd stopped.
std::string served_agent_id(const fs::path& db) {
  AexdProcess aexd(db.string());
  const Client api(aexd.new_channel());
  const auto id = must(api.create(make_agent("kept"))).metadata().id();
  REQUIRE(aexd.stop().success());
  return id;
}

/// aexd refuses `db` with one line naming it and containing `reason`, and leaves its directory as it was.
void check_refused_untouched(const fs::path& db, const std::string& reason) {
  const fs::path dir = db.parent_path();
  const auto files = files_in(dir);
  const auto bytes = fs::exists(db) ? file_bytes(db) : "";
  const auto refused = run_aexd_expecting_refusal(db.string());
  CHECK_FALSE(refused.exit.success());
  std::string log;
  for (const auto& line : refused.lines) log += line + "\n";
  CAPTURE(log);
  REQUIRE(refused.lines.size() == 1);
  CHECK(refused.lines[0].find("cannot start") != std::string::npos);
  CHECK(refused.lines[0].find(db.string()) != std::string::npos);
  CHECK(refused.lines[0].find(reason) != std::string::npos);
  CHECK(files_in(dir) == files);
  if (fs::exists(db)) CHECK(file_bytes(db) == bytes);
}

}  // namespace

TEST_CASE("a zero-length database file is initialised, served, and marked as aexd's") {
  TempDir dir;
  const fs::path db = dir.path() / "aexd.db";
  std::ofstream(db).close();
  const auto id = served_agent_id(db);
  AexdProcess again(db.string());
  CHECK(Client(again.new_channel()).get<Agent>(id).ok());
  CHECK(query_text(db, "PRAGMA application_id") == std::to_string(0x61657864));  // "aexd"
}

TEST_CASE("another program's SQLite database is refused and left untouched") {
  TempDir dir;
  const fs::path db = dir.path() / "inventory.db";
  SUBCASE("rollback journal, tables of its own") {
    run_sql(db, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES(1, 'ada');");
    check_refused_untouched(db, "not an aexd database: it has table 'customers'");
  }
  SUBCASE("WAL mode, another application_id") {
    run_sql(db, "PRAGMA journal_mode=WAL; PRAGMA application_id=1196444487; CREATE TABLE packages(name TEXT);");
    check_refused_untouched(db, "another application's database (application_id 0x47504b47");
  }
}

TEST_CASE("a file that is not a database, a corrupt database, and a newer aexd's database are refused untouched") {
  TempDir dir;
  const fs::path db = dir.path() / "aexd.db";
  SUBCASE("not a database") {
    std::ofstream(db) << std::string(10000, 'x');
    check_refused_untouched(db, "not an SQLite database");
  }
  SUBCASE("corrupt") {
    served_agent_id(db);
    {
      std::fstream file(db, std::ios::in | std::ios::out | std::ios::binary);
      file.seekp(100);  // page 1's b-tree, right after the file header: the schema table
      file << std::string(400, '\xff');
    }
    check_refused_untouched(db, "corrupt");
  }
  SUBCASE("newer") {
    served_agent_id(db);
    run_sql(db, "PRAGMA user_version=1000");
    check_refused_untouched(db, "is newer than this aexd supports");
  }
}

TEST_CASE("a database on read-only storage is refused at start-up, and served again once writable") {
  TmpfsMount mount("16m");
  const fs::path db = mount.path() / "aexd.db";
  const auto id = served_agent_id(db);
  mount.remount_read_only();
  check_refused_untouched(db, "is not writable: Read-only file system");
  check_refused_untouched(mount.path() / "new.db", "directory " + mount.path().string() + " is not writable");

  mount.remount_writable();
  AexdProcess aexd(db.string());
  CHECK(Client(aexd.new_channel()).get<Agent>(id).ok());
}
