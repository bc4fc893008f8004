#include "store/sqlite/lists.h"

#include <algorithm>

#include "store/sqlite/rows.h"

namespace aexd::store::sqlite {
namespace {

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

struct FromWhere {
  std::string from;
  std::vector<std::string> clauses;
  std::vector<SqlValue> params;
  std::string order_column;  // the id that keys the scan

  std::string sql() const {
    std::string out = " FROM " + from;
    for (size_t i = 0; i < clauses.size(); ++i) out += (i == 0 ? " WHERE " : " AND ") + clauses[i];
    return out;
  }
};

// With tags the scan runs along the first tag's primary key (tag, id); the other tags are key probes.
// CROSS JOIN keeps that tag the outer loop, so rows arrive in id order and LIMIT stops the scan early.
FromWhere from_where(const Source& s, const std::vector<Condition>& conditions, const std::vector<std::string>& tags,
                     bool need_row) {
  FromWhere w;
  if (tags.empty()) {
    w.from = std::string(s.table) + " r";
    w.order_column = "r.id";
  } else {
    const std::string tagged = s.tagged;
    w.from = std::string(s.tag_table) + " t0";
    if (need_row) w.from += std::string(" CROSS JOIN ") + s.table + " r ON r.id = t0." + tagged;
    w.order_column = "t0." + tagged;
    w.clauses.push_back("t0.tag = ?");
    w.params.emplace_back(tags[0]);
    for (size_t i = 1; i < tags.size(); ++i) {
      const std::string t = "t" + std::to_string(i);
      w.clauses.push_back("EXISTS(SELECT 1 FROM " + std::string(s.tag_table) + " " + t + " WHERE " + t +
                          ".tag = ? AND " + t + "." + tagged + " = t0." + tagged + ")");
      w.params.emplace_back(tags[i]);
    }
  }
  for (const auto& c : conditions) {
    w.clauses.push_back(std::string("r.") + c.column + " = ?");
    w.params.push_back(c.value);
  }
  return w;
}

Statement rows_of(const Source& s, const std::vector<Condition>& conditions, const std::vector<std::string>& tags,
                  const std::string& cursor, int64_t page_size) {
  FromWhere w = from_where(s, conditions, tags, true);
  if (!cursor.empty()) {
    w.clauses.push_back(w.order_column + " < ?");
    w.params.emplace_back(cursor);
  }
  Statement st{"SELECT r.id, r.body" + w.sql() + " ORDER BY " + w.order_column + " DESC LIMIT ?", std::move(w.params)};
  st.params.emplace_back(page_size + 1);
  return st;
}

Statement count_of(const Source& s, const std::vector<Condition>& conditions, const std::vector<std::string>& tags) {
  FromWhere w = from_where(s, conditions, tags, !conditions.empty());
  return {"SELECT count(*)" + w.sql(), std::move(w.params)};
}

// A count the triggers of schema migration 2 maintain.
Statement counted(std::string list, std::string key, int64_t phase) {
  return {"SELECT coalesce((SELECT n FROM list_counts WHERE list = ? AND key = ? AND phase = ?), 0)",
          {std::move(list), std::move(key), phase}};
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

int64_t integer(Connection& db, const Statement& st) {
  auto q = db.query(st.sql);
  bind_all(q, st.params);
  return q.step() ? q.integer(0) : 0;
}

// Rows and total must come from one snapshot; a read transaction has nothing to commit or lose.
// Inside a write transaction (a list from a write job) that transaction is the snapshot already.
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& db) : db_(db), owned_(sqlite3_get_autocommit(db.handle()) != 0) {
    if (owned_) db_.exec("BEGIN");
  }
  ~ReadTransaction() {
    if (owned_ && !sqlite3_get_autocommit(db_.handle()))
      sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
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
ListPage<T> read_page(Connection& db, const ListQuery<Filter>& query) {
  ListPage<T> page;
  const Statement count = count_statement(query.filter);
  page.total = integer(db, count);
  const Statement rows = rows_statement(query);
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

void bind_all(Query& query, const std::vector<SqlValue>& params) {
  for (const auto& p : params) std::visit([&query](const auto& v) { query.bind(v); }, p);
}

Statement rows_statement(const ListQuery<ExecutionFilter>& q) {
  return rows_of(kExecutions, conditions_of(q.filter), q.filter.tags, q.cursor, q.page_size);
}

Statement count_statement(const ExecutionFilter& f) {
  const int64_t phase = f.phase.value_or(-1);
  if (f.tags.empty() && f.session_id.empty()) return counted("aex", "", phase);
  if (f.tags.empty() && !f.phase) return counted("aex.session", f.session_id, -1);
  if (f.tags.size() == 1 && f.session_id.empty()) return counted("aex.tag", f.tags[0], phase);
  return count_of(kExecutions, conditions_of(f), f.tags);
}

Statement rows_statement(const ListQuery<SessionFilter>& q) {
  return rows_of(kSessions, conditions_of(q.filter), q.filter.tags, q.cursor, q.page_size);
}

Statement count_statement(const SessionFilter& f) {
  if (f.tags.empty()) return f.agent_id.empty() ? counted("ses", "", -1) : counted("ses.agent", f.agent_id, -1);
  if (f.tags.size() == 1 && f.agent_id.empty()) return counted("ses.tag", f.tags[0], -1);
  return count_of(kSessions, conditions_of(f), f.tags);
}

ListPage<Execution> list(Connection& db, ListQuery<ExecutionFilter> query) {
  ReadTransaction tx(db);
  const int64_t phase = query.filter.phase.value_or(-1);
  order_tags(query.filter.tags, [&](const std::string& tag) { return integer(db, counted("aex.tag", tag, phase)); });
  return read_page<Execution>(db, query);
}

ListPage<Session> list(Connection& db, ListQuery<SessionFilter> query) {
  ReadTransaction tx(db);
  order_tags(query.filter.tags, [&](const std::string& tag) { return integer(db, counted("ses.tag", tag, -1)); });
  return read_page<Session>(db, query);
}

}  // namespace aexd::store::sqlite
