// list_bench: latency of execution lists (a first page and a page deep in the set) for each filter
// shape, with 1k, 100k and 1M executions in the store, measured through a real in-process server over
// gRPC and through the SQLite store layer alone. Stores are bulk-loaded once and reused from --dir.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.grpc.pb.h"
#include "app/server.h"
#include "domain/audit.h"
#include "runtime/process_tuning.h"
#include "store/sqlite/lists.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/schema.h"

namespace {

using namespace aexd;
using Clock = std::chrono::steady_clock;

constexpr int kTeams = 10;  // tags team-0 .. team-9, one per execution

struct Shape {
  const char* name;
  std::optional<Phase> phase;
  std::vector<std::string> tags;
  bool by_session = false;
};

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all{
      {"none", std::nullopt, {}},
      {"phase", exv1::EXECUTION_COMPLETED, {}},
      {"tag", std::nullopt, {"prod"}},
      {"phase+tag", exv1::EXECUTION_COMPLETED, {"prod"}},
      {"two tags", std::nullopt, {"prod", "team-3"}},
      {"by session", std::nullopt, {}, true},
  };
  return all;
}

int64_t sessions_for(int64_t executions) { return std::max<int64_t>(10, executions / 100); }

/// A realistic execution of about 1 KiB: a prompt, two messages, a tool call, audit stamps.
Execution make_execution(std::mt19937_64& rng, const std::string& session_id, const std::string& agent_id) {
  static const Phase phases[] = {exv1::EXECUTION_PENDING, exv1::EXECUTION_IN_PROGRESS, exv1::EXECUTION_COMPLETED,
                                 exv1::EXECUTION_FAILED, exv1::EXECUTION_CANCELLED};
  static const std::string prompt(300, 'p');
  static const std::string answer(320, 'a');
  Execution e;
  e.set_api_version(std::string(kApiVersion));
  e.set_kind("AgentExecution");
  auto& m = *e.mutable_metadata();
  m.set_id(new_id(kExecutionPrefix));
  m.set_name(m.id());
  m.set_slug(m.id());
  m.set_org("acme");
  m.add_tags("team-" + std::to_string(rng() % kTeams));
  if (rng() % 2) m.add_tags("prod");
  if (rng() % 20 == 0) m.add_tags("urgent");
  set_revision(m, 3);
  auto& spec = *e.mutable_spec();
  spec.set_session_id(session_id);
  spec.set_agent_id(agent_id);
  spec.set_message(prompt);
  spec.mutable_execution_config()->set_model_name("model-large-2025");
  auto& status = *e.mutable_status();
  status.set_phase(phases[rng() % 5]);
  for (const auto type : {exv1::MESSAGE_HUMAN, exv1::MESSAGE_AI}) {
    auto& msg = *status.add_messages();
    msg.set_type(type);
    msg.set_content(type == exv1::MESSAGE_AI ? answer : "please review the change");
    msg.set_timestamp("2025-06-11T10:00:00Z");
  }
  auto& call = *status.add_tool_calls();
  call.set_id("call-1");
  call.set_name("read_file");
  call.set_result(std::string(120, 'r'));
  call.set_status(exv1::TOOL_CALL_COMPLETED);
  status.set_started_at("2025-06-11T10:00:00Z");
  stamp_created(*status.mutable_audit(), now());
  return e;
}

/// Writes agent, instance, sessions and `count` executions in one transaction through the store's
/// own insert (so the count triggers run as in the server).
void bulk_load(const std::string& path, int64_t count) {
  auto db = store::sqlite::Connection::open(path, store::sqlite::Sync::off);
  store::sqlite::migrate(*db);
  db->exec("PRAGMA cache_size=-262144");
  std::mt19937_64 rng(count);
  db->exec("BEGIN");
  Agent agent;
  agent.mutable_metadata()->set_id(new_id(kAgentPrefix));
  agent.mutable_metadata()->set_slug("bench");
  agent.mutable_metadata()->set_owner_scope(res::organization);
  store::sqlite::insert(*db, agent);
  AgentInstance instance;
  instance.mutable_metadata()->set_id(new_id(kInstancePrefix));
  instance.mutable_metadata()->set_slug("bench-default");
  instance.mutable_spec()->set_agent_id(agent.metadata().id());
  store::sqlite::insert(*db, instance);
  std::vector<std::string> sessions;
  for (int64_t i = 0; i < sessions_for(count); ++i) {
    Session s;
    s.mutable_metadata()->set_id(new_id(kSessionPrefix));
    s.mutable_spec()->set_agent_instance_id(instance.metadata().id());
    store::sqlite::insert(*db, s);
    sessions.push_back(s.metadata().id());
  }
  for (int64_t i = 0; i < count; ++i) {
    const auto& session_id = sessions[static_cast<size_t>(i) % sessions.size()];
    store::sqlite::insert(*db, make_execution(rng, session_id, agent.metadata().id()));
  }
  db->exec("COMMIT");
  db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

int64_t count_rows(store::sqlite::Connection& db) {
  auto q = db.query("SELECT count(*) FROM executions");
  return q.step() ? q.integer(0) : 0;
}

/// The id 90% of the way into the shape's matching rows, moved up so that a full page still follows it.
std::string deep_cursor(store::sqlite::Connection& db, store::ListQuery<store::ExecutionFilter> query) {
  const auto count = store::sqlite::count_statement(query.filter);
  auto c = db.query(count.sql);
  store::sqlite::bind_all(c, count.params);
  const int64_t total = c.step() ? c.integer(0) : 0;
  const int64_t offset = std::max<int64_t>(0, std::min(total * 9 / 10, total - query.page_size - 1));
  query.page_size = offset;  // the statement fetches page_size + 1 rows: the last one is at `offset`
  const auto rows = store::sqlite::rows_statement(query);
  auto q = db.query(rows.sql);
  store::sqlite::bind_all(q, rows.params);
  std::string id;
  while (q.step()) id = q.text(0);
  return id;
}

struct Stats {
  double p50_ms = 0, p99_ms = 0;
  size_t samples = 0;
};

/// Calls every function in turn, round after round, after a 0.2 s warm-up, until `rounds` rounds or the
/// time budget (at least 10 rounds). Interleaving puts every store under the same background load, so
/// their ratios are fair even on a busy machine.
std::vector<Stats> measure(const std::vector<std::function<void()>>& calls, size_t rounds, double budget_s) {
  const auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  for (const auto start = Clock::now(); seconds_since(start) < 0.2;)
    for (const auto& call : calls) call();
  std::vector<std::vector<double>> ms(calls.size());
  const auto start = Clock::now();
  for (size_t round = 0; round < rounds && (round < 10 || seconds_since(start) < budget_s); ++round) {
    for (size_t i = 0; i < calls.size(); ++i) {
      const auto t0 = Clock::now();
      calls[i]();
      ms[i].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
  }
  std::vector<Stats> out;
  for (auto& v : ms) {
    std::sort(v.begin(), v.end());
    const auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
    out.push_back({at(0.50), at(0.99), v.size()});
  }
  return out;
}

/// One loaded store with a reader connection and a real server on it.
struct Target {
  int64_t size = 0;
  std::unique_ptr<store::sqlite::Connection> reader;
  std::string session_id;  // the session the by-session shape lists
  std::unique_ptr<Server> server;
  std::unique_ptr<exv1::AgentExecutionQueryController::Stub> stub;
};

void prepare(const std::string& path, int64_t size) {
  if (std::filesystem::exists(path)) {
    auto db = store::sqlite::Connection::open(path, store::sqlite::Sync::normal);
    store::sqlite::migrate(*db);
    if (count_rows(*db) == size) return;
  }
  std::filesystem::remove(path);
  const auto t0 = Clock::now();
  bulk_load(path, size);
  std::printf("loaded %lld executions into %s in %.1f s (%.0f MiB)\n", static_cast<long long>(size), path.c_str(),
              std::chrono::duration<double>(Clock::now() - t0).count(),
              static_cast<double>(std::filesystem::file_size(path)) / (1 << 20));
}

/// A list call through gRPC; exits if it fails or disagrees with the store layer.
void call_server(Target& t, const Shape& shape, const std::string& cursor, size_t expected) {
  grpc::ClientContext ctx;
  exv1::AgentExecutionList out;
  grpc::Status status;
  if (shape.by_session) {
    exv1::ListAgentExecutionsBySessionRequest r;
    r.set_session_id(t.session_id);
    r.set_page_token(cursor);
    status = t.stub->listBySession(&ctx, r, &out);
  } else {
    exv1::ListAgentExecutionsRequest r;
    r.set_page_token(cursor);
    if (shape.phase) r.set_phase(*shape.phase);
    for (const auto& tag : shape.tags) r.add_tags(tag);
    status = t.stub->list(&ctx, r, &out);
  }
  if (!status.ok() || static_cast<size_t>(out.entries_size()) != expected) {
    std::fprintf(stderr, "list_bench: %s: %s (%d entries, the store gave %zu)\n", shape.name,
                 status.error_message().c_str(), out.entries_size(), expected);
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  aexd::tune_process();
  std::vector<int64_t> sizes{1000, 100000, 1000000};
  std::string dir = (std::filesystem::temp_directory_path() / "aexd-list-bench").string();
  size_t rounds = 500;
  double budget_s = 5;
  CLI::App app{"list_bench - latency of aexd execution lists at growing store sizes"};
  app.add_option("--sizes", sizes, "executions per store")->delimiter(',')->capture_default_str();
  app.add_option("--dir", dir, "where the stores live (loaded once, reused)")->capture_default_str();
  app.add_option("--rounds", rounds, "calls measured per store and case")->capture_default_str();
  app.add_option("--budget", budget_s, "seconds at most per case (after 10 rounds)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::filesystem::create_directories(dir);

  std::vector<Target> targets(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto& t = targets[i];
    t.size = sizes[i];
    const std::string path = dir + "/executions-" + std::to_string(t.size) + ".db";
    prepare(path, t.size);
    t.reader = store::sqlite::Connection::open(path, store::sqlite::Sync::normal);
    t.reader->exec("PRAGMA query_only=ON");
    auto q = t.reader->query("SELECT id FROM sessions ORDER BY id LIMIT 1 OFFSET ?");
    q.bind(sessions_for(t.size) / 2);
    if (q.step()) t.session_id = q.text(0);
    Options options;
    options.db = path;
    options.listen = "127.0.0.1:0";
    auto started = Server::start(options);
    if (!started.ok()) {
      std::fprintf(stderr, "list_bench: %s\n", started.status().error_message().c_str());
      return 1;
    }
    t.server = std::move(*started);
    t.stub = exv1::AgentExecutionQueryController::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(t.server->port()), grpc::InsecureChannelCredentials()));
  }

  std::printf("\np50 and p99 in ms of one page of 50; ratio = p50 at %lld / p50 at %lld\n\n| shape | page | via |",
              static_cast<long long>(sizes.back()), static_cast<long long>(sizes.front()));
  for (const auto size : sizes) std::printf(" p50 %lld |", static_cast<long long>(size));
  for (const auto size : sizes) std::printf(" p99 %lld |", static_cast<long long>(size));
  std::printf(" ratio |\n|---|---|---|");
  for (size_t i = 0; i < 2 * sizes.size() + 1; ++i) std::printf("---|");
  std::printf("\n");
  for (const auto& shape : shapes()) {
    for (const bool deep : {false, true}) {
      std::vector<store::ListQuery<store::ExecutionFilter>> queries(targets.size());
      std::vector<size_t> entries(targets.size());
      std::vector<std::function<void()>> via_store, via_server;
      for (size_t i = 0; i < targets.size(); ++i) {
        auto& t = targets[i];
        auto& q = queries[i];
        q.page_size = 50;
        q.filter.phase = shape.phase;
        q.filter.tags = shape.tags;
        if (shape.by_session) q.filter.session_id = t.session_id;
        q.cursor = deep ? deep_cursor(*t.reader, q) : "";
        entries[i] = store::sqlite::list(*t.reader, q).rows.size();
        via_store.push_back([&t, &q] { store::sqlite::list(*t.reader, q); });
        via_server.push_back([&t, &q, &shape, n = entries[i]] { call_server(t, shape, q.cursor, n); });
      }
      for (const auto& [via, calls] : {std::pair{"server", &via_server}, std::pair{"store", &via_store}}) {
        const auto stats = measure(*calls, rounds, budget_s);
        std::printf("| %s | %s | %s |", shape.name, deep ? "deep" : "first", via);
        for (const auto& s : stats) std::printf(" %.3f |", s.p50_ms);
        for (const auto& s : stats) std::printf(" %.3f |", s.p99_ms);
        std::printf(" %.2f |\n", stats.back().p50_ms / stats.front().p50_ms);
        std::fflush(stdout);
      }
    }
  }

  // What the counts table saves: the same totals as a COUNT over an index, per call.
  std::printf("\n| COUNT per call instead of list_counts (p50 ms) |");
  for (const auto size : sizes) std::printf(" %lld |", static_cast<long long>(size));
  std::printf("\n|---|");
  for (size_t i = 0; i < sizes.size(); ++i) std::printf("---|");
  std::printf("\n");
  for (const auto& [what, sql] : std::vector<std::pair<const char*, const char*>>{
           {"all executions", "SELECT count(*) FROM executions"},
           {"one phase (executions_by_phase)", "SELECT count(*) FROM executions WHERE phase = 3"},
           {"one tag (execution_tags)", "SELECT count(*) FROM execution_tags WHERE tag = 'prod'"}}) {
    std::vector<std::function<void()>> calls;
    for (auto& t : targets) calls.push_back([&t, sql = sql] { t.reader->query(sql).step(); });
    std::printf("| %s |", what);
    for (const auto& s : measure(calls, 50, budget_s)) std::printf(" %.3f |", s.p50_ms);
    std::printf("\n");
  }
  for (auto& t : targets) t.server->shutdown();
  return 0;
}
