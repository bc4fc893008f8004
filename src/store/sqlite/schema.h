// The database schema, as an ordered list of migrations tracked in PRAGMA user_version.
#pragma once

#include "store/sqlite/connection.h"

namespace aexd::store::sqlite {

/// Applies every migration newer than the database's user_version, each in its own transaction.
/// Throws Error if the database was written by a newer aexd.
void migrate(Connection& db);

/// The schema version this build writes.
int schema_version();

}  // namespace aexd::store::sqlite
