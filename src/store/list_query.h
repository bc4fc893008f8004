// The shape of a list request as storage answers it: a filter, a page size and a keyset cursor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace aexd::store {

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
  std::vector<T> rows;      // newest first (ids are monotonic), at most page_size
  int64_t total = 0;        // rows matching the filter on every page
  std::string next_cursor;  // id of the last row when more follow, else empty
};

}  // namespace aexd::store
