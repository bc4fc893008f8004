// --metrics-listen: the Prometheus endpoint, scraped over real HTTP while real gRPC calls run.
#include "support/client.h"
#include "support/http_get.h"
#include "support/prometheus_text.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;

namespace {

Options with_metrics() {
  Options options;
  options.metrics_listen = "127.0.0.1:0";
  return options;
}

struct Fixture {
  TestServer server{with_metrics()};
  Client api{server.channel()};

  Scrape scrape() {
    const int port = server.server().metrics_port();
    REQUIRE(port > 0);
    auto reply = http_get(port, "/metrics");
    REQUIRE(reply.status == 200);
    return Scrape(reply.body);
  }
};

const std::string kCommands(api::methods::kExecutionCommands);
const std::string kQueries(api::methods::kExecutionQueries);

double calls(const Scrape& s, const std::string& service, const std::string& method, const std::string& code) {
  return s.value("aexd_rpc_calls_total", {{"service", service}, {"method", method}, {"code", code}});
}

}  // namespace

TEST_CASE("metrics: calls are counted by method and code, timed, and their commits measured") {
  Fixture f;
  const auto agent = must(f.api.create(make_agent("Metered Agent")));
  const auto before = f.scrape();

  constexpr int kCreates = 5;
  for (int i = 0; i < kCreates; ++i) must(f.api.create(make_execution_for_agent(agent.metadata().id())));
  CHECK(f.api.get<Execution>("aex-does-not-exist").status().error_code() == grpc::StatusCode::NOT_FOUND);
  const auto after = f.scrape();

  CHECK(calls(after, kCommands, "create", "OK") - calls(before, kCommands, "create", "OK") == kCreates);
  CHECK(calls(after, kQueries, "get", "NOT_FOUND") - calls(before, kQueries, "get", "NOT_FOUND") == 1);
  CHECK(calls(after, kQueries, "get", "OK") == calls(before, kQueries, "get", "OK"));
  const Labels create{{"service", kCommands}, {"method", "create"}};
  CHECK(after.value("aexd_rpc_duration_seconds_count", create) -
            before.value("aexd_rpc_duration_seconds_count", create) ==
        kCreates);
  CHECK(after.value("aexd_rpc_duration_seconds_sum", create) > before.value("aexd_rpc_duration_seconds_sum", create));
  Labels slowest = create;
  slowest["le"] = "+Inf";
  CHECK(after.value("aexd_rpc_duration_seconds_bucket", slowest) ==
        after.value("aexd_rpc_duration_seconds_count", create));

  // Every create is one write job: the batches' jobs add up to at least these.
  CHECK(after.value("aexd_commit_batch_size_count") > before.value("aexd_commit_batch_size_count"));
  CHECK(after.value("aexd_commit_batch_size_sum") - before.value("aexd_commit_batch_size_sum") >= kCreates);
  CHECK(after.value("aexd_commit_duration_seconds_count") - before.value("aexd_commit_duration_seconds_count") ==
        after.value("aexd_commit_batch_size_count") - before.value("aexd_commit_batch_size_count"));

  CHECK(after.value("aexd_db_size_bytes") > 0);
  CHECK(after.value("aexd_db_wal_size_bytes") >= 0);
  CHECK(after.value("process_resident_memory_bytes") > 0);
  CHECK(after.value("process_open_fds") > 0);
}

TEST_CASE("metrics: every method has its series from the start, at zero") {
  Fixture f;
  const auto s = f.scrape();
  for (const api::Method* m : api::methods::kAll) {
    const std::string service(m->service), name(m->name);
    CHECK(s.value("aexd_rpc_calls_total", {{"service", service}, {"method", name}, {"code", "UNAVAILABLE"}}) == 0);
    CHECK(s.value("aexd_rpc_duration_seconds_count", {{"service", service}, {"method", name}}) == 0);
  }
  CHECK(s.value("aexd_open_streams", {{"method", "subscribe"}}) == 0);
  CHECK(s.value("aexd_open_streams", {{"method", "claim"}}) == 0);
}

TEST_CASE("metrics: an open subscribe is an open stream until it ends") {
  Fixture f;
  const auto agent = must(f.api.create(make_agent("Watched Agent")));
  const auto e = must(f.api.create(make_execution_for_agent(agent.metadata().id())));
  auto queries = f.server.execution_queries();
  {
    WatchStream watch(*queries, e.metadata().id());
    REQUIRE(watch.wait_for_messages(1));
    const auto open = f.scrape();
    CHECK(open.value("aexd_open_streams", {{"method", "subscribe"}}) == 1);
    CHECK(open.value("aexd_watched_executions") == 1);

    ExecutionStatus done;
    done.set_phase(exv1::EXECUTION_COMPLETED);
    must(f.api.update_status(e.metadata().id(), done));
    REQUIRE(watch.wait_done().ok());
  }
  // The server lets go of the stream once the client has seen it end.
  CHECK(eventually([&] { return f.scrape().value("aexd_open_streams", {{"method", "subscribe"}}) == 0; }));
  CHECK(calls(f.scrape(), kQueries, "subscribe", "OK") == 1);
}

TEST_CASE("metrics: dispatch and the write queue are read when scraped") {
  Fixture f;
  const auto agent = must(f.api.create(make_agent("Queued Agent")));
  must(f.api.create(make_execution_for_agent(agent.metadata().id())));
  must(f.api.create(make_execution_for_agent(agent.metadata().id())));
  const auto s = f.scrape();
  const auto counts = f.server.server().dispatch_counts();
  CHECK(counts.queued == 2);
  CHECK(s.value("aexd_dispatch_queued_executions") == 2);
  CHECK(s.value("aexd_dispatch_held_leases") == 0);
  CHECK(s.value("aexd_dispatch_claim_streams") == 0);
  CHECK(s.value("aexd_store_queued_writes") == 0);
}

TEST_CASE("metrics: off without an address, and a taken address fails the start") {
  TestServer plain;
  CHECK(plain.server().metrics_port() == 0);

  Fixture f;
  TempDir dir;
  Options taken;
  taken.listen = "127.0.0.1:0";
  taken.db = (dir.path() / "aexd.db").string();
  taken.metrics_listen = "127.0.0.1:" + std::to_string(f.server.server().metrics_port());
  auto second = Server::start(taken);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(second.status().error_message().find("metrics") != std::string::npos);
}
