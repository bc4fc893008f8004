// Lists through the real server: filters, keyset paging, the next page token header, bad requests.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/client.h"
#include "support/thread_failures.h"

using namespace aexd;
using namespace aexd::test;

namespace {

const std::string kDrop = "'; DROP TABLE executions; --";

#define REQUIRE_OK(expr)                                                    \
  do {                                                                      \
    const grpc::Status s_ = (expr);                                         \
    REQUIRE_MESSAGE(s_.ok(), s_.error_code() << " " << s_.error_message()); \
  } while (0)

std::optional<std::string> next_page_header(const grpc::ClientContext& ctx) {
  const auto& md = ctx.GetServerInitialMetadata();
  auto it = md.find("x-next-page-token");
  if (it == md.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

struct Created {
  std::string id;
  std::string session_id;
  Phase phase = exv1::EXECUTION_PENDING;
  std::vector<std::string> tags;
};

/// An agent, one instance and `sessions` sessions, all through the API.
struct Tree {
  std::string agent_id;
  std::string instance_id;
  std::vector<std::string> session_ids;
};

/// Sessions in these tests belong to an identity account, not an organization.
Session personal_session(const std::string& instance_id) {
  return make_session(instance_id, "review session", res::identity_account, "");
}

Tree make_tree(const TestServer& server, int sessions, const std::string& name = "Lister") {
  Client api(server.channel());
  Tree tree;
  tree.agent_id = must(api.create(make_agent(name))).metadata().id();
  tree.instance_id = must(api.create(make_instance(tree.agent_id, name + " main"))).metadata().id();
  for (int i = 0; i < sessions; ++i)
    tree.session_ids.push_back(must(api.create(personal_session(tree.instance_id))).metadata().id());
  return tree;
}

Phase phase_of(int i) {
  static const Phase phases[] = {exv1::EXECUTION_PENDING, exv1::EXECUTION_IN_PROGRESS, exv1::EXECUTION_COMPLETED,
                                 exv1::EXECUTION_FAILED, exv1::EXECUTION_CANCELLED};
  return phases[i % 5];
}

std::vector<std::string> tags_of(int i) {
  std::vector<std::string> tags;
  if (i % 2 == 0) tags.push_back("red");
  if (i % 3 == 0) tags.push_back("blue");
  if (i % 7 == 0) tags.push_back("%");
  if (i % 11 == 0) tags.push_back(kDrop);
  return tags;
}

/// Creates `count` executions spread over the tree's sessions from several client threads, then
/// moves each to its phase with updateStatus.
std::vector<Created> seed(const TestServer& server, const Tree& tree, int count, int threads = 8) {
  std::vector<std::vector<Created>> per_thread(threads);
  std::vector<std::thread> workers;
  ThreadFailures failures;  // the workers' failed calls, checked here after they end
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Client own(server.channel());
      for (int i = t; i < count; i += threads) {
        Created c{"", tree.session_ids[i % tree.session_ids.size()], phase_of(i), tags_of(i)};
        Execution request = make_execution_in_session(c.session_id, "run " + std::to_string(i));
        for (const auto& tag : c.tags) request.mutable_metadata()->add_tags(tag);
        const auto created = own.create(request);
        if (!failures.ok(created.status(), "create")) continue;
        c.id = created->metadata().id();
        if (c.phase != exv1::EXECUTION_PENDING) {
          ExecutionStatus status;
          status.set_phase(c.phase);
          failures.ok(own.update_status(c.id, status).status(), "updateStatus " + c.id);
        }
        per_thread[t].push_back(std::move(c));
      }
    });
  }
  for (auto& w : workers) w.join();
  REQUIRE_MESSAGE(failures.empty(), failures.report());
  std::vector<Created> all;
  for (auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
  return all;
}

struct Paged {
  std::vector<std::string> ids;
  std::vector<int32_t> total_pages;  // as reported by each page
  bool headers_ok = true;            // each page's header is its last id, or empty on the last page
};

/// Calls `fetch(token, ctx, out)` page after page until the header says there is no next page.
template <class Fetch>
Paged page_through(Fetch fetch) {
  Paged paged;
  std::string token;
  for (int guard = 0; guard < 2000; ++guard) {
    grpc::ClientContext ctx;
    exv1::AgentExecutionList page;
    REQUIRE_OK(fetch(token, ctx, page));
    for (const auto& e : page.entries()) paged.ids.push_back(e.metadata().id());
    paged.total_pages.push_back(page.total_pages());
    const auto header = next_page_header(ctx);
    REQUIRE(header.has_value());
    if (header->empty()) return paged;
    if (page.entries().empty() || *header != page.entries().rbegin()->metadata().id()) paged.headers_ok = false;
    token = *header;
  }
  FAIL("paging did not end");
  return paged;
}

std::vector<std::string> expected_ids(const std::vector<Created>& all, std::optional<Phase> phase,
                                      const std::vector<std::string>& tags, const std::string& session_id = "") {
  std::vector<std::string> out;
  for (const auto& c : all) {
    bool match = (!phase || c.phase == *phase) && (session_id.empty() || c.session_id == session_id);
    for (const auto& t : tags) match = match && std::find(c.tags.begin(), c.tags.end(), t) != c.tags.end();
    if (match) out.push_back(c.id);
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace

TEST_CASE(
    "paging through 5,000 executions in 40 sessions returns exactly the matching ones, newest first, "
    "for every filter combination") {
  TestServer server;
  const Tree tree = make_tree(server, 40);
  const auto all = seed(server, tree, 5000);
  REQUIRE(all.size() == 5000);
  auto queries = server.execution_queries();

  struct Shape {
    std::string name;
    std::optional<Phase> phase;
    std::vector<std::string> tags;
    int32_t page_size;
  };
  const std::vector<Shape> shapes{
      {"none, default page size", std::nullopt, {}, 0},
      {"none, page size above the cap", std::nullopt, {}, 5000},
      {"phase", exv1::EXECUTION_COMPLETED, {}, 333},
      {"one tag", std::nullopt, {"red"}, 250},
      {"two tags", std::nullopt, {"red", "blue"}, 100},
      {"a percent sign tag", std::nullopt, {"%"}, 70},
      {"an SQL injection tag", std::nullopt, {kDrop}, 70},
      {"phase and a tag", exv1::EXECUTION_COMPLETED, {"red"}, 90},
      {"phase and two tags", exv1::EXECUTION_FAILED, {"blue", "%"}, 7},
      {"a tag nobody carries", std::nullopt, {"purple"}, 10},
  };
  for (const auto& shape : shapes) {
    INFO("filter: " << shape.name);
    const auto expected = expected_ids(all, shape.phase, shape.tags);
    const int32_t effective = shape.page_size == 0 ? 1000 : std::min(shape.page_size, 1000);
    const auto paged = page_through([&](const std::string& token, grpc::ClientContext& ctx, auto& page) {
      exv1::ListAgentExecutionsRequest request;
      request.set_page_size(shape.page_size);
      request.set_page_token(token);
      if (shape.phase) request.set_phase(*shape.phase);
      for (const auto& t : shape.tags) request.add_tags(t);
      return queries->list(&ctx, request, &page);
    });
    CHECK(paged.ids == expected);
    CHECK(paged.headers_ok);
    const int32_t pages = static_cast<int32_t>((expected.size() + effective - 1) / effective);
    CHECK(std::all_of(paged.total_pages.begin(), paged.total_pages.end(), [&](int32_t n) { return n == pages; }));
    CHECK(paged.total_pages.size() == static_cast<size_t>(std::max(pages, 1)));
  }

  for (const auto& session_id : tree.session_ids) {
    INFO("by session " << session_id);
    const auto expected = expected_ids(all, std::nullopt, {}, session_id);
    const auto paged = page_through([&](const std::string& token, grpc::ClientContext& ctx, auto& page) {
      exv1::ListAgentExecutionsBySessionRequest request;
      request.set_session_id(session_id);
      request.set_page_size(37);
      request.set_page_token(token);
      return queries->listBySession(&ctx, request, &page);
    });
    CHECK(paged.ids == expected);
    CHECK(paged.headers_ok);
    CHECK(paged.total_pages.front() == static_cast<int32_t>((expected.size() + 36) / 37));
  }
}

TEST_CASE("executions created while a client pages through cause no duplicates and no skipped entries") {
  TestServer server;
  const Tree tree = make_tree(server, 3);
  const auto before = seed(server, tree, 300, 4);
  std::set<std::string> existing;
  for (const auto& c : before) existing.insert(c.id);

  std::mutex mutex;
  std::condition_variable changed;
  int inserted = 0;
  std::atomic<bool> stop{false};
  std::set<std::string> added;
  ThreadFailures failures;  // the writer's failed create, checked here after it ends
  std::thread writer([&] {
    Client own(server.channel());
    for (int i = 0; !stop.load(); ++i) {
      const auto created = own.create(make_execution_in_session(tree.session_ids[i % 3], "late"));
      if (!failures.ok(created.status(), "create")) break;
      std::lock_guard lock(mutex);
      added.insert(created->metadata().id());
      ++inserted;
      changed.notify_all();
    }
  });

  auto queries = server.execution_queries();
  int seen_inserts = 0;
  bool writer_alive = true;
  const auto paged = page_through([&](const std::string& token, grpc::ClientContext& ctx, auto& page) {
    if (writer_alive) {
      // At least one new execution commits between any two pages.
      std::unique_lock lock(mutex);
      writer_alive = changed.wait_for(lock, std::chrono::seconds(10), [&] { return inserted > seen_inserts; });
      seen_inserts = inserted;
    }
    exv1::ListAgentExecutionsRequest request;
    request.set_page_size(20);
    request.set_page_token(token);
    return queries->list(&ctx, request, &page);
  });
  stop = true;
  writer.join();

  CHECK_MESSAGE(failures.empty(), failures.report());
  CHECK(writer_alive);
  CHECK(paged.total_pages.size() >= 15);
  const std::set<std::string> unique(paged.ids.begin(), paged.ids.end());
  CHECK(unique.size() == paged.ids.size());
  CHECK(std::is_sorted(paged.ids.rbegin(), paged.ids.rend()));
  for (const auto& id : existing) CHECK_MESSAGE(unique.count(id) == 1, "skipped " << id);
  for (const auto& id : paged.ids) CHECK((existing.count(id) == 1 || added.count(id) == 1));
}

TEST_CASE("the next page token header is the last entry's id while more follow and empty on the last page") {
  TestServer server;
  const Tree tree = make_tree(server, 1);
  const auto all = seed(server, tree, 3, 1);
  auto queries = server.execution_queries();
  exv1::ListAgentExecutionsBySessionRequest request;
  request.set_session_id(tree.session_ids[0]);
  request.set_page_size(2);
  grpc::ClientContext c1;
  exv1::AgentExecutionList first;
  REQUIRE_OK(queries->listBySession(&c1, request, &first));
  REQUIRE(first.entries_size() == 2);
  CHECK(next_page_header(c1) == first.entries(1).metadata().id());
  CHECK(first.total_pages() == 2);

  request.set_page_token(first.entries(1).metadata().id());
  grpc::ClientContext c2;
  exv1::AgentExecutionList last;
  REQUIRE_OK(queries->listBySession(&c2, request, &last));
  REQUIRE(last.entries_size() == 1);
  CHECK(last.entries(0).metadata().id() == expected_ids(all, std::nullopt, {}).back());
  CHECK(next_page_header(c2) == std::string());
}

TEST_CASE("bad page sizes and page tokens are INVALID_ARGUMENT naming the field") {
  TestServer server;
  const Tree tree = make_tree(server, 1);
  auto executions = server.execution_queries();
  auto sessions = server.session_queries();
  const auto names = [](const grpc::Status& s, const std::string& field) {
    return s.error_code() == grpc::StatusCode::INVALID_ARGUMENT && s.error_message().find(field) != std::string::npos;
  };
  exv1::AgentExecutionList out;
  sessionv1::SessionList sout;
  {
    exv1::ListAgentExecutionsRequest r;
    r.set_page_size(-1);
    grpc::ClientContext ctx;
    CHECK(names(executions->list(&ctx, r, &out), "page_size"));
  }
  for (const std::string& token : {std::string("garbage"), tree.session_ids[0], std::string("aex-") + kDrop}) {
    CAPTURE(token);
    exv1::ListAgentExecutionsRequest r;
    r.set_page_token(token);
    grpc::ClientContext ctx;
    CHECK(names(executions->list(&ctx, r, &out), "page_token"));
  }
  {
    exv1::ListAgentExecutionsBySessionRequest r;
    r.set_session_id(tree.session_ids[0]);
    r.set_page_token(tree.session_ids[0]);
    grpc::ClientContext ctx;
    CHECK(names(executions->listBySession(&ctx, r, &out), "page_token"));
  }
  {
    sessionv1::ListSessionsRequest r;
    r.set_page_token(new_id(kExecutionPrefix));
    grpc::ClientContext ctx;
    CHECK(names(sessions->list(&ctx, r, &sout), "page_token"));
  }
  {
    sessionv1::ListSessionsByAgentRequest r;
    r.set_agent_id(tree.agent_id);
    r.set_page_size(-20);
    grpc::ClientContext ctx;
    CHECK(names(sessions->listByAgent(&ctx, r, &sout), "page_size"));
  }
}

TEST_CASE("sessions list newest first by tag and by agent, and getByAgent returns every instance of the agent") {
  TestServer server;
  const Tree a = make_tree(server, 0, "Alpha");
  const Tree b = make_tree(server, 0, "Beta");
  std::vector<std::string> created;  // in creation order
  Client api(server.channel());
  for (int i = 0; i < 5; ++i) {
    Session s = personal_session(i < 3 ? a.instance_id : b.instance_id);
    if (i % 2 == 0) s.mutable_metadata()->add_tags("vip");
    created.push_back(must(api.create(s)).metadata().id());
  }
  auto queries = server.session_queries();
  const auto ids = [](const sessionv1::SessionList& list) {
    std::vector<std::string> out;
    for (const auto& s : list.entries()) out.push_back(s.metadata().id());
    return out;
  };

  sessionv1::ListSessionsByAgentRequest by_agent;
  by_agent.set_agent_id(a.agent_id);
  sessionv1::SessionList of_a;
  grpc::ClientContext c1;
  REQUIRE_OK(queries->listByAgent(&c1, by_agent, &of_a));
  CHECK(ids(of_a) == std::vector<std::string>{created[2], created[1], created[0]});
  CHECK(of_a.total_pages() == 1);
  CHECK(next_page_header(c1) == std::string());

  sessionv1::ListSessionsRequest tagged;
  tagged.add_tags("vip");
  tagged.set_page_size(2);
  sessionv1::SessionList vip;
  grpc::ClientContext c2;
  REQUIRE_OK(queries->list(&c2, tagged, &vip));
  CHECK(ids(vip) == std::vector<std::string>{created[4], created[2]});
  CHECK(vip.total_pages() == 2);
  CHECK(next_page_header(c2) == created[2]);

  const AgentInstance second = must(api.create(make_instance(a.agent_id, "Alpha spare")));
  instancev1::GetAgentInstancesByAgentRequest request;
  request.set_agent_id(a.agent_id);
  instancev1::AgentInstanceList instances;
  grpc::ClientContext c4;
  REQUIRE_OK(server.instance_queries()->getByAgent(&c4, request, &instances));
  CHECK(instances.total_count() == 2);
  REQUIRE(instances.items_size() == 2);
  CHECK(instances.items(0).metadata().id() == second.metadata().id());
  CHECK(instances.items(1).metadata().id() == a.instance_id);
}
