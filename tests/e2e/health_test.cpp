// grpc.health.v1 through a server's life: SERVING while up, NOT_SERVING from the moment shutdown
// begins, while calls are still in flight; and what that shutdown does to calls and streams.
#include <grpcpp/support/client_callback.h>

#include <future>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "support/client.h"
#include "support/faulty_storage.h"
#include "support/runner_stream.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;
using namespace std::chrono_literals;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

namespace {

const std::vector<std::string> kServices{"",
                                         "ai.stigmer.agentic.agent.v1.AgentCommandController",
                                         "ai.stigmer.agentic.agent.v1.AgentQueryController",
                                         "ai.stigmer.agentic.agentinstance.v1.AgentInstanceCommandController",
                                         "ai.stigmer.agentic.agentinstance.v1.AgentInstanceQueryController",
                                         "ai.stigmer.agentic.session.v1.SessionCommandController",
                                         "ai.stigmer.agentic.session.v1.SessionQueryController",
                                         "ai.stigmer.agentic.agentexecution.v1.AgentExecutionCommandController",
                                         "ai.stigmer.agentic.agentexecution.v1.AgentExecutionQueryController",
                                         "aexd.v1.ExecutionDispatch"};

grpc::Status check(const TestServer& server, const std::string& service, HealthCheckResponse& response) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  HealthCheckRequest request;
  request.set_service(service);
  return Health::NewStub(server.channel())->Check(&ctx, request, &response);
}

/// A health Watch stream that records every status it is sent.
class HealthWatch final : public grpc::ClientReadReactor<HealthCheckResponse> {
 public:
  HealthWatch(Health::Stub& stub, const std::string& service) {
    request_.set_service(service);
    stub.async()->Watch(&context_, &request_, this);
    StartRead(&message_);
    StartCall();
  }
  ~HealthWatch() {
    cancel();
    wait_done();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::lock_guard lock(mutex_);
    statuses_.push_back(message_.status());
    changed_.notify_all();
    StartRead(&message_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard lock(mutex_);
    status_ = status;
    done_ = true;
    changed_.notify_all();
  }
  /// Waits (bounded) for `status` to be the latest message.
  bool wait_for(HealthCheckResponse::ServingStatus status) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 20s, [&] { return !statuses_.empty() && statuses_.back() == status; });
  }
  grpc::Status wait_done() {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, 20s, [&] { return done_; })) return {grpc::StatusCode::DEADLINE_EXCEEDED, "test"};
    return status_;
  }
  void cancel() { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  HealthCheckRequest request_;
  HealthCheckResponse message_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<HealthCheckResponse::ServingStatus> statuses_;
  grpc::Status status_;
  bool done_ = false;
};

/// Holds the writer inside the create of an execution whose message is "held", until opened.
struct Gate {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();

  void open() {
    if (released.wait_for(0s) != std::future_status::ready) release.set_value();
  }

  OpenStorage opener() {
    return FaultyStorage::opener([this](const Execution& e) {
      if (e.spec().message() == "held") {
        entered.set_value();
        released.wait();
      }
      return grpc::Status::OK;
    });
  }
};

Options with_grace(std::chrono::milliseconds grace) {
  Options options;
  options.shutdown_grace = grace;
  return options;
}

}  // namespace

TEST_CASE("health: the server and each of its services are SERVING while it is up; an unknown one is NOT_FOUND") {
  TestServer server;
  for (const auto& service : kServices) {
    HealthCheckResponse response;
    const auto status = check(server, service, response);
    CHECK_MESSAGE(status.ok(), service);
    CHECK_MESSAGE(response.status() == HealthCheckResponse::SERVING, service);
  }
  HealthCheckResponse response;
  CHECK(check(server, "no.such.Service", response).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("shutdown: health turns NOT_SERVING while a write is in flight; the write commits, streams end UNAVAILABLE") {
  Gate gate;
  TestServer server(with_grace(2s), gate.opener());
  Client api(server.channel());
  const auto agent_id = must(api.create(make_agent("Drained Agent"))).metadata().id();
  const auto watched = must(api.create(make_execution_for_agent(agent_id, "watched")));

  auto health = Health::NewStub(server.channel());
  HealthWatch overall(*health, "");
  HealthWatch commands(*health, "ai.stigmer.agentic.agentexecution.v1.AgentExecutionCommandController");
  REQUIRE(overall.wait_for(HealthCheckResponse::SERVING));
  REQUIRE(commands.wait_for(HealthCheckResponse::SERVING));
  auto queries = server.execution_queries();
  WatchStream subscribe(*queries, watched.metadata().id());
  REQUIRE(subscribe.wait_for_messages(1));
  RunnerStream runner(server, "runner-1", {.agent_ids = {"agt_none"}});
  REQUIRE(runner.wait_registered());

  std::future<Result<Execution>> held;
  std::future<std::chrono::steady_clock::duration> stopped;
  // Declared last, so gone first: a failed check cannot leave the writer (and so shutdown) stuck.
  struct OpenOnExit {
    Gate& gate;
    ~OpenOnExit() { gate.open(); }
  } open_on_exit{gate};

  // A create that the writer holds: acknowledged only after shutdown has begun.
  held = std::async(std::launch::async, [&] { return api.create(make_execution_for_agent(agent_id, "held")); });
  REQUIRE(gate.entered.get_future().wait_for(20s) == std::future_status::ready);

  const auto began = std::chrono::steady_clock::now();
  stopped = std::async(std::launch::async, [&] {
    server.server().shutdown();
    return std::chrono::steady_clock::now() - began;
  });
  CHECK(overall.wait_for(HealthCheckResponse::NOT_SERVING));
  CHECK(commands.wait_for(HealthCheckResponse::NOT_SERVING));
  CHECK(held.wait_for(0s) == std::future_status::timeout);  // still in flight
  const auto ended = subscribe.wait_done();
  CHECK_MESSAGE(ended.error_code() == grpc::StatusCode::UNAVAILABLE, describe(ended));
  const auto claim_ended = runner.wait_done();
  CHECK_MESSAGE(claim_ended.error_code() == grpc::StatusCode::UNAVAILABLE, describe(claim_ended));
  // A new call is refused while the write drains.
  const auto refused = api.get<Agent>(agent_id);
  CHECK_MESSAGE(refused.status().error_code() == grpc::StatusCode::UNAVAILABLE, describe(refused.status()));

  overall.cancel();  // the other Watch stays open: only the grace ends it
  gate.open();
  const auto acknowledged = held.get();
  REQUIRE_MESSAGE(acknowledged.ok(), describe(acknowledged.status()));
  const auto took = stopped.get();
  CHECK(took >= 2s);
  CHECK(took < 10s);
  const auto cut = commands.wait_done();  // cancelled at the grace
  CHECK_MESSAGE(!cut.ok(), describe(cut));

  server.restart();
  Client after(server.channel());
  const auto stored = must(after.get<Execution>(acknowledged->metadata().id()));
  CHECK(stored.spec().message() == "held");
}

TEST_CASE("shutdown: with nothing in flight it returns at once, whatever the grace") {
  TestServer server(with_grace(60s));
  Client api(server.channel());
  must(api.create(make_agent("Idle Agent")));
  const auto began = std::chrono::steady_clock::now();
  server.server().shutdown();
  CHECK(std::chrono::steady_clock::now() - began < 5s);
}
