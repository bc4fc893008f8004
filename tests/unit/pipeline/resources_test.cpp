#include "pipeline/resources.h"

#include <doctest/doctest.h>
#include <google/protobuf/util/message_differencer.h>

#include <string>

#include "domain/audit.h"
#include "unit/pipeline/fixture.h"

using namespace aexd;
using namespace aexd::test;
using google::protobuf::util::MessageDifferencer;

namespace {

bool has(const grpc::Status& status, grpc::StatusCode code, const std::string& text = "") {
  return status.error_code() == code && status.error_message().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE_FIXTURE(StoreFixture, "create gives a fresh id, constants, derived slug, create audit and revision 1") {
  Agent request = make_agent("Code Reviewer");
  request.mutable_metadata()->set_id("agt-chosen-by-client");
  request.mutable_status()->set_default_instance_id("ain-forged");
  Agent out;
  REQUIRE(pipeline::create(tx, request, out).ok());
  const auto& m = out.metadata();
  CHECK(is_id(m.id(), kAgentPrefix));
  CHECK(out.api_version() == "agentic.stigmer.ai/v1");
  CHECK(out.kind() == "Agent");
  CHECK(m.slug() == "code-reviewer");
  CHECK(m.version().id() == "1");
  CHECK(out.status().default_instance_id().empty());
  CHECK(out.status().audit().spec_audit().event() == "created");
  CHECK(out.status().audit().status_audit().created_by().id() == "system");
  CHECK(MessageDifferencer::Equals(*store::sqlite::load<Agent>(*db, m.id()), out));
}

TEST_CASE_FIXTURE(StoreFixture, "creating an agent with a slug taken in the same scope and org is ALREADY_EXISTS") {
  const Agent first = agent("Code Reviewer");
  Agent out;
  Agent request = make_agent("Another Name");
  request.mutable_metadata()->set_slug("code-reviewer");
  const auto status = pipeline::create(tx, request, out);
  CHECK(has(status, grpc::StatusCode::ALREADY_EXISTS, "code-reviewer"));
  CHECK(rows("agents") == 1);
}

TEST_CASE_FIXTURE(StoreFixture,
                  "an agent or agent instance whose name gives no slug is INVALID_ARGUMENT naming the name") {
  Agent out;
  CHECK(has(pipeline::create(tx, make_agent("!!! ???"), out), grpc::StatusCode::INVALID_ARGUMENT, "metadata.name: "));
  AgentInstance instance;
  const Agent parent = agent("Code Reviewer");
  CHECK(has(pipeline::create(tx, make_instance(parent.metadata().id(), "--"), instance),
            grpc::StatusCode::INVALID_ARGUMENT, "metadata.name: "));
  CHECK(rows("agents") == 1);
  CHECK(rows("agent_instances") == 0);
}

TEST_CASE_FIXTURE(StoreFixture, "the same agent slug is free in another org and in another owner scope") {
  agent("Code Reviewer", res::organization, "acme");
  Agent other_org, platform;
  CHECK(pipeline::create(tx, make_agent("Code Reviewer", res::organization, "globex"), other_org).ok());
  CHECK(pipeline::create(tx, make_agent("Code Reviewer", res::platform, "acme"), platform).ok());
  CHECK(rows("agents") == 3);
}

TEST_CASE_FIXTURE(StoreFixture, "creating an agent instance with a taken slug is ALREADY_EXISTS") {
  const Agent a = agent();
  instance(a, "prod");
  AgentInstance out;
  CHECK(has(pipeline::create(tx, make_instance(a.metadata().id(), "prod"), out), grpc::StatusCode::ALREADY_EXISTS,
            "prod"));
}

TEST_CASE_FIXTURE(StoreFixture, "an agent instance for an unknown agent is NOT_FOUND") {
  Agent ghost = make_agent();
  ghost.mutable_metadata()->set_id(new_id(kAgentPrefix));
  AgentInstance out;
  CHECK(has(pipeline::create(tx, make_instance(ghost.metadata().id()), out), grpc::StatusCode::NOT_FOUND,
            "Agent " + ghost.metadata().id()));
}

TEST_CASE_FIXTURE(StoreFixture, "a session on an unknown agent instance is NOT_FOUND") {
  AgentInstance ghost;
  ghost.mutable_metadata()->set_id(new_id(kInstancePrefix));
  Session out;
  CHECK(has(pipeline::create(tx, make_session(ghost.metadata().id()), out), grpc::StatusCode::NOT_FOUND,
            "AgentInstance " + ghost.metadata().id()));
}

TEST_CASE_FIXTURE(StoreFixture, "sessions are not slug-unique and an unnamed one is named after its id") {
  const AgentInstance i = instance(agent());
  Session request = make_session(i.metadata().id());
  request.mutable_metadata()->set_name("Daily");
  Session first, second, unnamed;
  REQUIRE(pipeline::create(tx, request, first).ok());
  REQUIRE(pipeline::create(tx, request, second).ok());
  CHECK(first.metadata().slug() == second.metadata().slug());
  Session without_name = make_session(i.metadata().id());
  without_name.mutable_metadata()->clear_name();
  REQUIRE(pipeline::create(tx, without_name, unnamed).ok());
  CHECK(unnamed.metadata().name() == "session-" + unnamed.metadata().id().substr(4));
}

TEST_CASE_FIXTURE(StoreFixture, "apply with the id of an existing agent updates it") {
  const Agent a = agent();
  Agent request = make_agent("Code Reviewer");
  request.mutable_metadata()->set_id(a.metadata().id());
  request.mutable_spec()->set_description("now with a description");
  Agent out;
  REQUIRE(pipeline::apply(tx, request, out).ok());
  CHECK(out.metadata().id() == a.metadata().id());
  CHECK(out.spec().description() == "now with a description");
  CHECK(out.status().audit().spec_audit().event() == "updated");
  CHECK(rows("agents") == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "apply without an id updates the agent holding the same slug in the scope and org") {
  const Agent a = agent("Code Reviewer");
  Agent request = make_agent("Code Reviewer");
  request.mutable_spec()->set_instructions("Review only the tests, please.");
  Agent out;
  REQUIRE(pipeline::apply(tx, request, out).ok());
  CHECK(out.metadata().id() == a.metadata().id());
  CHECK(out.spec().instructions() == "Review only the tests, please.");
  CHECK(out.status().audit().spec_audit().event() == "updated");
  CHECK(rows("agents") == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "apply of an agent instance by slug updates the holder") {
  const Agent a = agent();
  const AgentInstance i = instance(a, "prod");
  AgentInstance request = make_instance(a.metadata().id(), "prod");
  request.mutable_spec()->set_description("production");
  AgentInstance out;
  REQUIRE(pipeline::apply(tx, request, out).ok());
  CHECK(out.metadata().id() == i.metadata().id());
  CHECK(out.spec().description() == "production");
  CHECK(rows("agent_instances") == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "apply creates when neither id nor slug names an existing resource") {
  agent("Code Reviewer");
  Agent request = make_agent("Code Reviewer", res::organization, "globex");
  request.mutable_metadata()->set_id(new_id(kAgentPrefix));
  Agent out;
  REQUIRE(pipeline::apply(tx, request, out).ok());
  CHECK(out.metadata().id() != request.metadata().id());
  CHECK(out.status().audit().spec_audit().event() == "created");
  CHECK(rows("agents") == 2);
}

TEST_CASE_FIXTURE(StoreFixture, "apply of a session without a known id creates another one") {
  const AgentInstance i = instance(agent());
  const Session s = session(i);
  Session out;
  REQUIRE(pipeline::apply(tx, make_session(i.metadata().id()), out).ok());
  CHECK(out.metadata().id() != s.metadata().id());
  CHECK(out.status().audit().spec_audit().event() == "created");
  CHECK(rows("sessions") == 2);
}

TEST_CASE_FIXTURE(StoreFixture, "update replaces the spec and keeps id, create audit and status") {
  const Agent a = agent();
  Execution e;
  REQUIRE(pipeline::create_execution(tx, make_execution_for_agent(a.metadata().id()), e).ok());
  const Agent stored = *store::sqlite::load<Agent>(*db, a.metadata().id());
  REQUIRE_FALSE(stored.status().default_instance_id().empty());

  Agent request = make_agent("Code Reviewer");
  request.mutable_metadata()->set_id(a.metadata().id());
  request.mutable_spec()->set_instructions("Completely new instructions.");
  request.mutable_status()->set_default_instance_id("ain-forged");
  Agent out;
  REQUIRE(pipeline::update(tx, request, out).ok());
  CHECK(out.metadata().id() == a.metadata().id());
  CHECK(out.spec().instructions() == "Completely new instructions.");
  CHECK(out.status().default_instance_id() == stored.status().default_instance_id());
  const auto& spec_audit = out.status().audit().spec_audit();
  CHECK(MessageDifferencer::Equals(spec_audit.created_at(), stored.status().audit().spec_audit().created_at()));
  CHECK(spec_audit.created_by().id() == "system");
  CHECK(spec_audit.event() == "updated");
  CHECK(MessageDifferencer::Equals(out.status().audit().status_audit(), stored.status().audit().status_audit()));
  CHECK(revision_of(out.metadata()) == revision_of(stored.metadata()) + 1);
  CHECK(MessageDifferencer::Equals(*store::sqlite::load<Agent>(*db, a.metadata().id()), out));
}

TEST_CASE_FIXTURE(StoreFixture, "update of a session without name or slug keeps the stored ones") {
  const AgentInstance i = instance(agent());
  Session request = make_session(i.metadata().id());
  request.mutable_metadata()->set_name("Daily Triage");
  Session created;
  REQUIRE(pipeline::create(tx, request, created).ok());
  Session change = make_session(i.metadata().id());
  change.mutable_metadata()->clear_name();
  change.mutable_metadata()->set_id(created.metadata().id());
  change.mutable_spec()->set_subject("weekly");
  Session out;
  REQUIRE(pipeline::update(tx, change, out).ok());
  CHECK(out.metadata().name() == "Daily Triage");
  CHECK(out.metadata().slug() == "daily-triage");
  CHECK(out.spec().subject() == "weekly");
}

TEST_CASE_FIXTURE(StoreFixture, "update with a new name keeps the stored slug") {
  const Agent a = agent("Code Reviewer");
  Agent request = make_agent("Renamed Reviewer");
  request.mutable_metadata()->set_id(a.metadata().id());
  Agent out;
  REQUIRE(pipeline::update(tx, request, out).ok());
  CHECK(out.metadata().name() == "Renamed Reviewer");
  CHECK(out.metadata().slug() == "code-reviewer");
}

TEST_CASE_FIXTURE(StoreFixture, "update of a missing resource is NOT_FOUND and without an id INVALID_ARGUMENT") {
  Agent request = make_agent();
  Agent out;
  CHECK(has(pipeline::update(tx, request, out), grpc::StatusCode::INVALID_ARGUMENT, "metadata.id: "));
  request.mutable_metadata()->set_id(new_id(kAgentPrefix));
  CHECK(has(pipeline::update(tx, request, out), grpc::StatusCode::NOT_FOUND, "Agent " + request.metadata().id()));
}

TEST_CASE_FIXTURE(StoreFixture, "update naming a stale revision is ABORTED and changes nothing") {
  const Agent a = agent();
  Agent request = make_agent();
  request.mutable_metadata()->set_id(a.metadata().id());
  request.mutable_spec()->set_description("first");
  Agent v2;
  REQUIRE(pipeline::update(tx, request, v2).ok());

  request.mutable_metadata()->mutable_version()->set_id("1");
  request.mutable_spec()->set_description("stale");
  Agent out;
  CHECK(has(pipeline::update(tx, request, out), grpc::StatusCode::ABORTED, "metadata.version.id"));
  CHECK(MessageDifferencer::Equals(*store::sqlite::load<Agent>(*db, a.metadata().id()), v2));
}

TEST_CASE_FIXTURE(StoreFixture, "update naming the current revision succeeds") {
  const Agent a = agent();
  Agent request = make_agent();
  request.mutable_metadata()->set_id(a.metadata().id());
  request.mutable_metadata()->mutable_version()->set_id(a.metadata().version().id());
  Agent out;
  REQUIRE(pipeline::update(tx, request, out).ok());
  CHECK(out.metadata().version().id() == "2");
}

TEST_CASE_FIXTURE(StoreFixture,
                  "update keeps the version message the client sent and counts on from the stored revision") {
  const Agent a = agent();
  Agent request = make_agent();
  request.mutable_metadata()->set_id(a.metadata().id());
  request.mutable_metadata()->mutable_version()->set_message("tighten the instructions");
  Agent out;
  REQUIRE(pipeline::update(tx, request, out).ok());
  CHECK(out.metadata().version().message() == "tighten the instructions");
  CHECK(out.metadata().version().id() == "2");
  CHECK(out.metadata().version().previous_version_id() == "1");
  CHECK(MessageDifferencer::Equals(*store::sqlite::load<Agent>(*db, a.metadata().id()), out));
}

TEST_CASE_FIXTURE(StoreFixture, "update to a slug another agent holds is ALREADY_EXISTS") {
  agent("Code Reviewer");
  const Agent b = agent("Bug Hunter");
  Agent request = make_agent("Bug Hunter");
  request.mutable_metadata()->set_id(b.metadata().id());
  request.mutable_metadata()->set_slug("code-reviewer");
  Agent out;
  CHECK(has(pipeline::update(tx, request, out), grpc::StatusCode::ALREADY_EXISTS));
}

TEST_CASE_FIXTURE(StoreFixture, "update cannot move an agent instance to another agent") {
  const Agent a = agent("Code Reviewer");
  const Agent b = agent("Bug Hunter");
  AgentInstance request = make_instance(a.metadata().id());
  request.mutable_metadata()->set_id(instance(a).metadata().id());
  request.mutable_spec()->set_agent_id(b.metadata().id());
  AgentInstance out;
  CHECK(has(pipeline::update(tx, request, out), grpc::StatusCode::INVALID_ARGUMENT, "spec.agent_id: "));
}

TEST_CASE_FIXTURE(StoreFixture, "update of an execution keeps its session, agent and status, and announces it") {
  Execution e;
  REQUIRE(pipeline::create_execution(tx, make_execution_for_agent(agent().metadata().id()), e).ok());
  changes.clear();
  Execution request;
  request.mutable_metadata()->set_id(e.metadata().id());
  request.mutable_spec()->set_message("edited");
  request.mutable_status()->set_phase(exv1::EXECUTION_COMPLETED);
  Execution out;
  REQUIRE(pipeline::update(tx, request, out).ok());
  CHECK(out.spec().message() == "edited");
  CHECK(out.spec().session_id() == e.spec().session_id());
  CHECK(out.spec().agent_id() == e.spec().agent_id());
  CHECK(out.status().phase() == exv1::EXECUTION_PENDING);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].id == e.metadata().id());
}

TEST_CASE_FIXTURE(StoreFixture, "delete returns the resource as it was and removes it") {
  const Agent a = agent();
  Agent out;
  REQUIRE(pipeline::remove(tx, a.metadata().id(), out).ok());
  CHECK(MessageDifferencer::Equals(out, a));
  CHECK_FALSE(store::sqlite::load<Agent>(*db, a.metadata().id()));
}

TEST_CASE_FIXTURE(StoreFixture, "delete of a missing resource is NOT_FOUND and with an empty id INVALID_ARGUMENT") {
  Session out;
  const std::string missing = new_id(kSessionPrefix);
  CHECK(has(pipeline::remove(tx, missing, out), grpc::StatusCode::NOT_FOUND, "Session " + missing));
  CHECK(has(pipeline::remove<Session>(tx, "", out), grpc::StatusCode::INVALID_ARGUMENT, "value: "));
}

TEST_CASE_FIXTURE(StoreFixture, "deleting an agent that still has sessions is FAILED_PRECONDITION saying how many") {
  const Agent a = agent();
  const AgentInstance i = instance(a);
  session(i);
  session(i);
  Agent out;
  const auto status = pipeline::remove(tx, a.metadata().id(), out);
  CHECK(has(status, grpc::StatusCode::FAILED_PRECONDITION, "2 session(s)"));
  CHECK(has(status, grpc::StatusCode::FAILED_PRECONDITION, "delete those sessions first"));
  CHECK(store::sqlite::load<Agent>(*db, a.metadata().id()));
  CHECK(rows("agent_instances") == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "deleting an agent instance that still has sessions is FAILED_PRECONDITION") {
  const AgentInstance i = instance(agent());
  session(i);
  AgentInstance out;
  CHECK(has(pipeline::remove(tx, i.metadata().id(), out), grpc::StatusCode::FAILED_PRECONDITION, "1 session(s)"));
  CHECK(store::sqlite::load<AgentInstance>(*db, i.metadata().id()));
}

TEST_CASE_FIXTURE(StoreFixture, "deleting an agent without sessions also deletes its instances") {
  const Agent a = agent();
  instance(a, "prod");
  instance(a, "staging");
  const Agent other = agent("Bug Hunter");
  instance(other, "other");
  Agent out;
  REQUIRE(pipeline::remove(tx, a.metadata().id(), out).ok());
  CHECK(rows("agents") == 1);
  CHECK(rows("agent_instances") == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "deleting an agent's default instance clears it on the agent") {
  const Agent a = agent();
  Execution e;
  REQUIRE(pipeline::create_execution(tx, make_execution_for_agent(a.metadata().id()), e).ok());
  Session deleted_session;
  REQUIRE(pipeline::remove(tx, e.spec().session_id(), deleted_session).ok());
  const std::string default_id = store::sqlite::load<Agent>(*db, a.metadata().id())->status().default_instance_id();
  AgentInstance out;
  REQUIRE(pipeline::remove(tx, default_id, out).ok());
  const auto agent_now = store::sqlite::load<Agent>(*db, a.metadata().id());
  CHECK(agent_now->status().default_instance_id().empty());

  Execution again;
  REQUIRE(pipeline::create_execution(tx, make_execution_for_agent(a.metadata().id()), again).ok());
  CHECK(store::sqlite::load<Agent>(*db, a.metadata().id())->status().default_instance_id() != default_id);
}

TEST_CASE_FIXTURE(StoreFixture, "deleting a session deletes its executions and announces each deletion") {
  const Session s = session(instance(agent()));
  const Session kept = session(instance(agent("Bug Hunter"), "hunter-prod"));
  Execution e1, e2, other;
  REQUIRE(pipeline::create_execution(tx, make_execution_in_session(s.metadata().id()), e1).ok());
  REQUIRE(pipeline::create_execution(tx, make_execution_in_session(s.metadata().id()), e2).ok());
  REQUIRE(pipeline::create_execution(tx, make_execution_in_session(kept.metadata().id()), other).ok());
  changes.clear();
  Session out;
  REQUIRE(pipeline::remove(tx, s.metadata().id(), out).ok());
  CHECK_FALSE(store::sqlite::load<Execution>(*db, e1.metadata().id()));
  CHECK_FALSE(store::sqlite::load<Execution>(*db, e2.metadata().id()));
  CHECK(store::sqlite::load<Execution>(*db, other.metadata().id()));
  REQUIRE(changes.size() == 2);
  for (const auto& change : changes) {
    CHECK((change.id == e1.metadata().id() || change.id == e2.metadata().id()));
    CHECK_FALSE(change.snapshot);
  }
}

TEST_CASE_FIXTURE(StoreFixture, "deleting an execution announces it as deleted") {
  Execution e;
  REQUIRE(pipeline::create_execution(tx, make_execution_for_agent(agent().metadata().id()), e).ok());
  changes.clear();
  Execution out;
  REQUIRE(pipeline::remove(tx, e.metadata().id(), out).ok());
  CHECK(MessageDifferencer::Equals(out, e));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].id == e.metadata().id());
  CHECK_FALSE(changes[0].snapshot);
}

TEST_CASE_FIXTURE(StoreFixture, "get returns the stored resource, NOT_FOUND when missing") {
  const Agent a = agent();
  Agent out;
  REQUIRE(pipeline::get(tx, a.metadata().id(), out).ok());
  CHECK(MessageDifferencer::Equals(out, a));
  CHECK(has(pipeline::get(tx, new_id(kAgentPrefix), out), grpc::StatusCode::NOT_FOUND));
  CHECK(has(pipeline::get<Agent>(tx, "", out), grpc::StatusCode::INVALID_ARGUMENT, "value: "));
}
