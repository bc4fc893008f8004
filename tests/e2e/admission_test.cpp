// Load shedding and group commit, seen from real clients.
#include <atomic>
#include <future>
#include <thread>

#include "e2e/watch_client.h"
#include "support/faulty_storage.h"

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
  grpc::ClientContext ctx;
  Agent agent;
  REQUIRE(server.agents()->create(&ctx, make_agent("Busy Agent"), &agent).ok());
  return agent.metadata().id();
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
  std::vector<std::thread> writers;
  for (int w = 0; w < 64; ++w)
    writers.emplace_back([&] {
      auto stub = exv1::AgentExecutionCommandController::NewStub(server.channel());
      for (int i = 0; i < 10; ++i) {
        grpc::ClientContext c1;
        Execution created;
        REQUIRE(stub->create(&c1, make_execution_for_agent(agent_id), &created).ok());
        exv1::AgentExecutionUpdateStatusInput in;
        in.set_execution_id(created.metadata().id());
        in.mutable_status()->set_phase(exv1::EXECUTION_IN_PROGRESS);
        grpc::ClientContext c2;
        Execution updated;
        REQUIRE(stub->updateStatus(&c2, in, &updated).ok());
        std::lock_guard lock(mutex);
        acknowledged[updated.metadata().id()] = updated.metadata().version().id();
      }
    });
  for (auto& w : writers) w.join();
  REQUIRE(acknowledged.size() == 640);

  server.restart();
  auto queries = server.execution_queries();
  for (const auto& [id, revision] : acknowledged) {
    grpc::ClientContext ctx;
    exv1::AgentExecutionId request;
    request.set_value(id);
    Execution got;
    REQUIRE(queries->get(&ctx, request, &got).ok());
    CHECK(got.metadata().version().id() == revision);
    CHECK(got.status().phase() == exv1::EXECUTION_IN_PROGRESS);
  }
}
