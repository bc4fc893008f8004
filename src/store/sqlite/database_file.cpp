#include "store/sqlite/database_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"

namespace aexd::store::sqlite {
namespace {

namespace fs = std::filesystem;

/// Throws unless this process may write `path` (EROFS for a read-only mount, EACCES, EPERM for an
/// immutable file; as root only the first and last).
void check_writable(const fs::path& path, const char* what) {
  if (access(path.c_str(), W_OK) != 0)
    throw Error(SQLITE_READONLY, std::string(what) + " " + path.string() + " is not writable: " + std::strerror(errno));
}

/// The schema objects, read as the file stands. Without a WAL file the file is all there is, so it
/// is read as immutable (no lock, no -wal or -shm created); with one (left by a crash, or a running
/// writer), through it, removing a -shm the read had to create.
void check_contents(const std::string& path) {
  const bool had_wal = fs::exists(path + "-wal"), had_shm = fs::exists(path + "-shm");
  std::optional<Error> refused;
  try {
    auto db = Connection::open_read_only(path, !had_wal);
    check_adoptable(*db);
  } catch (const Error& e) {
    const int code = e.code & 0xff;
    refused = code == SQLITE_NOTADB    ? Error(e.code, "not an SQLite database")
              : code == SQLITE_CORRUPT ? Error(e.code, std::string("corrupt: ") + e.what())
                                       : e;
  }
  std::error_code ignored;
  if (had_wal && !had_shm) fs::remove(path + "-shm", ignored);
  if (refused) throw *refused;
}

}  // namespace

void check_database_file(const std::string& path) {
  // SQLite creates the -wal and -shm files beside the database: its directory must be writable too.
  check_writable(fs::absolute(path).parent_path(), "directory");
  std::error_code error;
  const auto status = fs::status(path, error);
  if (!fs::exists(status)) return;  // aexd creates it
  if (!fs::is_regular_file(status)) throw Error(SQLITE_CANTOPEN, "not a regular file");
  check_writable(path, "file");
  if (fs::file_size(path, error) == 0 && !error) return;  // empty: aexd initialises it
  check_contents(path);
}

}  // namespace aexd::store::sqlite
