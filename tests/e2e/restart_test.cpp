// A restart of the server on the same database, over gRPC: everything acknowledged before it is there
// after it, byte for byte, and later writes continue from the stored state.
#include <string>

#include "support/client.h"

using namespace aexd;
using namespace aexd::test;

namespace {

ExecutionStatus with_phase(Phase phase) {
  ExecutionStatus s;
  s.set_phase(phase);
  return s;
}

/// Resources of every kind in several states, as the server answered them.
struct World {
  SessionChain chain;  // explicit agent, instance and session
  Agent agent;         // ran in agent mode: has a default instance
  AgentInstance default_instance;
  Session auto_session;
  Execution running;   // in the explicit session, several status updates
  Execution finished;  // agent mode, terminal
  Execution fresh;     // agent mode, as created, with fields from a newer client
  Execution deleted;

  explicit World(const Client& api) {
    chain = make_chain(api, "Code Reviewer");
    running = must(api.create(make_execution_in_session(chain.session.metadata().id(), "review")));
    auto progress = with_phase(exv1::EXECUTION_IN_PROGRESS);
    auto* message = progress.add_messages();
    message->set_type(exv1::MESSAGE_AI);
    message->set_content("reading the diff");
    (*progress.mutable_todos())["t1"].set_content("read");
    progress.set_started_at("2026-01-01T10:00:00Z");
    must(api.update_status(running.metadata().id(), progress));
    ExecutionStatus tool;
    tool.add_tool_calls()->set_status(exv1::TOOL_CALL_RUNNING);
    running = must(api.update_status(running.metadata().id(), tool));

    Agent created = must(api.create(make_agent("Test Writer", res::platform, "")));
    finished = must(api.create(make_execution_for_agent(created.metadata().id(), "write tests")));
    finished = must(api.update_status(finished.metadata().id(), with_phase(exv1::EXECUTION_COMPLETED)));
    auto request = make_execution_for_agent(created.metadata().id(), "more tests");
    add_future_fields(*request.mutable_spec(), 500);
    fresh = must(api.create(request));
    deleted = must(api.create(make_execution_for_agent(created.metadata().id(), "to delete")));
    must(api.remove<Execution>(deleted.metadata().id()));

    agent = must(api.get<Agent>(created.metadata().id()));
    default_instance = must(api.get<AgentInstance>(agent.status().default_instance_id()));
    auto_session = must(api.get<Session>(finished.spec().session_id()));
  }
};

template <class T>
void check_unchanged(const Client& api, const T& before) {
  auto after = api.get<T>(before.metadata().id());
  REQUIRE_MESSAGE(after.ok(), describe(after.status()));
  CHECK_MESSAGE(same(*after, before), before.metadata().id());
}

}  // namespace

TEST_CASE("a restart keeps agents, instances, sessions and executions exactly as they were") {
  TestServer server;
  const World world(Client(server.channel()));

  server.restart();

  Client api(server.channel());
  check_unchanged(api, world.chain.agent);
  check_unchanged(api, world.chain.instance);
  check_unchanged(api, world.chain.session);
  check_unchanged(api, world.agent);
  check_unchanged(api, world.default_instance);
  check_unchanged(api, world.auto_session);
  check_unchanged(api, world.running);
  check_unchanged(api, world.finished);
  check_unchanged(api, world.fresh);
  CHECK(world.running.metadata().version().id() == "3");
  CHECK(unknown_bytes(must(api.get<Execution>(world.fresh.metadata().id())).spec()) ==
        unknown_bytes(world.fresh.spec()));
}

TEST_CASE("an execution deleted before a restart stays deleted") {
  TestServer server;
  const World world(Client(server.channel()));

  server.restart();

  auto got = Client(server.channel()).get<Execution>(world.deleted.metadata().id());
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("after a restart, writes continue from the stored state") {
  TestServer server;
  const World world(Client(server.channel()));

  server.restart();
  Client api(server.channel());

  SUBCASE("the next status update takes the next revision") {
    auto updated = must(api.update_status(world.running.metadata().id(), with_phase(exv1::EXECUTION_COMPLETED)));
    CHECK(updated.metadata().version().id() == "4");
    CHECK(updated.metadata().version().previous_version_id() == "3");
    CHECK(updated.status().messages_size() == 1);
  }
  SUBCASE("a terminal execution is still final") {
    auto result = api.update_status(world.finished.metadata().id(), with_phase(exv1::EXECUTION_IN_PROGRESS));
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
  SUBCASE("an agent-mode execution reuses the default instance created before") {
    auto execution = must(api.create(make_execution_for_agent(world.agent.metadata().id())));
    auto session = must(api.get<Session>(execution.spec().session_id()));
    CHECK(session.spec().agent_instance_id() == world.default_instance.metadata().id());
    CHECK(count_rows(server.db_path(), "agent_instances") == 2);
  }
  SUBCASE("slugs taken before are still taken") {
    auto result = api.create(make_agent("Code Reviewer"));
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().error_code() == grpc::StatusCode::ALREADY_EXISTS);
  }
  SUBCASE("an update naming the stored revision is accepted, a stale one ABORTED") {
    auto stale = world.chain.agent;
    stale.mutable_metadata()->mutable_version()->set_id("0");
    CHECK(api.update(stale).status().error_code() == grpc::StatusCode::ABORTED);
    CHECK(must(api.update(world.chain.agent)).metadata().version().id() == "2");
  }
  SUBCASE("sessions still guard their instance and agent from deletion") {
    auto result = api.remove<Agent>(world.chain.agent.metadata().id());
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
}
