// Load shedding and group commit, seen from real clients.
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "support/client.h"
#include "support/faulty_storage.h"
#include "support/thread_failures.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;

namespace {

/// Holds the writer inside the first execution insert until released, so tests can fill queues
/// deterministically.
struct StrandGate {
  std::atomic<bool> armed{true};
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();

  OpenStorage storage() {
    return FaultyStorage::opener([this](const Execution&) {
      if (armed.exchange(false)) {
        entered.set_value();
        released.wait();
      }
      return grpc::Status::OK;
    });
  }
};

struct AsyncCreate {
  grpc::ClientContext ctx;
  Execution out;
  std::promise<grpc::Status> done;
};

void start_create(exv1::AgentExecutionCommandController::Stub& stub, const Execution& request, AsyncCreate& call) {
  stub.async()->create(&call.ctx, &request, &call.out, [&call](grpc::Status s) { call.done.set_value(s); });
}

std::string create_agent(TestServer& server) {
  return must(Client(server.channel()).create(make_agent("Busy Agent"))).metadata().id();
}

}  // namespace

TEST_CASE("a full write queue answers RESOURCE_EXHAUSTED at once with retry-after-ms, then recovers") {
  StrandGate gate;
  Options options;
  options.max_queued_writes = 4;
  TestServer server(options, gate.storage());
  const std::string agent_id = create_agent(server);  // not an execution: the gate stays armed
  auto stub = server.executions();
  const Execution request = make_execution_for_agent(agent_id);

  AsyncCreate first;
  start_create(*stub, request, first);
  gate.entered.get_future().wait();  // the writer is now held inside the first execution insert
  std::vector<std::unique_ptr<AsyncCreate>> queued;
  for (int i = 0; i < 4; ++i) {
    queued.push_back(std::make_unique<AsyncCreate>());
    start_create(*stub, request, *queued.back());
  }
  REQUIRE(eventually([&] { return server.server().queued_writes() == 4; }));

  grpc::ClientContext ctx;
  Execution out;
  auto refused = stub->create(&ctx, request, &out);
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto trailers = ctx.GetServerTrailingMetadata();
  CHECK(trailers.find("retry-after-ms") != trailers.end());

  gate.release.set_value();
  CHECK(first.done.get_future().get().ok());
  for (auto& call : queued) CHECK(call->done.get_future().get().ok());
  grpc::ClientContext again;
  CHECK(stub->create(&again, request, &out).ok());
}

TEST_CASE("a create whose caller cancelled or whose deadline passed while it was queued is not stored") {
  StrandGate gate;
  TestServer server({}, gate.storage());
  const std::string agent_id = create_agent(server);
  auto stub = server.executions();
  const Execution request = make_execution_for_agent(agent_id);

  AsyncCreate held, cancelled, expired;
  start_create(*stub, request, held);
  gate.entered.get_future().wait();  // the writer is now held inside the first execution insert
  start_create(*stub, request, cancelled);
  expired.ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  start_create(*stub, request, expired);
  REQUIRE(eventually([&] { return server.server().queued_writes() == 2; }));
  cancelled.ctx.TryCancel();
  CHECK(cancelled.done.get_future().get().error_code() == grpc::StatusCode::CANCELLED);
  CHECK(expired.done.get_future().get().error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  // A later call on the same connection is read after the cancel was: the server knows both callers left.
  CHECK(Client(server.channel()).get<Agent>(agent_id).ok());

  gate.release.set_value();
  CHECK(held.done.get_future().get().ok());
  // Writes commit in order: once a later create is acknowledged, the two left behind were handled.
  CHECK(Client(server.channel()).create(request).ok());
  CHECK(count_rows(server.db_path(), "executions") == 2);
}

TEST_CASE("more calls in flight than allowed are refused with RESOURCE_EXHAUSTED, not queued") {
  StrandGate gate;
  Options options;
  options.max_in_flight = 2;
  TestServer server(options, gate.storage());
  const std::string agent_id = create_agent(server);
  auto stub = server.executions();
  const Execution request = make_execution_for_agent(agent_id);

  AsyncCreate a, b;
  start_create(*stub, request, a);
  gate.entered.get_future().wait();
  start_create(*stub, request, b);
  REQUIRE(eventually([&] { return server.server().queued_writes() == 1; }));

  grpc::ClientContext ctx;
  exv1::AgentExecutionId id;
  id.set_value("aex-01jzzzzzzzzzzzzzzzzzzzzzzz");
  Execution out;
  CHECK(server.execution_queries()->get(&ctx, id, &out).error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);

  gate.release.set_value();
  CHECK(a.done.get_future().get().ok());
  CHECK(b.done.get_future().get().ok());
  grpc::ClientContext after;
  CHECK(server.execution_queries()->get(&after, id, &out).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("group commit: every write acknowledged to 64 concurrent writers is there after a restart") {
  TestServer server;
  const std::string agent_id = create_agent(server);
  std::mutex mutex;
  std::map<std::string, std::string> acknowledged;  // execution id -> revision
  ThreadFailures failures;                          // the writers' failed calls, checked here after they end
  std::vector<std::thread> writers;
  for (int w = 0; w < 64; ++w)
    writers.emplace_back([&] {
      Client own(server.channel());
      for (int i = 0; i < 10; ++i) {
        auto created = own.create(make_execution_for_agent(agent_id));
        if (!failures.ok(created.status(), "create")) return;
        ExecutionStatus status;
        status.set_phase(exv1::EXECUTION_IN_PROGRESS);
        auto updated = own.update_status(created->metadata().id(), status);
        if (!failures.ok(updated.status(), "updateStatus " + created->metadata().id())) return;
        std::lock_guard lock(mutex);
        acknowledged[updated->metadata().id()] = updated->metadata().version().id();
      }
    });
  for (auto& w : writers) w.join();
  REQUIRE_MESSAGE(failures.empty(), failures.report());
  REQUIRE(acknowledged.size() == 640);

  server.restart();
  Client api(server.channel());
  for (const auto& [id, revision] : acknowledged) {
    const Execution got = must(api.get<Execution>(id));
    CHECK(got.metadata().version().id() == revision);
    CHECK(got.status().phase() == exv1::EXECUTION_IN_PROGRESS);
  }
}
