#include "e2e/harness.h"

using namespace aexd;
using namespace aexd::test;

TEST_CASE("an execution created for an agent starts pending in an auto-created session") {
  TestServer server;
  grpc::ClientContext c1;
  Agent agent;
  auto s1 = server.agents()->create(&c1, make_agent("Code Reviewer"), &agent);
  REQUIRE_MESSAGE(s1.ok(), s1.error_code() << " " << s1.error_message());
  grpc::ClientContext c2;
  Execution execution;
  auto status = server.executions()->create(&c2, make_execution_for_agent(agent.metadata().id()), &execution);
  REQUIRE_MESSAGE(status.ok(), status.error_message());
  CHECK(execution.status().phase() == exv1::EXECUTION_PENDING);
  CHECK(is_id(execution.spec().session_id(), kSessionPrefix));
  CHECK(execution.metadata().name() == execution.metadata().id());
}
