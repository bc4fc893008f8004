#include "store/sqlite/connection.h"

namespace aexd::store::sqlite {

Query::~Query() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Query& Query::bind(std::string_view text) {
  sqlite3_bind_text(stmt_, next_++, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  return *this;
}

Query& Query::bind(int64_t value) {
  sqlite3_bind_int64(stmt_, next_++, value);
  return *this;
}

Query& Query::bind_blob(std::string_view bytes) {
  sqlite3_bind_blob(stmt_, next_++, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
  return *this;
}

Query& Query::bind_null() {
  sqlite3_bind_null(stmt_, next_++);
  return *this;
}

bool Query::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  throw Error(rc, std::string("sqlite: ") + sqlite3_errmsg(db), sqlite3_system_errno(db));
}

void Query::run() {
  while (step()) {
  }
}

std::string_view Query::text(int column) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return {p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::string_view Query::blob(int column) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  return {p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::unique_ptr<Connection> Connection::open(const std::string& path, Sync sync) {
  // SQLite's allocation statistics take a global mutex on every malloc and free of every
  // connection; nothing here reads them. Settable only before the library initialises.
  static const int unused = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)unused;
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Connection> conn(new Connection(db));
  if (rc != SQLITE_OK) conn->fail(rc, "cannot open database " + path);
  sqlite3_extended_result_codes(db, 1);  // a unique index's violation is told apart from other constraints
  sqlite3_busy_timeout(db, 5000);
  conn->exec("PRAGMA journal_mode=WAL");
  conn->exec(sync == Sync::full     ? "PRAGMA synchronous=FULL"
             : sync == Sync::normal ? "PRAGMA synchronous=NORMAL"
                                    : "PRAGMA synchronous=OFF");
  // Savepoint journals stay in memory (one per job in a group commit); a larger page cache and
  // memory-mapped reads keep hot b-tree pages out of read() calls.
  conn->exec("PRAGMA temp_store=MEMORY");
  conn->exec("PRAGMA cache_size=-32768");
  conn->exec("PRAGMA mmap_size=268435456");
  conn->exec(("PRAGMA journal_size_limit=" + std::to_string(kWalSizeLimit)).c_str());
  return conn;
}

std::unique_ptr<Connection> Connection::open_read_only(const std::string& path, bool immutable) {
  std::string uri = "file:";
  for (char c : path) {  // the characters a URI path must escape
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789abcdef";
      uri += {'%', kHex[static_cast<unsigned char>(c) >> 4], kHex[c & 0xf]};
    } else {
      uri += c;
    }
  }
  uri += immutable ? "?mode=ro&immutable=1" : "?mode=ro";
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Connection> conn(new Connection(db));
  if (rc != SQLITE_OK) conn->fail(rc, "cannot open database " + path);
  sqlite3_extended_result_codes(db, 1);
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

void Connection::exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc, sql);
}

Query Connection::query(std::string_view sql) {
  if (auto it = statements_.find(sql); it != statements_.end()) return Query(it->second);
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) fail(rc, sql);
  statements_.emplace(sql, stmt);
  return Query(stmt);
}

void Connection::fail(int code, std::string_view context) const {
  throw Error(code, std::string(context) + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(code)),
              db_ ? sqlite3_system_errno(db_) : 0);
}

}  // namespace aexd::store::sqlite
