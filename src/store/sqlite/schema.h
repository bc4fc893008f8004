// The database schema, as an ordered list of migrations tracked in PRAGMA user_version.
#pragma once

#include <cstdint>

#include "store/sqlite/connection.h"

namespace aexd::store::sqlite {

/// Applies every migration newer than the database's user_version, each in its own transaction.
/// Throws Error if the database was written by a newer aexd.
void migrate(Connection& db);

/// The schema version this build writes.
int schema_version();

/// PRAGMA application_id of aexd's databases: "aexd" in ASCII.
inline constexpr int64_t kApplicationId = 0x61657864;

/// Throws Error saying why unless the database on `db` (opened read-only, before anything writes it)
/// is one aexd may initialise or migrate: one with no schema objects at all, or aexd's own (its
/// application_id, or an earlier aexd's user_version and tables with application_id 0) at a schema
/// version this build knows.
void check_adoptable(Connection& db);

}  // namespace aexd::store::sqlite
