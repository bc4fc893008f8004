#include "store/postgres/lists.h"

#include <algorithm>
#include <utility>
#include <variant>
#include <vector>

namespace aexd::store::postgres {
namespace {

using SqlValue = std::variant<int64_t, std::string>;

// What differs between the listed kinds. Every name spliced into SQL comes from here, never from input.
struct Source {
  const char* table;
  const char* tag_table;
  const char* tagged;  // the tag table's column naming the tagged row
};
constexpr Source kExecutions{"executions", "execution_tags", "execution_id"};
constexpr Source kSessions{"sessions", "session_tags", "session_id"};

struct Condition {
  const char* column;
  SqlValue value;
};

/// A statement being built: each value added becomes the next $n.
struct Statement {
  std::string sql;
  std::vector<SqlValue> params;

  std::string param(SqlValue value) {
    params.push_back(std::move(value));
    std::string placeholder = std::to_string(params.size());
    placeholder.insert(placeholder.begin(), '$');  // not "$" + ...: GCC 12 -O3 warns falsely (-Wrestrict)
    return placeholder;
  }
};

// With tags the scan runs along the first tag's primary key (tag, id); the other tags are key probes.
std::string from_where(Statement& st, const Source& s, const std::vector<Condition>& conditions,
                       const std::vector<std::string>& tags, std::string& order_column) {
  std::vector<std::string> clauses;
  std::string from;
  if (tags.empty()) {
    from = std::string(s.table) + " r";
    order_column = "r.id";
  } else {
    const std::string tagged = s.tagged;
    from = std::string(s.tag_table) + " t0 JOIN " + s.table + " r ON r.id = t0." + tagged;
    order_column = "t0." + tagged;
    clauses.push_back("t0.tag = " + st.param(tags[0]));
    for (size_t i = 1; i < tags.size(); ++i) {
      const std::string t = "t" + std::to_string(i);
      clauses.push_back("EXISTS(SELECT 1 FROM " + std::string(s.tag_table) + " " + t + " WHERE " + t +
                        ".tag = " + st.param(tags[i]) + " AND " + t + "." + tagged + " = t0." + tagged + ")");
    }
  }
  for (const auto& c : conditions) clauses.push_back(std::string("r.") + c.column + " = " + st.param(c.value));
  std::string out = " FROM " + from;
  for (size_t i = 0; i < clauses.size(); ++i) out += (i == 0 ? " WHERE " : " AND ") + clauses[i];
  return out;
}

Statement rows_of(const Source& s, const std::vector<Condition>& conditions, const std::vector<std::string>& tags,
                  const std::string& cursor, int64_t page_size) {
  Statement st;
  std::string order_column;
  std::string where = from_where(st, s, conditions, tags, order_column);
  if (!cursor.empty()) where += (where.find(" WHERE ") == std::string::npos ? " WHERE " : " AND ") + order_column +
                                " < " + st.param(cursor);
  st.sql = "SELECT r.id, r.body" + where + " ORDER BY " + order_column + " DESC LIMIT " + st.param(page_size + 1);
  return st;
}

Statement count_of(const Source& s, const std::vector<Condition>& conditions, const std::vector<std::string>& tags) {
  Statement st;
  std::string order_column;
  st.sql = "SELECT count(*)" + from_where(st, s, conditions, tags, order_column);
  return st;
}

// A count the schema's triggers maintain, summed over the writer slots.
Statement counted(std::string list, std::string key, int64_t phase) {
  Statement st;
  st.sql = "SELECT coalesce(sum(n), 0)::bigint FROM list_counts WHERE list = " + st.param(std::move(list)) +
           " AND key = " + st.param(std::move(key)) + " AND phase = " + st.param(phase);
  return st;
}

std::vector<Condition> conditions_of(const ExecutionFilter& f) {
  std::vector<Condition> out;
  if (f.phase) out.push_back({"phase", *f.phase});
  if (!f.session_id.empty()) out.push_back({"session_id", f.session_id});
  return out;
}

std::vector<Condition> conditions_of(const SessionFilter& f) {
  std::vector<Condition> out;
  if (!f.agent_id.empty()) out.push_back({"agent_id", f.agent_id});
  return out;
}

void bind_all(Query& query, const std::vector<SqlValue>& params) {
  for (const auto& p : params) std::visit([&query](const auto& v) { query.bind(v); }, p);
}

int64_t integer(Connection& db, const Statement& st) {
  auto q = db.query(st.sql);
  bind_all(q, st.params);
  return q.step() ? q.integer(0) : 0;
}

Statement count_statement(const ExecutionFilter& f) {
  const int64_t phase = f.phase.value_or(-1);
  if (f.tags.empty() && f.session_id.empty()) return counted("aex", "", phase);
  if (f.tags.empty() && !f.phase) return counted("aex.session", f.session_id, -1);
  if (f.tags.size() == 1 && f.session_id.empty()) return counted("aex.tag", f.tags[0], phase);
  return count_of(kExecutions, conditions_of(f), f.tags);
}

Statement count_statement(const SessionFilter& f) {
  if (f.tags.empty()) return f.agent_id.empty() ? counted("ses", "", -1) : counted("ses.agent", f.agent_id, -1);
  if (f.tags.size() == 1 && f.agent_id.empty()) return counted("ses.tag", f.tags[0], -1);
  return count_of(kSessions, conditions_of(f), f.tags);
}

// Rows and total from one snapshot. Inside a write transaction (a list from a write job) that
// transaction is the snapshot already.
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& db) : db_(db), owned_(!db.in_transaction()) {
    if (owned_) db_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  ~ReadTransaction() {
    if (owned_ && db_.in_transaction()) PQclear(PQexec(db_.handle(), "ROLLBACK"));
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Connection& db_;
  const bool owned_;
};

// Duplicates dropped, rarest tag first: it drives the scan, so the fewest rows are probed.
template <class CountOf>
void order_tags(std::vector<std::string>& tags, CountOf count_of) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  if (tags.size() < 2) return;
  std::vector<std::pair<int64_t, std::string>> by_count;
  for (auto& tag : tags) by_count.emplace_back(count_of(tag), std::move(tag));
  std::sort(by_count.begin(), by_count.end());
  for (size_t i = 0; i < tags.size(); ++i) tags[i] = std::move(by_count[i].second);
}

template <class T, class Filter>
ListPage<T> read_page(Connection& db, const ListQuery<Filter>& query, const Statement& rows) {
  ListPage<T> page;
  page.total = integer(db, count_statement(query.filter));
  auto q = db.query(rows.sql);
  bind_all(q, rows.params);
  while (q.step()) {
    if (static_cast<int64_t>(page.rows.size()) == query.page_size) {
      page.next_cursor = page.rows.back().metadata().id();
      break;
    }
    page.rows.push_back(parse<T>(q.text(0), q.blob(1)));
  }
  return page;
}

}  // namespace

ListPage<Execution> list(Connection& db, ListQuery<ExecutionFilter> query) {
  ReadTransaction tx(db);
  const int64_t phase = query.filter.phase.value_or(-1);
  order_tags(query.filter.tags, [&](const std::string& tag) { return integer(db, counted("aex.tag", tag, phase)); });
  return read_page<Execution>(
      db, query, rows_of(kExecutions, conditions_of(query.filter), query.filter.tags, query.cursor, query.page_size));
}

ListPage<Session> list(Connection& db, ListQuery<SessionFilter> query) {
  ReadTransaction tx(db);
  order_tags(query.filter.tags, [&](const std::string& tag) { return integer(db, counted("ses.tag", tag, -1)); });
  return read_page<Session>(
      db, query, rows_of(kSessions, conditions_of(query.filter), query.filter.tags, query.cursor, query.page_size));
}

}  // namespace aexd::store::postgres
