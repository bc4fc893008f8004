// Keyset-paginated lists of executions and sessions, newest first, answered from indexes; totals
// come from the counts schema migration 2 maintains. Throws sqlite::Error; call on the connection's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/types.h"
#include "store/list_query.h"
#include "store/sqlite/connection.h"

namespace aexd::store::sqlite {

/// A value bound to a `?` of a Statement: user input is always bound, never spliced into SQL.
using SqlValue = std::variant<int64_t, std::string>;

struct Statement {
  std::string sql;
  std::vector<SqlValue> params;  // in the order of the `?`s
};

/// Both read inside one read transaction, so rows and total agree with each other.
ListPage<Execution> list(Connection& db, ListQuery<ExecutionFilter> query);
ListPage<Session> list(Connection& db, ListQuery<SessionFilter> query);

/// The statements a list runs, exposed for plan and injection tests. `rows` yields (id, body), newest
/// first, at most page_size + 1 rows (the extra one says another page follows); `count` yields one
/// integer. The first tag drives the scan, so list() puts the rarest first.
Statement rows_statement(const ListQuery<ExecutionFilter>& query);
Statement count_statement(const ExecutionFilter& filter);
Statement rows_statement(const ListQuery<SessionFilter>& query);
Statement count_statement(const SessionFilter& filter);

/// Binds `params` in order; they must outlive the query's steps (SQLite does not copy them).
void bind_all(Query& query, const std::vector<SqlValue>& params);

}  // namespace aexd::store::sqlite
