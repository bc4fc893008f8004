// Message size: agent-runners resend the whole status on every push, so a long run's status grows
// past gRPC's 4 MiB default. Up to --max-message-mb is accepted and reaches subscribers.
#include "domain/audit.h"
#include "support/client.h"

using namespace aexd;
using namespace aexd::test;

namespace {

/// A client channel that receives replies of any size (gRPC's client default is 4 MiB).
std::shared_ptr<grpc::Channel> large_channel(const TestServer& server) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel(server.address(), grpc::InsecureChannelCredentials(), args);
}

ExecutionStatus status_of_size(size_t bytes) {
  ExecutionStatus status;
  status.set_phase(exv1::EXECUTION_IN_PROGRESS);
  auto* message = status.add_messages();
  message->set_type(exv1::MESSAGE_AI);
  message->set_content(std::string(bytes, 'x'));
  return status;
}

}  // namespace

TEST_CASE("a 12 MiB status push is accepted and a subscriber receives it") {
  TestServer server;
  const auto channel = large_channel(server);
  Client client(channel);
  const auto execution =
      must(client.create(make_execution_for_agent(must(client.create(make_agent())).metadata().id())));

  auto stub = exv1::AgentExecutionQueryController::NewStub(channel);
  grpc::ClientContext ctx;
  exv1::AgentExecutionId id;
  id.set_value(execution.metadata().id());
  auto reader = stub->subscribe(&ctx, id);
  Execution received;
  REQUIRE(reader->Read(&received));  // the current state: the stream is open before the push
  CHECK(received.status().phase() == exv1::EXECUTION_PENDING);

  const size_t size = 12u << 20;
  const auto pushed = must(client.update_status(execution.metadata().id(), status_of_size(size)));
  REQUIRE(pushed.status().messages_size() == 1);
  CHECK(pushed.status().messages(0).content().size() == size);

  REQUIRE(reader->Read(&received));
  CHECK(received.status().phase() == exv1::EXECUTION_IN_PROGRESS);
  REQUIRE(received.status().messages_size() == 1);
  CHECK(received.status().messages(0).content().size() == size);
  ctx.TryCancel();
}

TEST_CASE("a push over the limit is RESOURCE_EXHAUSTED naming the limit and stores nothing") {
  for (const int limit_mb : {16, 1}) {
    INFO("--max-message-mb " << limit_mb);
    Options options;
    if (limit_mb != 16) options.max_message_mb = limit_mb;  // 16 is the default
    TestServer server(options);
    Client client(large_channel(server));
    const auto execution =
        must(client.create(make_execution_for_agent(must(client.create(make_agent())).metadata().id())));

    const size_t limit = size_t{static_cast<unsigned>(limit_mb)} << 20;
    const auto refused = client.update_status(execution.metadata().id(), status_of_size(limit + 1));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK_MESSAGE(refused.status().error_message().find(std::to_string(limit)) != std::string::npos,
                  refused.status().error_message());

    const auto stored = must(client.get<Execution>(execution.metadata().id()));
    CHECK(stored.status().phase() == exv1::EXECUTION_PENDING);
    CHECK(stored.status().messages_size() == 0);
    CHECK(revision_of(stored.metadata()) == revision_of(execution.metadata()));
  }
}
