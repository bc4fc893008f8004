#include "pipeline/create_execution.h"

#include <doctest/doctest.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "domain/idempotency.h"
#include "pipeline/resources.h"
#include "unit/pipeline/fixture.h"

using namespace aexd;
using namespace aexd::pipeline;
using namespace aexd::test;
using google::protobuf::util::MessageDifferencer;

namespace {

using Ctx = CreateExecutionContext;
// The steps before the one under test, so it starts from the state the real pipeline gives it.
using UpToBuild = Pipeline<Ctx, ValidateFieldConstraints, ValidateSessionOrAgent, ResolveSlug, BuildNewState>;
using UpToDefaultInstance = Pipeline<Ctx, ValidateFieldConstraints, ValidateSessionOrAgent, ResolveSlug, BuildNewState,
                                     CreateDefaultInstanceIfNeeded>;

/// A late failure: everything before it has written, and the job's rollback must undo it all.
struct FailAfterWrites {
  static constexpr std::string_view name() { return "FailAfterWrites"; }
  grpc::Status run(Ctx&) const { return {grpc::StatusCode::DATA_LOSS, "injected"}; }
};

bool names_field(const grpc::Status& status, const std::string& field) {
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
         status.error_message().rfind(field + ": ", 0) == 0;
}

bool mentions(const grpc::Status& status, grpc::StatusCode code, const std::string& text) {
  return status.error_code() == code && status.error_message().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("the create pipeline runs the steps of API.md in their order") {
  const std::vector<std::string_view> expected = {
      "ValidateFieldConstraints",      "ValidateSessionOrAgent", "ResolveSlug",     "BuildNewState",
      "CreateDefaultInstanceIfNeeded", "CreateSessionIfNeeded",  "SetInitialPhase", "Persist"};
  const auto names = CreateExecution::names();
  CHECK(std::vector<std::string_view>(names.begin(), names.end()) == expected);
}

TEST_CASE_FIXTURE(StoreFixture, "ValidateFieldConstraints rejects a bad field by its path") {
  Ctx ctx(tx, make_execution_for_agent("agt-any"), now());
  ctx.resource.mutable_spec()->clear_message();
  CHECK(names_field(ValidateFieldConstraints{}.run(ctx), "spec.message"));
}

TEST_CASE_FIXTURE(StoreFixture, "ValidateFieldConstraints rejects a wrong kind") {
  Ctx ctx(tx, make_execution_for_agent("agt-any"), now());
  ctx.resource.set_kind("Agent");
  CHECK(names_field(ValidateFieldConstraints{}.run(ctx), "kind"));
}

TEST_CASE_FIXTURE(StoreFixture, "ValidateFieldConstraints fills in empty constants") {
  Ctx ctx(tx, make_execution_for_agent("agt-any"), now());
  REQUIRE(ValidateFieldConstraints{}.run(ctx).ok());
  CHECK(ctx.resource.api_version() == "agentic.stigmer.ai/v1");
  CHECK(ctx.resource.kind() == "AgentExecution");
}

TEST_CASE_FIXTURE(StoreFixture, "ValidateSessionOrAgent in session mode fills spec.agent_id from the session") {
  const Agent a = agent();
  const Session s = session(instance(a));
  Ctx ctx(tx, make_execution_in_session(s.metadata().id()), now());
  REQUIRE(ValidateSessionOrAgent{}.run(ctx).ok());
  CHECK(ctx.resource.spec().agent_id() == a.metadata().id());
  REQUIRE(ctx.session);
  CHECK(ctx.session->metadata().id() == s.metadata().id());
  CHECK_FALSE(ctx.agent);
}

TEST_CASE_FIXTURE(StoreFixture, "ValidateSessionOrAgent accepts a session-mode agent_id that matches the session") {
  const Agent a = agent();
  const Session s = session(instance(a));
  Ctx ctx(tx, make_execution_in_session(s.metadata().id()), now());
  ctx.resource.mutable_spec()->set_agent_id(a.metadata().id());
  CHECK(ValidateSessionOrAgent{}.run(ctx).ok());
}

TEST_CASE_FIXTURE(StoreFixture, "ValidateSessionOrAgent rejects a session-mode agent_id the session does not run") {
  const Session s = session(instance(agent()));
  const Agent other = agent("Other Agent");
  Ctx ctx(tx, make_execution_in_session(s.metadata().id()), now());
  ctx.resource.mutable_spec()->set_agent_id(other.metadata().id());
  CHECK(names_field(ValidateSessionOrAgent{}.run(ctx), "spec.agent_id"));
}

TEST_CASE_FIXTURE(StoreFixture, "ValidateSessionOrAgent is NOT_FOUND naming an unknown session") {
  const std::string missing = new_id(kSessionPrefix);
  Ctx ctx(tx, make_execution_in_session(missing), now());
  CHECK(mentions(ValidateSessionOrAgent{}.run(ctx), grpc::StatusCode::NOT_FOUND, "Session " + missing));
}

TEST_CASE_FIXTURE(StoreFixture, "ValidateSessionOrAgent in agent mode loads the agent") {
  const Agent a = agent();
  Ctx ctx(tx, make_execution_for_agent(a.metadata().id()), now());
  REQUIRE(ValidateSessionOrAgent{}.run(ctx).ok());
  REQUIRE(ctx.agent);
  CHECK(MessageDifferencer::Equals(*ctx.agent, a));
  CHECK_FALSE(ctx.session);
}

TEST_CASE_FIXTURE(StoreFixture, "ValidateSessionOrAgent is NOT_FOUND naming an unknown agent") {
  const std::string missing = new_id(kAgentPrefix);
  Ctx ctx(tx, make_execution_for_agent(missing), now());
  CHECK(mentions(ValidateSessionOrAgent{}.run(ctx), grpc::StatusCode::NOT_FOUND, "Agent " + missing));
}

TEST_CASE_FIXTURE(StoreFixture, "ValidateSessionOrAgent needs a session_id or an agent_id") {
  Ctx ctx(tx, make_execution_for_agent(""), now());
  CHECK(names_field(ValidateSessionOrAgent{}.run(ctx), "spec.session_id"));
}

TEST_CASE_FIXTURE(StoreFixture, "ResolveSlug derives an empty slug from the name") {
  Ctx ctx(tx, make_execution_for_agent("agt-any"), now());
  ctx.resource.mutable_metadata()->set_name("Nightly Review #3");
  REQUIRE(ResolveSlug{}.run(ctx).ok());
  CHECK(ctx.resource.metadata().slug() == "nightly-review-3");
}

TEST_CASE_FIXTURE(StoreFixture, "ResolveSlug keeps a well-formed client slug") {
  Ctx ctx(tx, make_execution_for_agent("agt-any"), now());
  ctx.resource.mutable_metadata()->set_name("Nightly Review");
  ctx.resource.mutable_metadata()->set_slug("nightly-2");
  REQUIRE(ResolveSlug{}.run(ctx).ok());
  CHECK(ctx.resource.metadata().slug() == "nightly-2");
}

TEST_CASE_FIXTURE(StoreFixture, "ResolveSlug rejects a malformed client slug by its path") {
  Ctx ctx(tx, make_execution_for_agent("agt-any"), now());
  ctx.resource.mutable_metadata()->set_slug("Not A Slug");
  CHECK(names_field(ResolveSlug{}.run(ctx), "metadata.slug"));
}

TEST_CASE_FIXTURE(StoreFixture, "BuildNewState gives a fresh execution id and ignores the client's") {
  const Agent a = agent();
  Execution request = make_execution_for_agent(a.metadata().id());
  request.mutable_metadata()->set_id("aex-chosen-by-client");
  Ctx ctx(tx, request, now());
  REQUIRE(UpToBuild::run(ctx).ok());
  CHECK(is_id(ctx.resource.metadata().id(), kExecutionPrefix));
}

TEST_CASE_FIXTURE(StoreFixture, "BuildNewState names an unnamed execution after its id") {
  Ctx ctx(tx, make_execution_for_agent(agent().metadata().id()), now());
  REQUIRE(UpToBuild::run(ctx).ok());
  const auto& m = ctx.resource.metadata();
  CHECK(m.name() == m.id());
  CHECK(m.slug() == m.id());
}

TEST_CASE_FIXTURE(StoreFixture, "BuildNewState keeps the client's name and the slug derived from it") {
  Execution request = make_execution_for_agent(agent().metadata().id());
  request.mutable_metadata()->set_name("Nightly Review");
  Ctx ctx(tx, request, now());
  REQUIRE(UpToBuild::run(ctx).ok());
  CHECK(ctx.resource.metadata().name() == "Nightly Review");
  CHECK(ctx.resource.metadata().slug() == "nightly-review");
}

TEST_CASE_FIXTURE(StoreFixture, "BuildNewState clears the client status and stamps the create audit at revision 1") {
  Execution request = make_execution_for_agent(agent().metadata().id());
  request.mutable_status()->set_phase(exv1::EXECUTION_COMPLETED);
  request.mutable_status()->set_error("forged");
  request.mutable_status()->mutable_audit()->mutable_spec_audit()->mutable_created_by()->set_id("mallory");
  Ctx ctx(tx, request, now());
  REQUIRE(UpToBuild::run(ctx).ok());
  const auto& status = ctx.resource.status();
  CHECK(status.phase() == exv1::EXECUTION_PHASE_UNSPECIFIED);
  CHECK(status.error().empty());
  for (const auto* info : {&status.audit().spec_audit(), &status.audit().status_audit()}) {
    CHECK(info->created_by().id() == "system");
    CHECK(info->updated_by().id() == "system");
    CHECK(info->event() == "created");
    CHECK(MessageDifferencer::Equals(info->created_at(), ctx.now));
    CHECK(MessageDifferencer::Equals(info->updated_at(), ctx.now));
  }
  CHECK(ctx.resource.metadata().version().id() == "1");
  CHECK(ctx.resource.metadata().version().previous_version_id().empty());
}

TEST_CASE_FIXTURE(StoreFixture,
                  "CreateDefaultInstanceIfNeeded creates the default instance and records it on the agent") {
  const Agent a = agent("Code Reviewer", res::organization, "acme");
  Ctx ctx(tx, make_execution_for_agent(a.metadata().id()), now());
  REQUIRE(UpToBuild::run(ctx).ok());
  REQUIRE(CreateDefaultInstanceIfNeeded{}.run(ctx).ok());

  const std::string& instance_id = ctx.agent->status().default_instance_id();
  REQUIRE(is_id(instance_id, kInstancePrefix));
  const auto instance = store::sqlite::load<AgentInstance>(*db, instance_id);
  REQUIRE(instance);
  CHECK(instance->metadata().name() == "Code Reviewer-default");
  CHECK(instance->metadata().slug() == "code-reviewer-default");
  CHECK(instance->metadata().owner_scope() == res::organization);
  CHECK(instance->metadata().org() == "acme");
  CHECK(instance->spec().agent_id() == a.metadata().id());
  CHECK(instance->spec().description() == "Default instance (auto-created, no custom configuration)");

  const auto stored_agent = store::sqlite::load<Agent>(*db, a.metadata().id());
  REQUIRE(stored_agent);
  CHECK(stored_agent->status().default_instance_id() == instance_id);
  CHECK(revision_of(stored_agent->metadata()) == revision_of(a.metadata()) + 1);
  CHECK(stored_agent->status().audit().status_audit().event() == "updated");
  CHECK(stored_agent->status().audit().spec_audit().event() == "created");
}

TEST_CASE_FIXTURE(StoreFixture, "CreateDefaultInstanceIfNeeded reuses an agent's existing default instance") {
  const Agent a = agent();
  Execution first;
  REQUIRE(create_execution(tx, make_execution_for_agent(a.metadata().id()), first).ok());
  const auto recorded = store::sqlite::load<Agent>(*db, a.metadata().id());
  REQUIRE(recorded);
  REQUIRE(rows("agent_instances") == 1);

  Ctx ctx(tx, make_execution_for_agent(a.metadata().id()), now());
  REQUIRE(UpToBuild::run(ctx).ok());
  REQUIRE(CreateDefaultInstanceIfNeeded{}.run(ctx).ok());
  CHECK(rows("agent_instances") == 1);
  CHECK(ctx.agent->status().default_instance_id() == recorded->status().default_instance_id());
  CHECK(MessageDifferencer::Equals(*store::sqlite::load<Agent>(*db, a.metadata().id()), *recorded));
}

TEST_CASE_FIXTURE(StoreFixture, "CreateDefaultInstanceIfNeeded does nothing in session mode") {
  const Session s = session(instance(agent()));
  Ctx ctx(tx, make_execution_in_session(s.metadata().id()), now());
  REQUIRE(UpToBuild::run(ctx).ok());
  REQUIRE(CreateDefaultInstanceIfNeeded{}.run(ctx).ok());
  CHECK(rows("agent_instances") == 1);
  CHECK_FALSE(ctx.agent);
}

TEST_CASE_FIXTURE(StoreFixture, "CreateSessionIfNeeded creates an organization session for an org-scoped agent") {
  const Agent a = agent("Code Reviewer", res::organization, "acme");
  Ctx ctx(tx, make_execution_for_agent(a.metadata().id()), now());
  REQUIRE(UpToDefaultInstance::run(ctx).ok());
  REQUIRE(CreateSessionIfNeeded{}.run(ctx).ok());

  const std::string& session_id = ctx.resource.spec().session_id();
  REQUIRE(is_id(session_id, kSessionPrefix));
  const auto s = store::sqlite::load<Session>(*db, session_id);
  REQUIRE(s);
  CHECK(s->metadata().name() == "session-" + session_id.substr(4));
  CHECK(s->metadata().owner_scope() == res::organization);
  CHECK(s->metadata().org() == "acme");
  CHECK(s->spec().subject() == "Auto-created session");
  CHECK(s->spec().agent_instance_id() == ctx.agent->status().default_instance_id());
  CHECK(s->status().audit().spec_audit().event() == "created");
}

TEST_CASE_FIXTURE(StoreFixture, "CreateSessionIfNeeded creates an identity_account session for a platform agent") {
  const Agent a = agent("Platform Helper", res::platform, "");
  Ctx ctx(tx, make_execution_for_agent(a.metadata().id()), now());
  REQUIRE(UpToDefaultInstance::run(ctx).ok());
  REQUIRE(CreateSessionIfNeeded{}.run(ctx).ok());
  const auto s = store::sqlite::load<Session>(*db, ctx.resource.spec().session_id());
  REQUIRE(s);
  CHECK(s->metadata().owner_scope() == res::identity_account);
  CHECK(s->metadata().org().empty());
}

TEST_CASE_FIXTURE(StoreFixture, "CreateSessionIfNeeded does nothing in session mode") {
  const Session s = session(instance(agent()));
  Ctx ctx(tx, make_execution_in_session(s.metadata().id()), now());
  REQUIRE(UpToDefaultInstance::run(ctx).ok());
  REQUIRE(CreateSessionIfNeeded{}.run(ctx).ok());
  CHECK(rows("sessions") == 1);
  CHECK(ctx.resource.spec().session_id() == s.metadata().id());
}

TEST_CASE_FIXTURE(StoreFixture, "SetInitialPhase starts the execution pending") {
  Ctx ctx(tx, make_execution_for_agent("agt-any"), now());
  ctx.resource.mutable_status()->set_phase(exv1::EXECUTION_IN_PROGRESS);
  REQUIRE(SetInitialPhase{}.run(ctx).ok());
  CHECK(ctx.resource.status().phase() == exv1::EXECUTION_PENDING);
}

TEST_CASE_FIXTURE(StoreFixture, "Persist stores a new execution and records it as changed") {
  const Session s = session(instance(agent()));
  Ctx ctx(tx, make_execution_in_session(s.metadata().id()), now());
  REQUIRE(UpToBuild::run(ctx).ok());
  REQUIRE(Persist{}.run(ctx).ok());
  const auto stored = store::sqlite::load<Execution>(*db, ctx.resource.metadata().id());
  REQUIRE(stored);
  CHECK(MessageDifferencer::Equals(*stored, ctx.resource));
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].id == ctx.resource.metadata().id());
  REQUIRE(changes[0].snapshot);
  CHECK(MessageDifferencer::Equals(test::decoded(*changes[0].snapshot), ctx.resource));
  CHECK(changes[0].snapshot->revision == 1);
  CHECK_FALSE(changes[0].snapshot->terminal);
}

TEST_CASE_FIXTURE(StoreFixture, "Persist replaces the stored row when the context has one") {
  const Session s = session(instance(agent()));
  Execution created;
  REQUIRE(create_execution(tx, make_execution_in_session(s.metadata().id()), created).ok());
  Ctx ctx(tx, created, now());
  ctx.stored = created;
  ctx.resource.mutable_spec()->set_message("changed");
  REQUIRE(Persist{}.run(ctx).ok());
  CHECK(rows("executions") == 1);
  CHECK(store::sqlite::load<Execution>(*db, created.metadata().id())->spec().message() == "changed");
}

TEST_CASE_FIXTURE(StoreFixture, "create in session mode stores a pending execution in that session") {
  const Agent a = agent();
  const Session s = session(instance(a));
  Execution out;
  const auto status = create_execution(tx, make_execution_in_session(s.metadata().id()), out);
  REQUIRE_MESSAGE(status.ok(), status.error_message());
  CHECK(is_id(out.metadata().id(), kExecutionPrefix));
  CHECK(out.spec().session_id() == s.metadata().id());
  CHECK(out.spec().agent_id() == a.metadata().id());
  CHECK(out.status().phase() == exv1::EXECUTION_PENDING);
  CHECK(out.kind() == "AgentExecution");
  CHECK(MessageDifferencer::Equals(*store::sqlite::load<Execution>(*db, out.metadata().id()), out));
  CHECK(rows("sessions") == 1);
  CHECK(rows("agent_instances") == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "create in agent mode makes the default instance and a session, then the execution") {
  const Agent a = agent();
  Execution out;
  const auto status = create_execution(tx, make_execution_for_agent(a.metadata().id()), out);
  REQUIRE_MESSAGE(status.ok(), status.error_message());
  CHECK(out.status().phase() == exv1::EXECUTION_PENDING);
  CHECK(out.spec().agent_id() == a.metadata().id());
  const auto s = store::sqlite::load<Session>(*db, out.spec().session_id());
  REQUIRE(s);
  const auto agent_now = store::sqlite::load<Agent>(*db, a.metadata().id());
  CHECK(s->spec().agent_instance_id() == agent_now->status().default_instance_id());
  CHECK(rows("agent_instances") == 1);
  CHECK(rows("sessions") == 1);
  CHECK(rows("executions") == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "a second agent-mode create reuses the default instance with a new session") {
  const Agent a = agent();
  Execution first, second;
  REQUIRE(create_execution(tx, make_execution_for_agent(a.metadata().id()), first).ok());
  REQUIRE(create_execution(tx, make_execution_for_agent(a.metadata().id()), second).ok());
  CHECK(rows("agent_instances") == 1);
  CHECK(rows("sessions") == 2);
  CHECK(second.spec().session_id() != first.spec().session_id());
  CHECK(store::sqlite::load<Session>(*db, second.spec().session_id())->spec().agent_instance_id() ==
        store::sqlite::load<Session>(*db, first.spec().session_id())->spec().agent_instance_id());
  CHECK(second.metadata().id() > first.metadata().id());
}

TEST_CASE_FIXTURE(StoreFixture,
                  "a failure after Persist rolls back the default instance, the session and the execution") {
  const Agent a = agent();
  db->exec("BEGIN IMMEDIATE");
  Ctx ctx(tx, make_execution_for_agent(a.metadata().id()), now());
  const auto status = CreateExecution::then<FailAfterWrites>::run(ctx);
  CHECK(rows("executions") == 1);  // the failure comes after the writes, so rollback is what undoes them
  db->exec("ROLLBACK");
  CHECK(status.error_code() == grpc::StatusCode::DATA_LOSS);
  CHECK(rows("agent_instances") == 0);
  CHECK(rows("sessions") == 0);
  CHECK(rows("executions") == 0);
  CHECK(MessageDifferencer::Equals(*store::sqlite::load<Agent>(*db, a.metadata().id()), a));
}

TEST_CASE_FIXTURE(StoreFixture, "a create for an unknown agent writes nothing") {
  Execution out;
  const auto status = create_execution(tx, make_execution_for_agent(new_id(kAgentPrefix)), out);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(rows("agent_instances") == 0);
  CHECK(rows("sessions") == 0);
  CHECK(rows("executions") == 0);
  CHECK(changes.empty());
}

namespace {

exv1::AgentExecutionUpdateStatusInput status_input(const std::string& id, Phase phase) {
  exv1::AgentExecutionUpdateStatusInput input;
  input.set_execution_id(id);
  input.mutable_status()->set_phase(phase);
  return input;
}

}  // namespace

TEST_CASE_FIXTURE(StoreFixture, "update_status merges, bumps the revision, stamps the status audit and announces it") {
  Execution created;
  REQUIRE(create_execution(tx, make_execution_for_agent(agent().metadata().id()), created).ok());
  changes.clear();
  auto input = status_input(created.metadata().id(), exv1::EXECUTION_IN_PROGRESS);
  input.mutable_status()->set_started_at("2025-01-01T00:00:00Z");
  Execution out;
  REQUIRE(update_status(tx, input, out).ok());
  CHECK(out.status().phase() == exv1::EXECUTION_IN_PROGRESS);
  CHECK(out.status().started_at() == "2025-01-01T00:00:00Z");
  CHECK(out.metadata().version().id() == "2");
  CHECK(out.metadata().version().previous_version_id() == "1");
  CHECK(out.status().audit().status_audit().event() == "updated");
  CHECK(out.status().audit().spec_audit().event() == "created");
  CHECK(MessageDifferencer::Equals(out.spec(), created.spec()));
  CHECK(MessageDifferencer::Equals(*store::sqlite::load<Execution>(*db, out.metadata().id()), out));
  REQUIRE(changes.size() == 1);
  CHECK(MessageDifferencer::Equals(test::decoded(*changes[0].snapshot), out));
  CHECK(changes[0].snapshot->revision == 2);
}

TEST_CASE_FIXTURE(StoreFixture, "update_status of an unknown execution is NOT_FOUND naming it") {
  const std::string missing = new_id(kExecutionPrefix);
  Execution out;
  CHECK(mentions(update_status(tx, status_input(missing, exv1::EXECUTION_IN_PROGRESS), out),
                 grpc::StatusCode::NOT_FOUND, "AgentExecution " + missing));
}

TEST_CASE_FIXTURE(StoreFixture, "update_status out of a terminal phase is FAILED_PRECONDITION and stores nothing") {
  Execution created, done;
  REQUIRE(create_execution(tx, make_execution_for_agent(agent().metadata().id()), created).ok());
  REQUIRE(update_status(tx, status_input(created.metadata().id(), exv1::EXECUTION_COMPLETED), done).ok());
  changes.clear();
  Execution out;
  const auto status = update_status(tx, status_input(created.metadata().id(), exv1::EXECUTION_IN_PROGRESS), out);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(MessageDifferencer::Equals(*store::sqlite::load<Execution>(*db, created.metadata().id()), done));
  CHECK(changes.empty());
}

TEST_CASE_FIXTURE(StoreFixture, "update_status without a status is INVALID_ARGUMENT naming status") {
  exv1::AgentExecutionUpdateStatusInput input;
  input.set_execution_id(new_id(kExecutionPrefix));
  Execution out;
  CHECK(names_field(update_status(tx, input, out), "status"));
}

namespace {

Idempotency keyed(const std::string& key, const Execution& request) {
  return {key, request_fingerprint(request), std::chrono::hours(24)};
}

}  // namespace

TEST_CASE_FIXTURE(StoreFixture,
                  "a create repeating an idempotency key returns the first execution and writes nothing") {
  const auto request = make_execution_for_agent(agent().metadata().id());
  const auto key = keyed("retry-1", request);
  Execution first, again;
  model::SnapshotPtr first_encoded, again_encoded;
  REQUIRE(create_execution(tx, request, first, &first_encoded, &key).ok());
  const auto executions = rows("executions"), sessions = rows("sessions");
  changes.clear();

  REQUIRE(create_execution(tx, request, again, &again_encoded, &key).ok());

  CHECK(MessageDifferencer::Equals(again, first));
  CHECK(again_encoded->view() == first_encoded->view());
  CHECK(rows("executions") == executions);
  CHECK(rows("sessions") == sessions);
  CHECK(changes.empty());
}

TEST_CASE_FIXTURE(StoreFixture, "an idempotency key used with a different request is ALREADY_EXISTS") {
  const auto request = make_execution_for_agent(agent().metadata().id());
  const auto key = keyed("retry-1", request);
  Execution first, other;
  REQUIRE(create_execution(tx, request, first, nullptr, &key).ok());
  auto different = request;
  different.mutable_spec()->set_message("something else");
  const auto different_key = keyed("retry-1", different);

  const auto status = create_execution(tx, different, other, nullptr, &different_key);

  CHECK(mentions(status, grpc::StatusCode::ALREADY_EXISTS, "idempotency-key 'retry-1'"));
  CHECK(rows("executions") == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "an idempotency key older than the TTL is free again and takes the new execution") {
  const auto request = make_execution_for_agent(agent().metadata().id());
  Execution first, second;
  REQUIRE(create_execution(tx, request, first).ok());
  const int64_t day_ago_ms = google::protobuf::util::TimeUtil::TimestampToMilliseconds(now()) - 25 * 3'600'000;
  REQUIRE(tx.insert(store::IdempotencyKey{"retry-1", "another request", first.metadata().id(), day_ago_ms}).ok());
  const auto key = keyed("retry-1", request);

  REQUIRE(create_execution(tx, request, second, nullptr, &key).ok());

  CHECK(second.metadata().id() != first.metadata().id());
  std::optional<store::IdempotencyKey> held;
  REQUIRE(tx.find_idempotency_key("retry-1", held).ok());
  REQUIRE(held);
  CHECK(held->execution_id == second.metadata().id());
  CHECK(held->fingerprint == key.fingerprint);
}

TEST_CASE_FIXTURE(StoreFixture, "a keyed create removes expired keys of other creates") {
  const auto request = make_execution_for_agent(agent().metadata().id());
  REQUIRE(tx.insert(store::IdempotencyKey{"old", "f", "aex-gone", 1}).ok());
  const auto key = keyed("new", request);
  Execution out;

  REQUIRE(create_execution(tx, request, out, nullptr, &key).ok());

  std::optional<store::IdempotencyKey> old;
  REQUIRE(tx.find_idempotency_key("old", old).ok());
  CHECK_FALSE(old);
  CHECK(rows("idempotency_keys") == 1);
}

TEST_CASE_FIXTURE(StoreFixture, "an idempotency key whose execution was deleted is free again") {
  const auto request = make_execution_for_agent(agent().metadata().id());
  const auto key = keyed("retry-1", request);
  Execution first, removed, second;
  REQUIRE(create_execution(tx, request, first, nullptr, &key).ok());
  REQUIRE(remove(tx, first.metadata().id(), removed).ok());

  REQUIRE(create_execution(tx, request, second, nullptr, &key).ok());

  CHECK(second.metadata().id() != first.metadata().id());
  CHECK(rows("executions") == 1);
}
