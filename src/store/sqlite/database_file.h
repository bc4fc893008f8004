// The start-up check of the database file, made before anything opens it for writing: aexd
// initialises only an empty file, migrates only its own, and serves only one it can write.
// Call from the thread that opens the storage, before SqliteStorage does.
#pragma once

#include <string>

namespace aexd::store::sqlite {

/// Throws Error saying why (without the path) unless the file at `path` is one aexd may use: absent
/// or zero-length, an SQLite file with no schema objects, or aexd's own at a version it knows; and
/// the file and its directory writable. Whatever it refuses is left byte-for-byte as it was, with no
/// -wal or -shm file created beside it.
void check_database_file(const std::string& path);

}  // namespace aexd::store::sqlite
