#include "store/sqlite/lists.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "model/snapshot.h"
#include "unit/store/sqlite/list_rows.h"

using namespace aexd;
using namespace aexd::test;
using store::ExecutionFilter;
using store::ListQuery;
using store::SessionFilter;

namespace {

std::vector<std::string> ids_of(const std::vector<Execution>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.metadata().id());
  return out;
}

/// Pages through a whole list and returns the ids in the order they came.
template <class Filter>
std::vector<std::string> all_pages(store::sqlite::Connection& db, const Filter& filter, int64_t page_size) {
  std::vector<std::string> out;
  ListQuery<Filter> query{filter, page_size, ""};
  for (int guard = 0; guard < 10000; ++guard) {
    auto page = store::sqlite::list(db, query);
    for (const auto& row : page.rows) out.push_back(row.metadata().id());
    if (page.next_cursor.empty()) return out;
    REQUIRE(page.next_cursor == out.back());
    query.cursor = page.next_cursor;
  }
  FAIL("paging did not end");
  return out;
}

int64_t run_count(store::sqlite::Connection& db, const store::sqlite::Statement& st) {
  auto q = db.query(st.sql);
  store::sqlite::bind_all(q, st.params);
  REQUIRE(q.step());
  return q.integer(0);
}

std::vector<std::string> plan_of(store::sqlite::Connection& db, const std::string& sql) {
  std::vector<std::string> lines;
  auto q = db.query("EXPLAIN QUERY PLAN " + sql);
  while (q.step()) lines.emplace_back(q.text(3));
  return lines;
}

/// Every table access of the plan goes through an index (a primary key is one), and no sort is needed.
void check_plan_uses_indexes(store::sqlite::Connection& db, const store::sqlite::Statement& st, bool ordered) {
  const auto lines = plan_of(db, st.sql);
  CAPTURE(st.sql);
  REQUIRE_FALSE(lines.empty());
  for (const auto& line : lines) {
    CAPTURE(line);
    if ((line.rfind("SCAN", 0) == 0 && line != "SCAN CONSTANT ROW") || line.rfind("SEARCH", 0) == 0) {
      const bool indexed = line.find("USING INDEX") != std::string::npos ||
                           line.find("USING COVERING INDEX") != std::string::npos ||
                           line.find("USING PRIMARY KEY") != std::string::npos ||
                           line.find("USING INTEGER PRIMARY KEY") != std::string::npos;
      CHECK(indexed);
    }
    if (ordered) CHECK(line.find("TEMP B-TREE") == std::string::npos);
  }
}

}  // namespace

TEST_CASE("an execution list is newest first and each page continues after the previous page's last id") {
  ListDb db;
  std::vector<std::string> created;
  for (int i = 0; i < 7; ++i) created.push_back(add_execution(*db, "ses-a", exv1::EXECUTION_PENDING).metadata().id());
  std::reverse(created.begin(), created.end());

  auto first = store::sqlite::list(*db, ListQuery<ExecutionFilter>{{}, 3, ""});
  CHECK(ids_of(first.rows) == std::vector<std::string>(created.begin(), created.begin() + 3));
  CHECK(first.next_cursor == created[2]);
  CHECK(first.total == 7);
  auto second = store::sqlite::list(*db, ListQuery<ExecutionFilter>{{}, 3, first.next_cursor});
  CHECK(ids_of(second.rows) == std::vector<std::string>(created.begin() + 3, created.begin() + 6));
  auto last = store::sqlite::list(*db, ListQuery<ExecutionFilter>{{}, 3, second.next_cursor});
  CHECK(ids_of(last.rows) == std::vector<std::string>{created[6]});
  CHECK(last.next_cursor.empty());
}

TEST_CASE("a page that ends exactly at the last entry has no next cursor") {
  ListDb db;
  for (int i = 0; i < 6; ++i) add_execution(*db, "ses-a", exv1::EXECUTION_PENDING);
  auto first = store::sqlite::list(*db, ListQuery<ExecutionFilter>{{}, 3, ""});
  CHECK_FALSE(first.next_cursor.empty());
  auto second = store::sqlite::list(*db, ListQuery<ExecutionFilter>{{}, 3, first.next_cursor});
  CHECK(second.rows.size() == 3);
  CHECK(second.next_cursor.empty());
}

TEST_CASE("rows inserted after a page was read do not shift the next page") {
  ListDb db;
  std::vector<std::string> created;
  for (int i = 0; i < 6; ++i) created.push_back(add_execution(*db, "ses-a", exv1::EXECUTION_PENDING).metadata().id());
  auto first = store::sqlite::list(*db, ListQuery<ExecutionFilter>{{}, 3, ""});
  for (int i = 0; i < 5; ++i) add_execution(*db, "ses-a", exv1::EXECUTION_PENDING);
  auto second = store::sqlite::list(*db, ListQuery<ExecutionFilter>{{}, 3, first.next_cursor});
  CHECK(ids_of(second.rows) == std::vector<std::string>{created[2], created[1], created[0]});
  CHECK(second.total == 11);
}

TEST_CASE("the phase, tag and session filters select exactly the matching executions, alone and combined") {
  ListDb db;
  auto a = add_execution(*db, "ses-1", exv1::EXECUTION_PENDING, {"red"});
  auto b = add_execution(*db, "ses-1", exv1::EXECUTION_COMPLETED, {"red", "blue"});
  auto c = add_execution(*db, "ses-2", exv1::EXECUTION_COMPLETED, {"blue"});
  auto d = add_execution(*db, "ses-2", exv1::EXECUTION_COMPLETED, {"red", "blue", "green"});
  auto e = add_execution(*db, "ses-2", exv1::EXECUTION_FAILED);
  const auto id = [](const Execution& x) { return x.metadata().id(); };

  SUBCASE("phase") {
    ExecutionFilter f;
    f.phase = exv1::EXECUTION_COMPLETED;
    CHECK(all_pages(*db, f, 2) == std::vector<std::string>{id(d), id(c), id(b)});
  }
  SUBCASE("one tag") {
    ExecutionFilter f;
    f.tags = {"red"};
    CHECK(all_pages(*db, f, 2) == std::vector<std::string>{id(d), id(b), id(a)});
  }
  SUBCASE("every requested tag must be present") {
    ExecutionFilter f;
    f.tags = {"blue", "red"};
    CHECK(all_pages(*db, f, 1) == std::vector<std::string>{id(d), id(b)});
    f.tags = {"green", "red", "blue"};
    CHECK(all_pages(*db, f, 1) == std::vector<std::string>{id(d)});
  }
  SUBCASE("a repeated tag counts once") {
    ExecutionFilter f;
    f.tags = {"green", "green"};
    auto page = store::sqlite::list(*db, ListQuery<ExecutionFilter>{f, 10, ""});
    CHECK(ids_of(page.rows) == std::vector<std::string>{id(d)});
    CHECK(page.total == 1);
  }
  SUBCASE("phase and tags") {
    ExecutionFilter f;
    f.phase = exv1::EXECUTION_COMPLETED;
    f.tags = {"red"};
    CHECK(all_pages(*db, f, 1) == std::vector<std::string>{id(d), id(b)});
  }
  SUBCASE("session") {
    ExecutionFilter f;
    f.session_id = "ses-2";
    CHECK(all_pages(*db, f, 2) == std::vector<std::string>{id(e), id(d), id(c)});
  }
  SUBCASE("a tag nobody carries") {
    ExecutionFilter f;
    f.tags = {"purple"};
    auto page = store::sqlite::list(*db, ListQuery<ExecutionFilter>{f, 10, ""});
    CHECK(page.rows.empty());
    CHECK(page.total == 0);
  }
}

TEST_CASE("hostile tag strings are bound as plain data, never spliced into SQL or matched as patterns") {
  ListDb db;
  const std::string drop = "'; DROP TABLE executions; --";
  auto literal_drop = add_execution(*db, "ses-1", exv1::EXECUTION_PENDING, {drop});
  auto percent = add_execution(*db, "ses-1", exv1::EXECUTION_PENDING, {"%"});
  auto underscore = add_execution(*db, "ses-1", exv1::EXECUTION_PENDING, {"_"});
  add_execution(*db, "ses-1", exv1::EXECUTION_PENDING, {"abc", "a_c", "x"});

  for (const auto& tag_and_id : std::vector<std::pair<std::string, std::string>>{
           {drop, literal_drop.metadata().id()}, {"%", percent.metadata().id()}, {"_", underscore.metadata().id()}}) {
    const auto& [tag, expected] = tag_and_id;
    CAPTURE(tag_and_id.first);  // not `tag`: clang 14 cannot capture a structured binding in CAPTURE's lambda
    // The SQL text is the same whatever the tag says: the tag only ever travels as a bound value.
    ExecutionFilter f, plain;
    f.tags = {tag, "x"};
    plain.tags = {"plain", "x"};
    CHECK(store::sqlite::rows_statement(ListQuery<ExecutionFilter>{f, 10, ""}).sql ==
          store::sqlite::rows_statement(ListQuery<ExecutionFilter>{plain, 10, ""}).sql);
    CHECK(store::sqlite::count_statement(f).sql == store::sqlite::count_statement(plain).sql);
    CHECK(store::sqlite::count_statement(f).sql.find(drop) == std::string::npos);
    f.tags = {tag};
    auto page = store::sqlite::list(*db, ListQuery<ExecutionFilter>{f, 10, ""});
    CHECK(ids_of(page.rows) == std::vector<std::string>{expected});
    CHECK(page.total == 1);
  }
  CHECK(store::sqlite::list(*db, ListQuery<ExecutionFilter>{{}, 10, ""}).total == 4);
  CHECK(all_pages(*db, ExecutionFilter{}, 10).size() == 4);
}

TEST_CASE("a hostile cursor or session id is bound as data") {
  ListDb db;
  add_execution(*db, "ses-1", exv1::EXECUTION_PENDING);
  ExecutionFilter f;
  f.session_id = "x' OR '1'='1";
  auto page = store::sqlite::list(*db, ListQuery<ExecutionFilter>{f, 10, "' OR 1=1; --"});
  CHECK(page.rows.empty());
  const auto sql = store::sqlite::rows_statement(ListQuery<ExecutionFilter>{f, 10, "' OR 1=1; --"}).sql;
  CHECK(sql.find("1=1") == std::string::npos);
}

TEST_CASE(
    "after random creates, phase and tag changes, status writes and deletes, every filter shape lists what a "
    "model says") {
  ListDb db;
  std::mt19937 rng(20240611);
  const std::vector<std::string> sessions{"ses-1", "ses-2", "ses-3"};
  const std::vector<std::string> vocabulary{"red", "blue", "green", "%"};
  const std::vector<Phase> phases{exv1::EXECUTION_PENDING, exv1::EXECUTION_IN_PROGRESS, exv1::EXECUTION_COMPLETED,
                                  exv1::EXECUTION_FAILED};
  std::map<std::string, Execution> model;
  const auto pick = [&](const auto& v) { return v[rng() % v.size()]; };
  const auto random_tags = [&](Execution& e) {
    e.mutable_metadata()->clear_tags();
    for (const auto& tag : vocabulary)
      if (rng() % 2) e.mutable_metadata()->add_tags(tag);
  };
  for (int step = 0; step < 400; ++step) {
    const int op = model.size() < 20 ? 0 : static_cast<int>(rng() % 5);
    if (op == 0) {
      auto e = add_execution(*db, pick(sessions), pick(phases));
      Execution tagged = e;
      random_tags(tagged);
      store::sqlite::replace(*db, tagged, e);
      model[e.metadata().id()] = tagged;
      continue;
    }
    auto it = std::next(model.begin(), static_cast<long>(rng() % model.size()));
    Execution next = it->second;
    if (op == 1) next.mutable_status()->set_phase(pick(phases));
    if (op == 2) random_tags(next);
    if (op == 3) {
      store::sqlite::remove(*db, it->second);
      model.erase(it);
      continue;
    }
    if (op == 4) {  // a status write, whose phase stays the same about a quarter of the time
      next.mutable_status()->set_phase(pick(phases));
      store::sqlite::replace_status(*db, next, it->second.status().phase(), *model::make_snapshot(next));
      it->second = next;
      continue;
    }
    store::sqlite::replace(*db, next, it->second);
    it->second = next;
  }

  std::vector<ExecutionFilter> shapes{{}};
  for (auto p : phases) shapes.push_back({p, "", {}});
  for (const auto& s : sessions) shapes.push_back({std::nullopt, s, {}});
  for (const auto& t : vocabulary) {
    shapes.push_back({std::nullopt, "", {t}});
    shapes.push_back({exv1::EXECUTION_COMPLETED, "", {t}});
    shapes.push_back({std::nullopt, "", {t, "blue"}});
    shapes.push_back({exv1::EXECUTION_FAILED, "", {"red", t}});
    shapes.push_back({std::nullopt, "ses-2", {t}});
  }
  for (const auto& f : shapes) {
    std::vector<std::string> expected;
    for (auto it = model.rbegin(); it != model.rend(); ++it) {
      const auto& e = it->second;
      const auto& tags = e.metadata().tags();
      bool match = (!f.phase || e.status().phase() == *f.phase) &&
                   (f.session_id.empty() || e.spec().session_id() == f.session_id);
      for (const auto& t : f.tags) match = match && std::find(tags.begin(), tags.end(), t) != tags.end();
      if (match) expected.push_back(it->first);
    }
    CAPTURE(f.phase.value_or(-1));
    CAPTURE(f.session_id);
    CAPTURE(f.tags.size() > 0 ? f.tags[0] : std::string());
    CHECK(all_pages(*db, f, 4) == expected);
    CHECK(store::sqlite::list(*db, ListQuery<ExecutionFilter>{f, 1, ""}).total ==
          static_cast<int64_t>(expected.size()));
  }
}

TEST_CASE("the schema migration that adds counts counts the rows a database already holds") {
  ListDb db;
  auto inst = add_instance(*db, "agt-1");
  add_session(*db, inst.metadata().id(), {"vip"});
  add_execution(*db, "ses-1", exv1::EXECUTION_PENDING, {"red"});
  add_execution(*db, "ses-1", exv1::EXECUTION_COMPLETED, {"red", "blue"});
  add_execution(*db, "ses-2", exv1::EXECUTION_COMPLETED);
  // Back to schema version 1: drop what the counts migration (and every later one) added, then
  // migrate again.
  std::vector<std::string> triggers;
  for (auto q = db->query("SELECT name FROM sqlite_master WHERE type = 'trigger'"); q.step();)
    triggers.emplace_back(q.text(0));
  REQUIRE_FALSE(triggers.empty());
  for (const auto& t : triggers) db->exec(("DROP TRIGGER " + t).c_str());
  db->exec(
      "DROP INDEX executions_by_ended; ALTER TABLE executions DROP COLUMN ended_ms;"
      "DROP TABLE leases; DROP INDEX executions_pending_by_agent; DROP TABLE idempotency_keys; DROP TABLE list_counts; DROP INDEX execution_tags_by_execution;"
      "PRAGMA user_version = 1");
  store::sqlite::migrate(*db);

  const auto total = [&](ExecutionFilter f) { return run_count(*db, store::sqlite::count_statement(f)); };
  CHECK(total({}) == 3);
  CHECK(total({exv1::EXECUTION_COMPLETED, "", {}}) == 2);
  CHECK(total({std::nullopt, "ses-1", {}}) == 2);
  CHECK(total({std::nullopt, "", {"red"}}) == 2);
  CHECK(total({exv1::EXECUTION_COMPLETED, "", {"red"}}) == 1);
  CHECK(run_count(*db, store::sqlite::count_statement(SessionFilter{"agt-1", {}})) == 1);
  CHECK(run_count(*db, store::sqlite::count_statement(SessionFilter{"", {"vip"}})) == 1);
  add_execution(*db, "ses-1", exv1::EXECUTION_COMPLETED, {"red"});
  CHECK(total({exv1::EXECUTION_COMPLETED, "", {"red"}}) == 2);
}

TEST_CASE("every list shape reads through indexes, and pages need no sort") {
  ListDb db;
  auto inst = add_instance(*db, "agt-1");
  for (int i = 0; i < 50; ++i) {
    add_session(*db, inst.metadata().id(), {"vip", i % 2 ? "a" : "b"});
    add_execution(*db, "ses-" + std::to_string(i % 5), i % 3 ? exv1::EXECUTION_COMPLETED : exv1::EXECUTION_PENDING,
                  {"red", i % 2 ? "blue" : "green"});
  }
  const std::string cursor = new_id(kExecutionPrefix);
  std::vector<ExecutionFilter> executions{{},
                                          {exv1::EXECUTION_COMPLETED, "", {}},
                                          {std::nullopt, "ses-1", {}},
                                          {std::nullopt, "", {"red"}},
                                          {std::nullopt, "", {"red", "blue"}},
                                          {exv1::EXECUTION_COMPLETED, "", {"red"}},
                                          {exv1::EXECUTION_COMPLETED, "", {"red", "blue"}},
                                          {exv1::EXECUTION_COMPLETED, "ses-1", {}},
                                          {std::nullopt, "ses-1", {"red"}}};
  for (const auto& f : executions) {
    for (const auto& c : {std::string(), cursor})
      check_plan_uses_indexes(*db, store::sqlite::rows_statement({f, 50, c}), true);
    check_plan_uses_indexes(*db, store::sqlite::count_statement(f), false);
  }
  std::vector<SessionFilter> sessions{{}, {"agt-1", {}}, {"", {"vip"}}, {"", {"vip", "a"}}, {"agt-1", {"vip"}}};
  for (const auto& f : sessions) {
    for (const auto& c : {std::string(), new_id(kSessionPrefix)})
      check_plan_uses_indexes(*db, store::sqlite::rows_statement({f, 50, c}), true);
    check_plan_uses_indexes(*db, store::sqlite::count_statement(f), false);
  }
}

TEST_CASE("a session list filters by agent and by tags, newest first") {
  ListDb db;
  auto i1 = add_instance(*db, "agt-1");
  auto i2 = add_instance(*db, "agt-2");
  auto s1 = add_session(*db, i1.metadata().id(), {"vip"});
  auto s2 = add_session(*db, i2.metadata().id(), {"vip", "eu"});
  auto s3 = add_session(*db, i1.metadata().id(), {"eu"});
  const auto ids = [](const store::ListPage<Session>& page) {
    std::vector<std::string> out;
    for (const auto& s : page.rows) out.push_back(s.metadata().id());
    return out;
  };
  auto by_agent = store::sqlite::list(*db, ListQuery<SessionFilter>{{"agt-1", {}}, 10, ""});
  CHECK(ids(by_agent) == std::vector<std::string>{s3.metadata().id(), s1.metadata().id()});
  CHECK(by_agent.total == 2);
  auto tagged = store::sqlite::list(*db, ListQuery<SessionFilter>{{"", {"eu", "vip"}}, 10, ""});
  CHECK(ids(tagged) == std::vector<std::string>{s2.metadata().id()});
  CHECK(tagged.total == 1);
  auto paged = store::sqlite::list(*db, ListQuery<SessionFilter>{{}, 2, ""});
  CHECK(ids(paged) == std::vector<std::string>{s3.metadata().id(), s2.metadata().id()});
  CHECK(paged.next_cursor == s2.metadata().id());
  CHECK(paged.total == 3);
  store::sqlite::remove(*db, s2);
  CHECK(store::sqlite::list(*db, ListQuery<SessionFilter>{{"", {"vip"}}, 10, ""}).total == 1);
  CHECK(store::sqlite::list(*db, ListQuery<SessionFilter>{{"agt-2", {}}, 10, ""}).total == 0);
}

TEST_CASE("the instances of an agent come newest first and no other agent's") {
  ListDb db;
  auto a = add_instance(*db, "agt-1");
  add_instance(*db, "agt-2");
  auto b = add_instance(*db, "agt-1");
  auto found = store::sqlite::instances_of_agent(*db, "agt-1");
  REQUIRE(found.size() == 2);
  CHECK(found[0].metadata().id() == b.metadata().id());
  CHECK(found[1].metadata().id() == a.metadata().id());
  CHECK(store::sqlite::instances_of_agent(*db, "agt-3").empty());
}
