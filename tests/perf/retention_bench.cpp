// retention_bench: what deleting a backlog of expired executions (--retain-terminal) costs the other
// writes. A store is bulk-loaded with --expired executions that ended two hours ago; a real
// in-process server (retention 1 h, or off) serves --writers clients that push status updates
// back to back, and their latency is printed for the time the backlog takes to go, against the
// same number of pushes with retention off. Prints; asserts nothing.
#include <google/protobuf/util/time_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.grpc.pb.h"
#include "app/server.h"
#include "domain/audit.h"
#include "runtime/process_tuning.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/schema.h"

namespace {

using namespace aexd;
using namespace std::chrono;
using Clock = steady_clock;

Execution make_execution(const std::string& session_id, const std::string& agent_id, Phase phase, int64_t at_ms) {
  Execution e;
  auto& m = *e.mutable_metadata();
  m.set_id(new_id(kExecutionPrefix));
  m.set_org("acme");
  m.add_tags(phase == exv1::EXECUTION_COMPLETED ? "old" : "live");
  set_revision(m, 2);
  e.mutable_spec()->set_session_id(session_id);
  e.mutable_spec()->set_agent_id(agent_id);
  e.mutable_spec()->set_message(std::string(300, 'p'));
  e.mutable_status()->set_phase(phase);
  *e.mutable_status()->mutable_audit()->mutable_status_audit()->mutable_updated_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(at_ms);
  return e;
}

/// `expired` executions that ended two hours ago, and `writers` IN_PROGRESS ones; returns the latter.
std::vector<std::string> bulk_load(const std::string& path, int expired, int writers) {
  auto db = store::sqlite::Connection::open(path, store::sqlite::Sync::off);
  store::sqlite::migrate(*db);
  const int64_t now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  db->exec("BEGIN");
  const std::string agent = new_id(kAgentPrefix), session = new_id(kSessionPrefix);
  for (int i = 0; i < expired; ++i)
    store::sqlite::insert(*db, make_execution(session, agent, exv1::EXECUTION_COMPLETED, now_ms - 7'200'000));
  std::vector<std::string> live;
  for (int i = 0; i < writers; ++i) {
    const auto e = make_execution(session, agent, exv1::EXECUTION_IN_PROGRESS, now_ms);
    store::sqlite::insert(*db, e);
    live.push_back(e.metadata().id());
  }
  // Rows written now are stamped as ending now: these ended two hours ago.
  db->query("UPDATE executions SET ended_ms=? WHERE ended_ms IS NOT NULL").bind(now_ms - 7'200'000).run();
  db->exec("COMMIT");
  db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return live;
}

int32_t completed(exv1::AgentExecutionQueryController::Stub& queries) {
  exv1::ListAgentExecutionsRequest request;
  request.set_page_size(1);
  request.set_phase(exv1::EXECUTION_COMPLETED);
  exv1::AgentExecutionList page;
  grpc::ClientContext ctx;
  return queries.list(&ctx, request, &page).ok() ? page.total_pages() : -1;
}

struct Run {
  std::vector<double> latencies_ms;
  double drained_s = 0;  // until the backlog was gone (retention on)
  int errors = 0;
};

/// Pushes status updates from `ids.size()` threads until `until_drained` sees no expired row left
/// (retention on), or until `pushes` have been made in all (off).
Run measure(const std::string& dir, int expired, int writers, std::chrono::milliseconds retain, size_t pushes) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Options options;
  options.listen = "127.0.0.1:0";
  options.db = dir + "/aexd.db";
  options.retain_terminal = retain;
  const auto ids = bulk_load(options.db, expired, writers);
  const auto start = Clock::now();
  auto server = Server::start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "cannot start: %s\n", server.status().error_message().c_str());
    std::exit(1);
  }
  const std::string address = "127.0.0.1:" + std::to_string((*server)->port());
  auto queries =
      exv1::AgentExecutionQueryController::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));

  std::atomic<bool> stop{false};
  std::atomic<size_t> made{0};
  std::vector<std::vector<double>> per_thread(ids.size());
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < ids.size(); ++t) {
    threads.emplace_back([&, t] {
      grpc::ChannelArguments args;
      args.SetInt("grpc.use_local_subchannel_pool", 1);
      auto stub = exv1::AgentExecutionCommandController::NewStub(
          grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
      for (int n = 0; !stop; ++n) {
        exv1::AgentExecutionUpdateStatusInput input;
        input.set_execution_id(ids[t]);
        input.mutable_status()->set_phase(exv1::EXECUTION_IN_PROGRESS);
        auto* message = input.mutable_status()->add_messages();
        message->set_type(exv1::MESSAGE_AI);
        message->set_content("step " + std::to_string(n));
        Execution out;
        grpc::ClientContext ctx;
        const auto at = Clock::now();
        if (!stub->updateStatus(&ctx, input, &out).ok()) ++errors;
        per_thread[t].push_back(duration<double, std::milli>(Clock::now() - at).count());
        if (++made >= pushes && retain.count() == 0) stop = true;
      }
    });
  }
  Run run;
  if (retain.count() > 0) {
    const auto give_up = Clock::now() + 5min;
    while (completed(*queries) > 0 && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
    run.drained_s = duration<double>(Clock::now() - start).count();
    stop = true;
  }
  for (auto& t : threads) t.join();
  (*server)->shutdown();
  for (auto& v : per_thread) run.latencies_ms.insert(run.latencies_ms.end(), v.begin(), v.end());
  run.errors = errors;
  return run;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

void print(const char* name, const Run& run) {
  std::printf("%-26s pushes %6zu  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %7.2f ms  errors %d", name,
              run.latencies_ms.size(), quantile(run.latencies_ms, 0.5), quantile(run.latencies_ms, 0.9),
              quantile(run.latencies_ms, 0.99), quantile(run.latencies_ms, 1.0), run.errors);
  if (run.drained_s > 0) std::printf("  backlog gone after %.2f s", run.drained_s);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  tune_process();
  CLI::App app{"retention_bench: write latency while a backlog of expired executions is deleted"};
  int expired = 20000, writers = 4;
  std::string dir = "/tmp/aexd-retention-bench";
  app.add_option("--expired", expired, "expired executions in the store at start-up")->capture_default_str();
  app.add_option("--writers", writers, "clients pushing status updates back to back")->capture_default_str();
  app.add_option("--dir", dir, "scratch directory (emptied)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const Run on = measure(dir, expired, writers, hours(1), 0);
  const Run off = measure(dir, expired, writers, milliseconds(0), on.latencies_ms.size());
  print("retention off", off);
  print("deleting the backlog", on);
  std::filesystem::remove_all(dir);
  return 0;
}
