#include "pipeline/lists.h"

#include <doctest/doctest.h>

#include <cctype>
#include <string>

#include "unit/store/sqlite/list_rows.h"

using namespace aexd;
using namespace aexd::test;
namespace sessionv1 = aexd::pipeline::sessionv1;
namespace instancev1 = aexd::pipeline::instancev1;

namespace {

bool names_field(const grpc::Status& status, const std::string& field) {
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT && status.error_message().rfind(field + ":", 0) == 0;
}

}  // namespace

TEST_CASE("page_size 0 means the cap of 1000, sizes above 1000 are capped, others are kept") {
  CHECK(*pipeline::page_size(0) == 1000);
  CHECK(*pipeline::page_size(1) == 1);
  CHECK(*pipeline::page_size(1000) == 1000);
  CHECK(*pipeline::page_size(1001) == 1000);
  CHECK(*pipeline::page_size(2147483647) == 1000);
}

TEST_CASE("a negative page_size is INVALID_ARGUMENT naming page_size") {
  auto size = pipeline::page_size(-1);
  REQUIRE_FALSE(size.ok());
  CHECK(names_field(size.status(), "page_size"));
}

TEST_CASE("a page token is empty or an id of the listed kind") {
  const std::string execution = new_id(kExecutionPrefix);
  CHECK(pipeline::check_page_token("", kExecutionPrefix).ok());
  CHECK(pipeline::check_page_token(execution, kExecutionPrefix).ok());
  std::string upper = execution;
  for (auto& c : upper) c = static_cast<char>(std::toupper(c));
  for (const std::string& bad : {new_id(kSessionPrefix), std::string("garbage"), execution + "0", execution.substr(1),
                                 upper, std::string("aex-") + std::string(26, '8'), std::string("aex-'; --")}) {
    CAPTURE(bad);
    CHECK(names_field(pipeline::check_page_token(bad, kExecutionPrefix), "page_token"));
  }
}

TEST_CASE("a list request with a malformed page token or size is rejected before anything is read") {
  ListDb db;
  exv1::AgentExecutionList out;
  std::string next;
  exv1::ListAgentExecutionsRequest request;
  request.set_page_token(new_id(kSessionPrefix));
  CHECK(names_field(pipeline::list(db.reader(), request, out, next), "page_token"));
  sessionv1::ListSessionsByAgentRequest by_agent;
  by_agent.set_agent_id("agt-1");
  by_agent.set_page_size(-5);
  sessionv1::SessionList sessions;
  CHECK(names_field(pipeline::list(db.reader(), by_agent, sessions, next), "page_size"));
}

TEST_CASE("an unknown phase and too many tags are INVALID_ARGUMENT naming the field") {
  ListDb db;
  exv1::AgentExecutionList out;
  std::string next;
  exv1::ListAgentExecutionsRequest request;
  request.set_phase(static_cast<Phase>(42));
  CHECK(names_field(pipeline::list(db.reader(), request, out, next), "phase"));
  request.set_phase(exv1::EXECUTION_COMPLETED);
  for (int i = 0; i <= pipeline::kMaxTags; ++i) request.add_tags(std::to_string(i));
  CHECK(names_field(pipeline::list(db.reader(), request, out, next), "tags"));
}

TEST_CASE("the by-parent lists require their parent id") {
  ListDb db;
  std::string next;
  exv1::AgentExecutionList executions;
  CHECK(names_field(pipeline::list(db.reader(), exv1::ListAgentExecutionsBySessionRequest{}, executions, next),
                    "session_id"));
  sessionv1::SessionList sessions;
  CHECK(names_field(pipeline::list(db.reader(), sessionv1::ListSessionsByAgentRequest{}, sessions, next), "agent_id"));
  instancev1::AgentInstanceList instances;
  CHECK(names_field(pipeline::list(db.reader(), instancev1::GetAgentInstancesByAgentRequest{}, instances), "agent_id"));
}

TEST_CASE("total_pages rounds up and the next page token is the id of the page's last entry") {
  ListDb db;
  for (int i = 0; i < 101; ++i) add_execution(*db, "ses-1", exv1::EXECUTION_PENDING);
  exv1::ListAgentExecutionsRequest request;
  request.set_page_size(50);
  exv1::AgentExecutionList out;
  std::string next;
  REQUIRE(pipeline::list(db.reader(), request, out, next).ok());
  CHECK(out.total_pages() == 3);
  REQUIRE(out.entries_size() == 50);
  CHECK(next == out.entries(49).metadata().id());

  request.set_page_size(1000);
  out.Clear();
  REQUIRE(pipeline::list(db.reader(), request, out, next).ok());
  CHECK(out.total_pages() == 1);
  CHECK(out.entries_size() == 101);
  CHECK(next.empty());
}

TEST_CASE("every list without a page_size returns 1000 entries, for clients that do not page") {
  ListDb db;
  const auto instance = add_instance(*db, "agt-1");
  const auto session = add_session(*db, instance.metadata().id());
  for (int i = 0; i < 1000; ++i) add_session(*db, instance.metadata().id());
  for (int i = 0; i < 1001; ++i) add_execution(*db, session.metadata().id(), exv1::EXECUTION_PENDING);
  std::string next;

  exv1::AgentExecutionList executions;
  REQUIRE(pipeline::list(db.reader(), exv1::ListAgentExecutionsRequest{}, executions, next).ok());
  CHECK(executions.entries_size() == 1000);
  CHECK(executions.total_pages() == 2);
  CHECK(next == executions.entries(999).metadata().id());

  exv1::ListAgentExecutionsBySessionRequest by_session;
  by_session.set_session_id(session.metadata().id());
  executions.Clear();
  REQUIRE(pipeline::list(db.reader(), by_session, executions, next).ok());
  CHECK(executions.entries_size() == 1000);
  CHECK(executions.total_pages() == 2);

  sessionv1::SessionList sessions;
  REQUIRE(pipeline::list(db.reader(), sessionv1::ListSessionsRequest{}, sessions, next).ok());
  CHECK(sessions.entries_size() == 1000);
  CHECK(sessions.total_pages() == 2);

  sessionv1::ListSessionsByAgentRequest by_agent;
  by_agent.set_agent_id("agt-1");
  sessions.Clear();
  REQUIRE(pipeline::list(db.reader(), by_agent, sessions, next).ok());
  CHECK(sessions.entries_size() == 1000);
  CHECK(sessions.total_pages() == 2);
}

TEST_CASE("an empty list has no pages and no next page token") {
  ListDb db;
  sessionv1::ListSessionsRequest request;
  sessionv1::SessionList out;
  std::string next = "stale";
  REQUIRE(pipeline::list(db.reader(), request, out, next).ok());
  CHECK(out.total_pages() == 0);
  CHECK(out.entries_size() == 0);
  CHECK(next.empty());
}
