#include "store/sqlite/database_file.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "support/sqlite_files.h"
#include "support/temp_dir.h"

using namespace aexd;
namespace fs = std::filesystem;
using store::sqlite::check_database_file;
using store::sqlite::Connection;
using store::sqlite::Sync;

namespace {

/// The message check_database_file refuses `path` with; empty if it accepts it.
std::string refusal(const fs::path& path) {
  try {
    check_database_file(path.string());
    return "";
  } catch (const store::sqlite::Error& e) {
    return e.what();
  }
}

struct Fixture {
  test::TempDir dir;
  fs::path path = dir.path() / "aexd.db";

  void run_sql(const std::string& sql) { test::run_sql(path, sql); }
  void write_aexd() { store::sqlite::migrate(*Connection::open(path.string(), Sync::off)); }

  /// Refused, with a message containing `reason`, and the directory exactly as it was.
  void check_refused_untouched(const std::string& reason) {
    const auto files = test::files_in(dir.path());
    const auto bytes = test::file_bytes(path);
    const auto message = refusal(path);
    CHECK_MESSAGE(message.find(reason) != std::string::npos, message);
    CHECK(test::files_in(dir.path()) == files);
    CHECK(test::file_bytes(path) == bytes);
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "a missing database file is accepted and nothing is created") {
  CHECK(refusal(path).empty());
  CHECK(test::files_in(dir.path()).empty());
}

TEST_CASE_FIXTURE(Fixture, "a zero-length file is accepted and left as it was") {
  std::ofstream(path).close();
  CHECK(refusal(path).empty());
  CHECK(fs::file_size(path) == 0);
  CHECK(test::files_in(dir.path()) == std::set<std::string>{"aexd.db"});
}

TEST_CASE_FIXTURE(Fixture, "an SQLite file with no schema objects at all is accepted") {
  run_sql("CREATE TABLE scratch(x); DROP TABLE scratch;");
  REQUIRE(fs::file_size(path) > 0);
  CHECK(refusal(path).empty());
}

TEST_CASE_FIXTURE(Fixture, "aexd's own database is accepted, and migration marks it with aexd's application_id") {
  write_aexd();
  CHECK(refusal(path).empty());
  CHECK(test::query_text(path, "PRAGMA application_id") == std::to_string(store::sqlite::kApplicationId));
}

TEST_CASE_FIXTURE(Fixture, "an earlier aexd's database, without the application_id, is accepted and marked") {
  write_aexd();
  run_sql("PRAGMA application_id = 0; PRAGMA user_version = 5;");
  CHECK(refusal(path).empty());
  write_aexd();
  CHECK(test::query_text(path, "PRAGMA application_id") == std::to_string(store::sqlite::kApplicationId));
  CHECK(test::query_text(path, "PRAGMA user_version") == std::to_string(store::sqlite::schema_version()));
}

TEST_CASE_FIXTURE(Fixture,
                  "a database left with its WAL by a crash is judged by what the WAL holds, and left as it was") {
  auto writer = Connection::open(path.string(), Sync::off);  // kept open: its -wal and -shm stay
  store::sqlite::migrate(*writer);
  bool newer = false;
  SUBCASE("at this build's schema version") {}
  SUBCASE("at a newer one, which only the WAL holds") {
    newer = true;
    writer->exec(("PRAGMA user_version=" + std::to_string(store::sqlite::schema_version() + 1)).c_str());
  }
  for (const bool with_shm : {true, false}) {  // without its -shm, none is left behind either
    CAPTURE(with_shm);
    const fs::path copy = dir.path() / (with_shm ? "with-shm" : "without-shm");
    fs::create_directory(copy);
    for (const std::string suffix : {"", "-wal", "-shm"})
      if (with_shm || suffix != "-shm") fs::copy(path.string() + suffix, copy / ("aexd.db" + suffix));
    const auto files = test::files_in(copy);
    REQUIRE(files.contains("aexd.db-wal"));
    const auto bytes = test::file_bytes(copy / "aexd.db");
    const auto message = refusal(copy / "aexd.db");
    CHECK_MESSAGE(message.empty() == !newer, message);
    CHECK((message.find("is newer than this aexd supports") != std::string::npos) == newer);
    CHECK(test::files_in(copy) == files);
    CHECK(test::file_bytes(copy / "aexd.db") == bytes);
  }
}

TEST_CASE_FIXTURE(Fixture, "another program's database is refused, naming a table aexd does not create, untouched") {
  run_sql("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES(1, 'ada');");
  check_refused_untouched("not an aexd database: it has table 'customers'");
}

TEST_CASE_FIXTURE(Fixture, "a database marked by another application is refused untouched, even in WAL mode") {
  // 0x47504b47 is "GPKG", GeoPackage's application_id.
  run_sql("PRAGMA journal_mode=WAL; PRAGMA application_id = 1196444487; CREATE TABLE packages(name TEXT);");
  REQUIRE(test::files_in(dir.path()) == std::set<std::string>{"aexd.db"});  // the last close removed its WAL
  check_refused_untouched("another application's database (application_id 0x47504b47, aexd's is 0x61657864)");
}

TEST_CASE_FIXTURE(Fixture,
                  "a user_version with foreign tables and no application_id is not taken for an earlier aexd") {
  run_sql("PRAGMA user_version = 3; CREATE TABLE executions(x); CREATE TABLE ledger(x);");
  check_refused_untouched("it has table 'ledger'");
}

TEST_CASE_FIXTURE(Fixture, "schema objects without any table of aexd's or user_version are refused") {
  run_sql("CREATE VIEW answer AS SELECT 42;");
  check_refused_untouched("not an aexd database");
}

TEST_CASE_FIXTURE(Fixture, "aexd's database from a newer aexd is refused untouched") {
  write_aexd();
  run_sql("PRAGMA user_version = " + std::to_string(store::sqlite::schema_version() + 1));
  check_refused_untouched("is newer than this aexd supports");
}

TEST_CASE_FIXTURE(Fixture, "a file that is not an SQLite database is refused untouched") {
  std::ofstream(path) << std::string(8192, 'x');
  check_refused_untouched("not an SQLite database");
}

TEST_CASE_FIXTURE(Fixture, "a corrupt database is refused untouched") {
  write_aexd();
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);  // past the file header: page 1's b-tree, the schema table
    file << std::string(400, '\xff');
  }
  check_refused_untouched("corrupt");
}

TEST_CASE_FIXTURE(Fixture, "a database in a directory that does not exist is refused, naming the directory") {
  const auto message = refusal(dir.path() / "missing" / "aexd.db");
  CHECK(message.find("directory " + (dir.path() / "missing").string() + " is not writable") != std::string::npos);
}
