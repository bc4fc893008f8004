// Thin RAII over SQLite: a Connection owns one handle and caches its prepared statements.
// SQLite failures throw sqlite::Error; store/sqlite/operations.h turns them into a grpc::Status at
// the storage interface, so no exception leaves store/sqlite. A Connection is used by one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/sync.h"

namespace aexd::store::sqlite {

struct Error : std::runtime_error {
  Error(int code, const std::string& what, int system_errno = 0)
      : std::runtime_error(what), code(code), system_errno(system_errno) {}
  int code;          // SQLite's extended result code
  int system_errno;  // errno of the I/O call that failed, when one did (ENOSPC, EROFS, ...)
};

using store::Sync;

/// Bytes a WAL file keeps on disk once it starts over after a checkpoint; a burst of writes can
/// grow it well past this while checkpoints lag behind.
inline constexpr int64_t kWalSizeLimit = int64_t{64} << 20;

/// One bound execution of a cached statement; resets it when it goes out of scope.
/// Parameters bind in order; columns are read by index.
class Query {
 public:
  explicit Query(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query();

  Query& bind(std::string_view text);
  Query& bind(int64_t value);
  Query& bind_blob(std::string_view bytes);
  Query& bind_null();

  /// Advances to the next row; false when there is none.
  bool step();
  /// Runs a statement that returns no rows.
  void run();

  int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string_view text(int column) const;
  std::string_view blob(int column) const;

 private:
  sqlite3_stmt* stmt_;
  int next_ = 1;
};

class Connection {
 public:
  /// Opens (creating if needed) a database in WAL mode with the given durability.
  static std::unique_ptr<Connection> open(const std::string& path, Sync sync);
  /// Opens an existing database only to read it, as it is: no journal mode or other setting is
  /// changed. `immutable` (for a file no process writes, with no WAL file beside it) takes no locks
  /// and creates no -wal or -shm file.
  static std::unique_ptr<Connection> open_read_only(const std::string& path, bool immutable);
  ~Connection();

  void exec(const char* sql);
  /// A prepared statement cached for the life of the connection.
  Query query(std::string_view sql);
  sqlite3* handle() { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  [[noreturn]] void fail(int code, std::string_view context) const;

  // Looked up by string_view, so that a cached statement costs no allocation per call.
  struct Hash : std::hash<std::string_view> {
    using is_transparent = void;
  };
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*, Hash, std::equal_to<>> statements_;
};

}  // namespace aexd::store::sqlite
