// AgentExecutionCommandController.create over gRPC: session mode, agent mode with the default instance
// and the auto-created session, the fields every new execution gets, and the one-transaction rule.
#include <atomic>
#include <latch>
#include <set>
#include <thread>
#include <vector>

#include "support/client.h"
#include "support/faulty_storage.h"

using namespace aexd;
using namespace aexd::test;

namespace {

constexpr std::string_view kDefaultDescription = "Default instance (auto-created, no custom configuration)";

std::string ulid_part(const std::string& id) { return id.substr(id.find('-') + 1); }

}  // namespace

TEST_CASE("an execution created in a session takes its agent from the session's instance") {
  TestServer server;
  Client api(server.channel());
  auto chain = make_chain(api, "Code Reviewer");

  auto execution = must(api.create(make_execution_in_session(chain.session.metadata().id())));

  CHECK(execution.spec().agent_id() == chain.agent.metadata().id());
  CHECK(execution.spec().session_id() == chain.session.metadata().id());
  CHECK(execution.status().phase() == exv1::EXECUTION_PENDING);
}

TEST_CASE("an execution in a session accepts the agent_id of the session's agent") {
  TestServer server;
  Client api(server.channel());
  auto chain = make_chain(api, "Code Reviewer");
  auto request = make_execution_in_session(chain.session.metadata().id());
  request.mutable_spec()->set_agent_id(chain.agent.metadata().id());

  auto execution = must(api.create(request));

  CHECK(execution.spec().agent_id() == chain.agent.metadata().id());
}

TEST_CASE("an execution whose agent_id is not its session's agent is INVALID_ARGUMENT") {
  TestServer server;
  Client api(server.channel());
  auto chain = make_chain(api, "Code Reviewer");
  auto other = must(api.create(make_agent("Other Agent")));
  auto request = make_execution_in_session(chain.session.metadata().id());
  request.mutable_spec()->set_agent_id(other.metadata().id());

  auto result = api.create(request);

  REQUIRE_FALSE(result.ok());
  CHECK(result.status().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(result.status().error_message().rfind("spec.agent_id: ", 0) == 0);
  CHECK(count_rows(server.db_path(), "executions") == 0);
}

TEST_CASE("an execution in an unknown session is NOT_FOUND naming the session") {
  TestServer server;
  Client api(server.channel());
  const std::string missing = new_id(kSessionPrefix);

  auto result = api.create(make_execution_in_session(missing));

  REQUIRE_FALSE(result.ok());
  CHECK(result.status().error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(result.status().error_message().find("Session " + missing) != std::string::npos);
}

TEST_CASE("an execution for an unknown agent is NOT_FOUND naming the agent") {
  TestServer server;
  Client api(server.channel());
  const std::string missing = new_id(kAgentPrefix);

  auto result = api.create(make_execution_for_agent(missing));

  REQUIRE_FALSE(result.ok());
  CHECK(result.status().error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(result.status().error_message().find("Agent " + missing) != std::string::npos);
}

TEST_CASE("the first execution for an agent creates its default instance and records it on the agent") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));

  auto execution = must(api.create(make_execution_for_agent(agent.metadata().id())));

  auto session = must(api.get<Session>(execution.spec().session_id()));
  const std::string instance_id = session.spec().agent_instance_id();
  CHECK(is_id(instance_id, kInstancePrefix));
  auto instance = must(api.get<AgentInstance>(instance_id));
  CHECK(instance.metadata().name() == "Code Reviewer-default");
  CHECK(instance.spec().description() == kDefaultDescription);
  CHECK(instance.spec().agent_id() == agent.metadata().id());
  CHECK(must(api.get<Agent>(agent.metadata().id())).status().default_instance_id() == instance_id);
}

TEST_CASE("the next execution for the agent reuses its default instance with a new session") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));
  auto first = must(api.create(make_execution_for_agent(agent.metadata().id(), "first")));
  const std::string instance_id = must(api.get<Agent>(agent.metadata().id())).status().default_instance_id();

  auto second = must(api.create(make_execution_for_agent(agent.metadata().id(), "second")));

  CHECK(second.spec().session_id() != first.spec().session_id());
  CHECK(must(api.get<Session>(second.spec().session_id())).spec().agent_instance_id() == instance_id);
  CHECK(must(api.get<Agent>(agent.metadata().id())).status().default_instance_id() == instance_id);
  CHECK(count_rows(server.db_path(), "agent_instances") == 1);
}

TEST_CASE("an auto-created session is named after its id and owned by the org of an org-scoped agent") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer", res::organization, "acme")));

  auto execution = must(api.create(make_execution_for_agent(agent.metadata().id())));

  const std::string& session_id = execution.spec().session_id();
  REQUIRE(is_id(session_id, kSessionPrefix));
  auto session = must(api.get<Session>(session_id));
  CHECK(session.metadata().name() == "session-" + ulid_part(session_id));
  CHECK(session.spec().subject() == "Auto-created session");
  CHECK(session.metadata().owner_scope() == res::organization);
  CHECK(session.metadata().org() == "acme");
}

TEST_CASE("an auto-created session of a platform agent is owned by an identity account") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Platform Helper", res::platform, "")));

  auto execution = must(api.create(make_execution_for_agent(agent.metadata().id())));

  auto session = must(api.get<Session>(execution.spec().session_id()));
  CHECK(session.metadata().owner_scope() == res::identity_account);
  CHECK(session.spec().subject() == "Auto-created session");
}

TEST_CASE("a created execution gets a fresh aex- id and ignores the id the client sent") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));
  auto request = make_execution_for_agent(agent.metadata().id());
  const std::string sent = new_id(kExecutionPrefix);
  request.mutable_metadata()->set_id(sent);

  auto execution = must(api.create(request));

  CHECK(is_id(execution.metadata().id(), kExecutionPrefix));
  CHECK(execution.metadata().id() != sent);
  CHECK_FALSE(api.get<Execution>(sent).ok());
}

TEST_CASE("executions created one after another get increasing ids") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));

  auto first = must(api.create(make_execution_for_agent(agent.metadata().id())));
  auto second = must(api.create(make_execution_for_agent(agent.metadata().id())));

  CHECK(first.metadata().id() < second.metadata().id());
}

TEST_CASE("an execution's name") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));
  auto request = make_execution_for_agent(agent.metadata().id());

  SUBCASE("is its id when the client sends none") {
    auto execution = must(api.create(request));
    CHECK(execution.metadata().name() == execution.metadata().id());
  }
  SUBCASE("is kept when the client sends one, and its slug derives from it") {
    request.mutable_metadata()->set_name("Nightly Review #3");
    auto execution = must(api.create(request));
    CHECK(execution.metadata().name() == "Nightly Review #3");
    CHECK(execution.metadata().slug() == "nightly-review-3");
  }
}

TEST_CASE("create fills in api_version and kind") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));

  auto execution = must(api.create(make_execution_for_agent(agent.metadata().id())));

  CHECK(execution.api_version() == "agentic.stigmer.ai/v1");
  CHECK(execution.kind() == "AgentExecution");
}

TEST_CASE("create discards a client-sent status and stamps the create audit") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));
  auto request = make_execution_for_agent(agent.metadata().id());
  request.mutable_status()->set_phase(exv1::EXECUTION_COMPLETED);
  request.mutable_status()->set_error("forged");
  request.mutable_status()->mutable_audit()->mutable_spec_audit()->mutable_created_by()->set_id("mallory");

  const auto before = now();
  auto execution = must(api.create(request));
  const auto after = now();

  CHECK(execution.status().phase() == exv1::EXECUTION_PENDING);
  CHECK(execution.status().error().empty());
  for (const auto& info : {execution.status().audit().spec_audit(), execution.status().audit().status_audit()}) {
    CHECK(info.created_by().id() == "system");
    CHECK(info.updated_by().id() == "system");
    CHECK(info.event() == "created");
    CHECK(info.created_at() >= before);
    CHECK(info.created_at() <= after);
    CHECK(info.updated_at() == info.created_at());
  }
}

TEST_CASE("a created execution is at revision 1 and get returns exactly what create answered") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));

  auto execution = must(api.create(make_execution_for_agent(agent.metadata().id())));

  CHECK(execution.metadata().version().id() == "1");
  CHECK(execution.metadata().version().previous_version_id().empty());
  auto got = must(api.get<Execution>(execution.metadata().id()));
  CHECK_MESSAGE(same(got, execution), got.ShortDebugString());
}

TEST_CASE("a failure after the execution's insert leaves no instance, session or execution behind") {
  // Armed, storage fails every execution insert after writing it; disarmed, creates succeed.
  auto armed = std::make_shared<std::atomic<bool>>(true);
  TestServer server({}, FaultyStorage::opener([armed](const Execution&) {
                      return armed->load() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "injected persist fault")
                                           : grpc::Status::OK;
                    }));
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));
  const std::string& agent_id = agent.metadata().id();

  auto failed = api.create(make_execution_for_agent(agent_id));

  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().error_message() == "injected persist fault");
  auto unchanged = must(api.get<Agent>(agent_id));
  CHECK(unchanged.status().default_instance_id().empty());
  CHECK(same(unchanged, agent));
  CHECK(count_rows(server.db_path(), "agent_instances") == 0);
  CHECK(count_rows(server.db_path(), "sessions") == 0);
  CHECK(count_rows(server.db_path(), "executions") == 0);

  SUBCASE("and the next create, without the fault, creates exactly one of each") {
    armed->store(false);
    auto execution = must(api.create(make_execution_for_agent(agent_id)));
    const std::string instance_id = must(api.get<Agent>(agent_id)).status().default_instance_id();
    CHECK(must(api.get<Session>(execution.spec().session_id())).spec().agent_instance_id() == instance_id);
    CHECK(count_rows(server.db_path(), "agent_instances") == 1);
    CHECK(count_rows(server.db_path(), "sessions") == 1);
    CHECK(count_rows(server.db_path(), "executions") == 1);
  }
}

TEST_CASE("16 concurrent first executions for a fresh agent share exactly one default instance") {
  constexpr int kClients = 16;
  TestServer server;
  Client setup(server.channel());
  auto agent = must(setup.create(make_agent("Code Reviewer")));

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < kClients; ++i) {
    channels.push_back(server.new_channel());
    REQUIRE(channels.back()->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
  }
  std::vector<Result<Execution>> results(kClients, grpc::Status(grpc::StatusCode::UNKNOWN, "not run"));
  std::latch start(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      start.arrive_and_wait();  // release all creates at once
      results[i] = Client(channels[i]).create(make_execution_for_agent(agent.metadata().id()));
    });
  for (auto& t : clients) t.join();

  std::set<std::string> instances, sessions;
  for (const auto& result : results) {
    REQUIRE_MESSAGE(result.ok(), describe(result.status()));
    sessions.insert(result->spec().session_id());
    instances.insert(must(setup.get<Session>(result->spec().session_id())).spec().agent_instance_id());
  }
  CHECK(sessions.size() == kClients);
  REQUIRE(instances.size() == 1);
  CHECK(must(setup.get<Agent>(agent.metadata().id())).status().default_instance_id() == *instances.begin());
  CHECK(count_rows(server.db_path(), "agent_instances") == 1);
}

TEST_CASE("16 concurrent creates with one idempotency key make one execution and all get its id") {
  constexpr int kClients = 16;
  TestServer server;
  Client setup(server.channel());
  const auto request = make_execution_for_agent(must(setup.create(make_agent("Code Reviewer"))).metadata().id());

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < kClients; ++i) {
    channels.push_back(server.new_channel());
    REQUIRE(channels.back()->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
  }
  std::vector<Result<Execution>> results(kClients, grpc::Status(grpc::StatusCode::UNKNOWN, "not run"));
  std::latch start(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = Client(channels[i]).create(request, "run-42");
    });
  for (auto& t : clients) t.join();

  std::set<std::string> ids;
  for (const auto& result : results) {
    REQUIRE_MESSAGE(result.ok(), describe(result.status()));
    ids.insert(result->metadata().id());
  }
  CHECK(ids.size() == 1);
  CHECK(count_rows(server.db_path(), "executions") == 1);
  CHECK(count_rows(server.db_path(), "sessions") == 1);
}

TEST_CASE("a repeated idempotency key answers with the execution's current state") {
  TestServer server;
  Client api(server.channel());
  const auto request = make_execution_for_agent(must(api.create(make_agent("Code Reviewer"))).metadata().id());
  const auto first = must(api.create(request, "run-42"));
  ExecutionStatus running;
  running.set_phase(exv1::EXECUTION_IN_PROGRESS);
  const auto now = must(api.update_status(first.metadata().id(), running));

  const auto again = must(api.create(request, "run-42"));

  CHECK(same(again, now));
  CHECK(count_rows(server.db_path(), "executions") == 1);
}

TEST_CASE("the same idempotency key with a different request is ALREADY_EXISTS") {
  TestServer server;
  Client api(server.channel());
  const auto request = make_execution_for_agent(must(api.create(make_agent("Code Reviewer"))).metadata().id());
  must(api.create(request, "run-42"));
  auto different = request;
  different.mutable_spec()->set_message("another message");

  const auto result = api.create(different, "run-42");

  REQUIRE_FALSE(result.ok());
  CHECK_MESSAGE(result.status().error_code() == grpc::StatusCode::ALREADY_EXISTS, describe(result.status()));
  CHECK(result.status().error_message().find("idempotency-key") != std::string::npos);
  CHECK(count_rows(server.db_path(), "executions") == 1);
}

TEST_CASE("an idempotency key survives a restart") {
  TestServer server;
  const auto request =
      make_execution_for_agent(must(Client(server.channel()).create(make_agent("Code Reviewer"))).metadata().id());
  const auto first = must(Client(server.channel()).create(request, "run-42"));

  server.restart();
  const auto again = must(Client(server.channel()).create(request, "run-42"));

  CHECK(same(again, first));
  CHECK(count_rows(server.db_path(), "executions") == 1);
}

TEST_CASE("an idempotency key whose execution was deleted makes a new execution") {
  TestServer server;
  Client api(server.channel());
  const auto request = make_execution_for_agent(must(api.create(make_agent("Code Reviewer"))).metadata().id());
  const auto first = must(api.create(request, "run-42"));
  must(api.remove<Execution>(first.metadata().id()));

  const auto second = must(api.create(request, "run-42"));
  const auto again = must(api.create(request, "run-42"));

  CHECK(second.metadata().id() != first.metadata().id());
  CHECK(again.metadata().id() == second.metadata().id());
  CHECK(count_rows(server.db_path(), "executions") == 1);
}

TEST_CASE("a malformed idempotency key is INVALID_ARGUMENT naming the header and creates nothing") {
  TestServer server;
  Client api(server.channel());
  const auto request = make_execution_for_agent(must(api.create(make_agent("Code Reviewer"))).metadata().id());
  // Non-printable bytes cannot be tested here: gRPC itself refuses them in a header value.
  for (const std::string& key : {std::string(), std::string(129, 'k')}) {
    CAPTURE(key);
    const auto result = api.create(request, key);
    REQUIRE_FALSE(result.ok());
    CHECK_MESSAGE(result.status().error_code() == grpc::StatusCode::INVALID_ARGUMENT, describe(result.status()));
    CHECK(result.status().error_message().rfind("idempotency-key: ", 0) == 0);
  }
  CHECK(must(api.create(request, std::string(128, 'k'))).metadata().id().starts_with("aex-"));
  CHECK(count_rows(server.db_path(), "executions") == 1);
}

TEST_CASE("creates without an idempotency key each make an execution") {
  TestServer server;
  Client api(server.channel());
  const auto request = make_execution_for_agent(must(api.create(make_agent("Code Reviewer"))).metadata().id());

  const auto first = must(api.create(request));
  const auto second = must(api.create(request));

  CHECK(first.metadata().id() != second.metadata().id());
  CHECK(count_rows(server.db_path(), "executions") == 2);
  CHECK(count_rows(server.db_path(), "idempotency_keys") == 0);
}
