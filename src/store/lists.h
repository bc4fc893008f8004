// Keyset-paginated lists of executions and sessions, newest first, answered from indexes; totals
// come from the counts schema migration 2 maintains. Call on a reader connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/types.h"
#include "store/sqlite.h"

namespace aexd::store {

/// A value bound to a `?` of a Statement: user input is always bound, never spliced into SQL.
using SqlValue = std::variant<int64_t, std::string>;

struct Statement {
  std::string sql;
  std::vector<SqlValue> params;  // in the order of the `?`s
};

struct ExecutionFilter {
  std::optional<int64_t> phase;   // none: every phase
  std::string session_id;         // empty: every session
  std::vector<std::string> tags;  // an execution must carry every one
};

struct SessionFilter {
  std::string agent_id;           // empty: every agent
  std::vector<std::string> tags;  // a session must carry every one
};

template <class Filter>
struct ListQuery {
  Filter filter;
  int64_t page_size = 50;  // > 0; the caller validates and caps it
  std::string cursor;      // id of the last entry of the previous page; empty: start at the newest
};

template <class T>
struct ListPage {
  std::vector<T> rows;      // newest first, at most page_size
  int64_t total = 0;        // rows matching the filter on every page
  std::string next_cursor;  // id of the last row when more follow, else empty
};

/// Both read inside one read transaction, so rows and total agree with each other.
ListPage<Execution> list(Connection& db, ListQuery<ExecutionFilter> query);
ListPage<Session> list(Connection& db, ListQuery<SessionFilter> query);

/// Every instance of an agent, newest first.
std::vector<AgentInstance> instances_of_agent(Connection& db, std::string_view agent_id);

/// The statements a list runs, exposed for plan and injection tests. `rows` yields (id, body), newest
/// first, at most page_size + 1 rows (the extra one says another page follows); `count` yields one
/// integer. The first tag drives the scan, so list() puts the rarest first.
Statement rows_statement(const ListQuery<ExecutionFilter>& query);
Statement count_statement(const ExecutionFilter& filter);
Statement rows_statement(const ListQuery<SessionFilter>& query);
Statement count_statement(const SessionFilter& filter);

/// Binds `params` in order; they must outlive the query's steps (SQLite does not copy them).
void bind_all(Query& query, const std::vector<SqlValue>& params);

}  // namespace aexd::store
