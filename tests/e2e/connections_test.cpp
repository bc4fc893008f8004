// Connections the server closes by itself: one without calls for --idle-timeout; never one that
// carries a call, such as a subscribe stream, however long it lasts.
#include "support/client.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;
using namespace std::chrono_literals;

namespace {

constexpr auto kIdleTimeout = 300ms;

Options with_idle_timeout() {
  Options options;
  options.idle_timeout = kIdleTimeout;
  return options;
}

/// Waits (bounded by `timeout`) for `channel` to leave READY; its state then.
grpc_connectivity_state state_after_ready(grpc::Channel& channel, std::chrono::milliseconds timeout) {
  channel.WaitForStateChange(GRPC_CHANNEL_READY, std::chrono::system_clock::now() + timeout);
  return channel.GetState(false);
}

}  // namespace

TEST_CASE("a connection without calls is closed after --idle-timeout, and the client reconnects on its next call") {
  TestServer server(with_idle_timeout());
  auto channel = server.new_channel();
  Client client(channel);
  const auto agent = must(client.create(make_agent()));
  REQUIRE(channel->GetState(false) == GRPC_CHANNEL_READY);

  const auto start = std::chrono::steady_clock::now();
  // The server's GOAWAY puts the client's channel back to IDLE (a broken connection would be
  // TRANSIENT_FAILURE or CONNECTING).
  CHECK(state_after_ready(*channel, 20s) == GRPC_CHANNEL_IDLE);
  CHECK(std::chrono::steady_clock::now() - start >= kIdleTimeout / 2);  // gRPC jitters the idle time

  CHECK(must(client.get<Agent>(agent.metadata().id())).metadata().id() == agent.metadata().id());
  CHECK(channel->GetState(false) == GRPC_CHANNEL_READY);
}

TEST_CASE("a connection carrying a subscribe stream is not idle, however long the stream stays quiet") {
  TestServer server(with_idle_timeout());
  auto channel = server.new_channel();
  Client client(channel);
  const auto agent = must(client.create(make_agent()));
  const auto execution = must(client.create(make_execution_for_agent(agent.metadata().id())));
  auto queries = exv1::AgentExecutionQueryController::NewStub(channel);
  WatchStream watch(*queries, execution.metadata().id());
  REQUIRE(watch.wait_for_messages(1));

  // Ten idle timeouts without a message on the stream: the connection stays up.
  CHECK(state_after_ready(*channel, 10 * kIdleTimeout) == GRPC_CHANNEL_READY);

  ExecutionStatus in_progress;
  in_progress.set_phase(exv1::EXECUTION_IN_PROGRESS);
  must(Client(server.channel()).update_status(execution.metadata().id(), in_progress));
  REQUIRE(watch.wait_for_messages(2));
  CHECK(watch.received().back().phase == exv1::EXECUTION_IN_PROGRESS);
}
