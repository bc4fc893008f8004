// The PostgreSQL schema and its versioned migrations. migrate() is safe when several aexd processes
// start at once: one transaction under an advisory lock applies what is missing. Call from the
// thread that opens the storage.
#pragma once

#include "store/postgres/connection.h"

namespace aexd::store::postgres {

/// Migrations this aexd knows.
int schema_version();
/// Brings the database to schema_version(); Error when it is newer than this aexd.
void migrate(Connection& db);
/// Takes the lowest free writer slot of the database for this connection's session (an advisory
/// lock, released when the connection ends): the maintained counts keep one row per slot, so two
/// processes' writers never wait for each other's count rows.
int take_writer_slot(Connection& db);

}  // namespace aexd::store::postgres
