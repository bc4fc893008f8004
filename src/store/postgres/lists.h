// Keyset-paginated lists of executions and sessions, newest first, answered from indexes; totals
// come from the per-slot counts the schema's triggers maintain. Throws postgres::Error; call on the
// connection's thread.
#pragma once

#include <string>
#include <string_view>

#include "domain/types.h"
#include "store/list_query.h"
#include "store/postgres/connection.h"

namespace aexd::store::postgres {

/// Rows and total are read in one snapshot (a REPEATABLE READ transaction of their own, or the
/// write transaction they are read in).
ListPage<Execution> list(Connection& db, ListQuery<ExecutionFilter> query);
ListPage<Session> list(Connection& db, ListQuery<SessionFilter> query);

/// A row's body decoded; Error (data corrupted) naming the row when it cannot be.
template <class T>
T parse(std::string_view id, std::string_view body) {
  T r;
  if (!r.ParseFromArray(body.data(), static_cast<int>(body.size())))
    throw Error("XX001", std::string(KindOf<T>::name) + " " + std::string(id) + " is unreadable");
  return r;
}

}  // namespace aexd::store::postgres
