// Several aexd servers on one PostgreSQL database (the throw-away cluster of support/postgres_cluster.h),
// each with its own port, pool and connections, as processes behind a load balancer would be.
#include <grpcpp/create_channel.h>

#include <signal.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/aexd_process.h"
#include "support/client.h"
#include "support/postgres_cluster.h"
#include "support/thread_failures.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;

namespace {

struct Replica {
  std::unique_ptr<Server> server;
  std::shared_ptr<grpc::Channel> channel;
  Client api{nullptr};
};

/// `n` servers on one new database.
struct Replicas {
  explicit Replicas(int n) {
    const std::string db = PostgresCluster::shared().create_database();
    for (int i = 0; i < n; ++i) {
      Options options;
      options.listen = "127.0.0.1:0";
      options.db = db;
      auto started = Server::start(options);
      REQUIRE_MESSAGE(started.ok(), started.status().error_message());
      Replica r;
      r.server = std::move(*started);
      r.channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(r.server->port()), grpc::InsecureChannelCredentials());
      r.api = Client(r.channel);
      all.push_back(std::move(r));
    }
  }
  ~Replicas() {
    for (auto& r : all) r.server->shutdown();
  }
  std::vector<Replica> all;
};

ExecutionStatus status_of(Phase phase, const std::string& text) {
  ExecutionStatus status;
  status.set_phase(phase);
  auto* m = status.add_messages();
  m->set_type(exv1::MESSAGE_AI);
  m->set_content(text);
  return status;
}

}  // namespace

TEST_CASE("a watcher on one server sees every update written through the others, and the terminal one ends it OK") {
  Replicas replicas(3);
  Replica& a = replicas.all[0];
  Replica& b = replicas.all[1];
  Replica& c = replicas.all[2];
  const auto agent = must(b.api.create(make_agent("Replicated Agent")));
  const auto execution = must(c.api.create(make_execution_for_agent(agent.metadata().id())));
  const std::string id = execution.metadata().id();

  auto queries = exv1::AgentExecutionQueryController::NewStub(a.channel);
  WatchStream watch(*queries, id);
  REQUIRE(watch.wait_for_messages(1));  // the initial state, read through A

  uint64_t last = 0;
  for (int i = 0; i < 10; ++i) {
    auto& writer = i % 2 == 0 ? b : c;
    last = revision_of(must(writer.api.update_status(id, status_of(exv1::EXECUTION_IN_PROGRESS, "step " + std::to_string(i))))
                           .metadata());
  }
  last = revision_of(must(c.api.update_status(id, status_of(exv1::EXECUTION_COMPLETED, "done"))).metadata());

  CHECK(watch.wait_done().ok());
  const auto received = watch.received();
  REQUIRE_FALSE(received.empty());
  CHECK(received.back().revision == last);
  CHECK(received.back().phase == exv1::EXECUTION_COMPLETED);
  for (size_t i = 1; i < received.size(); ++i) CHECK(received[i].revision > received[i - 1].revision);
  // A get through A, which wrote nothing, answers the newest state too.
  CHECK(revision_of(must(a.api.get<Execution>(id)).metadata()) == last);
}

TEST_CASE("agent-mode creates for one new agent from 16 clients over 3 servers share one default instance") {
  Replicas replicas(3);
  const auto agent = must(replicas.all[0].api.create(make_agent("Contended Agent")));
  constexpr int kClients = 16;
  std::vector<std::string> session_ids(kClients);
  ThreadFailures failures;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      const auto created = replicas.all[i % 3].api.create(make_execution_for_agent(agent.metadata().id()));
      if (failures.ok(created.status(), "create " + std::to_string(i))) session_ids[i] = created->spec().session_id();
    });
  for (auto& t : clients) t.join();
  REQUIRE_MESSAGE(failures.empty(), failures.report());
  std::set<std::string> instances;
  for (const auto& id : session_ids) instances.insert(must(replicas.all[0].api.get<Session>(id)).spec().agent_instance_id());
  CHECK(instances.size() == 1);
}

TEST_CASE("one create with one idempotency key sent to 3 servers at once makes one execution, which all answer") {
  Replicas replicas(3);
  const auto agent = must(replicas.all[0].api.create(make_agent("Idempotent Agent")));
  const Execution request = make_execution_for_agent(agent.metadata().id());
  constexpr int kClients = 9;
  std::vector<std::string> ids(kClients);
  ThreadFailures failures;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      const auto created = replicas.all[i % 3].api.create(request, "replicated-key");
      if (failures.ok(created.status(), "create " + std::to_string(i))) ids[i] = created->metadata().id();
    });
  for (auto& t : clients) t.join();
  REQUIRE_MESSAGE(failures.empty(), failures.report());
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 1);
}

TEST_CASE("concurrent updates with one version through different servers: exactly one wins, every round") {
  Replicas replicas(3);
  Agent current = must(replicas.all[0].api.create(make_agent("Versioned Agent")));
  constexpr int kRounds = 20, kWriters = 9;
  for (int round = 0; round < kRounds; ++round) {
    CAPTURE(round);
    std::vector<Result<Agent>> results(kWriters, grpc::Status(grpc::StatusCode::UNKNOWN, "not run"));
    std::vector<std::thread> writers;
    for (int i = 0; i < kWriters; ++i)
      writers.emplace_back([&, i] {
        Agent update = current;  // carries the version it was read at
        update.mutable_spec()->set_description("round " + std::to_string(round) + " writer " + std::to_string(i));
        results[i] = replicas.all[i % 3].api.update(update);
      });
    for (auto& t : writers) t.join();
    int won = 0;
    for (auto& r : results) {
      if (r.ok()) {
        ++won;
        current = *r;
      } else {
        CHECK(r.status().error_code() == grpc::StatusCode::ABORTED);
      }
    }
    REQUIRE(won == 1);
    CHECK(same(must(replicas.all[round % 3].api.get<Agent>(current.metadata().id())), current));
  }
}

TEST_CASE("a process SIGKILLed under load loses no acknowledged write: another process serves every one") {
  const std::string db = PostgresCluster::shared().create_database();
  AexdProcess killed(db), survivor(db);
  const Client via_killed(killed.new_channel()), via_survivor(survivor.new_channel());
  const std::string agent_id = must(via_survivor.create(make_agent("Survivor Agent"))).metadata().id();

  constexpr int kWriters = 8;
  constexpr size_t kAcksBeforeKill = 200;
  std::mutex mutex;
  std::condition_variable acked;
  std::map<std::string, uint64_t> last_acked;  // execution -> revision of its last acknowledged write
  size_t acks = 0;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&] {
      while (!stop) {
        const auto created = via_killed.create(make_execution_for_agent(agent_id));
        if (!created.ok()) return;  // the process is gone
        const std::string id = created->metadata().id();
        for (int i = 0; i < 5 && !stop; ++i) {
          const auto pushed = via_killed.update_status(id, status_of(exv1::EXECUTION_IN_PROGRESS, "step"));
          if (!pushed.ok()) return;
          std::lock_guard lock(mutex);
          last_acked[id] = revision_of(pushed->metadata());
          ++acks;
          acked.notify_all();
        }
      }
    });
  {
    std::unique_lock lock(mutex);
    REQUIRE(acked.wait_for(lock, std::chrono::seconds(60), [&] { return acks >= kAcksBeforeKill; }));
  }
  killed.signal(SIGKILL);
  stop = true;
  for (auto& t : writers) t.join();
  killed.wait_exit();

  MESSAGE(last_acked.size() << " executions, " << acks << " acknowledged pushes before the kill");
  for (const auto& entry : last_acked) {  // no structured binding: clang 14 cannot capture one in CHECK
    const auto stored = must(via_survivor.get<Execution>(entry.first));
    CHECK_MESSAGE(revision_of(stored.metadata()) >= entry.second, entry.first);
  }
}
