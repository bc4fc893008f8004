// Agents, agent instances and sessions over gRPC: create/apply/update/get/delete, slug uniqueness,
// optimistic concurrency and the delete rules between the kinds.
#include <string>
#include <utility>

#include "support/client.h"

using namespace aexd;
using namespace aexd::test;

TYPE_TO_STRING(aexd::Agent);
TYPE_TO_STRING(aexd::AgentInstance);
TYPE_TO_STRING(aexd::Session);

namespace {

/// Per kind: a valid create request named `name` (creating what it refers to), and a spec edit.
template <class T>
struct Kind;

template <>
struct Kind<Agent> {
  static constexpr std::string_view prefix = kAgentPrefix;
  static constexpr auto other_scope = res::platform;
  static Agent request(const Client&, const std::string& name) { return make_agent(name); }
  static void edit_spec(Agent& r, const std::string& text) { r.mutable_spec()->set_description(text); }
  static const std::string& spec_text(const Agent& r) { return r.spec().description(); }
};

template <>
struct Kind<AgentInstance> {
  static constexpr std::string_view prefix = kInstancePrefix;
  static constexpr auto other_scope = res::platform;
  static AgentInstance request(const Client& api, const std::string& name) {
    auto agent = must(api.create(make_agent(name + " agent")));
    return make_instance(agent.metadata().id(), name);
  }
  static void edit_spec(AgentInstance& r, const std::string& text) { r.mutable_spec()->set_description(text); }
  static const std::string& spec_text(const AgentInstance& r) { return r.spec().description(); }
};

template <>
struct Kind<Session> {
  static constexpr std::string_view prefix = kSessionPrefix;
  static constexpr auto other_scope = res::identity_account;
  static Session request(const Client& api, const std::string& name) {
    auto agent = must(api.create(make_agent(name + " agent")));
    auto instance = must(api.create(make_instance(agent.metadata().id(), name + " instance")));
    return make_session(instance.metadata().id(), name);
  }
  static void edit_spec(Session& r, const std::string& text) { r.mutable_spec()->set_subject(text); }
  static const std::string& spec_text(const Session& r) { return r.spec().subject(); }
};

std::string kind_name(const Agent&) { return "Agent"; }
std::string kind_name(const AgentInstance&) { return "AgentInstance"; }
std::string kind_name(const Session&) { return "Session"; }

template <class T>
void check_code(const Result<T>& result, grpc::StatusCode code) {
  REQUIRE_FALSE(result.ok());
  CHECK_MESSAGE(result.status().error_code() == code, describe(result.status()));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

#define KINDS aexd::Agent, aexd::AgentInstance, aexd::Session

// ---- behaviour shared by the three kinds ----

TEST_CASE_TEMPLATE("create assigns a fresh prefixed id and ignores a client-sent one", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto request = Kind<T>::request(api, "Code Review");
  const std::string sent = new_id(Kind<T>::prefix);
  request.mutable_metadata()->set_id(sent);

  auto created = must(api.create(request));

  CHECK(is_id(created.metadata().id(), Kind<T>::prefix));
  CHECK(created.metadata().id() != sent);
}

TEST_CASE_TEMPLATE("create derives the slug from the name", T, KINDS) {
  TestServer server;
  Client api(server.channel());

  auto created = must(api.create(Kind<T>::request(api, "  Code Review -- Bot!! v2 ")));

  CHECK(created.metadata().slug() == "code-review-bot-v2");
}

TEST_CASE_TEMPLATE("create fills the constants, stamps the create audit and starts at revision 1", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto request = Kind<T>::request(api, "Code Review");
  request.mutable_status()->mutable_audit()->mutable_spec_audit()->set_event("forged");

  auto created = must(api.create(request));

  CHECK(created.api_version() == "agentic.stigmer.ai/v1");
  CHECK(created.kind() == kind_name(created));
  CHECK(created.metadata().version().id() == "1");
  const auto& audit = created.status().audit();
  for (const auto& info : {audit.spec_audit(), audit.status_audit()}) {
    CHECK(info.event() == "created");
    CHECK(info.created_by().id() == "system");
    CHECK(info.updated_by().id() == "system");
    CHECK(info.has_created_at());
  }
}

TEST_CASE_TEMPLATE("get returns exactly what create answered", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto created = must(api.create(Kind<T>::request(api, "Code Review")));

  auto got = must(api.get<T>(created.metadata().id()));

  CHECK_MESSAGE(same(got, created), got.ShortDebugString());
}

TEST_CASE_TEMPLATE("fields unknown to the server survive create and get", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto request = Kind<T>::request(api, "Code Review");
  add_future_fields(request, 1000);
  add_future_fields(*request.mutable_spec(), 900);

  auto created = must(api.create(request));
  auto got = must(api.get<T>(created.metadata().id()));

  CHECK(unknown_bytes(got) == unknown_bytes(request));
  CHECK(unknown_bytes(got.spec()) == unknown_bytes(request.spec()));
}

TEST_CASE_TEMPLATE("apply with the id of an existing resource updates it", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto created = must(api.create(Kind<T>::request(api, "Code Review")));
  auto request = created;
  Kind<T>::edit_spec(request, "applied");

  auto applied = must(api.apply(request));

  CHECK(applied.metadata().id() == created.metadata().id());
  CHECK(applied.status().audit().spec_audit().event() == "updated");
  CHECK(Kind<T>::spec_text(must(api.get<T>(created.metadata().id()))) == "applied");
}

TEST_CASE_TEMPLATE("apply of a resource that does not exist creates it", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto request = Kind<T>::request(api, "Code Review");
  request.mutable_metadata()->set_id(new_id(Kind<T>::prefix));  // unknown: ignored like on create

  auto applied = must(api.apply(request));

  CHECK(applied.status().audit().spec_audit().event() == "created");
  CHECK(is_id(applied.metadata().id(), Kind<T>::prefix));
  CHECK(applied.metadata().id() != request.metadata().id());
  CHECK(api.get<T>(applied.metadata().id()).ok());
}

TEST_CASE_TEMPLATE("update replaces the spec and keeps the id, the create audit and the status audit", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto created = must(api.create(Kind<T>::request(api, "Code Review")));
  auto request = created;
  Kind<T>::edit_spec(request, "updated text");
  request.mutable_metadata()->set_id(created.metadata().id());
  request.mutable_status()->mutable_audit()->mutable_spec_audit()->mutable_created_by()->set_id("mallory");

  auto updated = must(api.update(request));

  CHECK(Kind<T>::spec_text(updated) == "updated text");
  CHECK(updated.metadata().id() == created.metadata().id());
  const auto& before = created.status().audit();
  const auto& after = updated.status().audit();
  CHECK(after.spec_audit().created_by().id() == "system");
  CHECK(after.spec_audit().created_at() == before.spec_audit().created_at());
  CHECK(after.spec_audit().event() == "updated");
  CHECK(after.spec_audit().updated_at() >= before.spec_audit().updated_at());
  CHECK(same(after.status_audit(), before.status_audit()));
  CHECK(same(must(api.get<T>(created.metadata().id())), updated));
}

TEST_CASE_TEMPLATE("update bumps the revision in metadata.version", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto created = must(api.create(Kind<T>::request(api, "Code Review")));

  auto updated = must(api.update(created));

  CHECK(updated.metadata().version().id() == "2");
  CHECK(updated.metadata().version().previous_version_id() == "1");
}

TEST_CASE_TEMPLATE("update with an empty slug keeps the stored slug even when the name changes", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto created = must(api.create(Kind<T>::request(api, "Code Review")));
  auto request = created;
  request.mutable_metadata()->set_name("Renamed Thing");
  request.mutable_metadata()->clear_slug();

  auto updated = must(api.update(request));

  CHECK(updated.metadata().name() == "Renamed Thing");
  CHECK(updated.metadata().slug() == "code-review");
}

TEST_CASE_TEMPLATE("update with a stale metadata.version.id is ABORTED and changes nothing", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto created = must(api.create(Kind<T>::request(api, "Code Review")));
  auto first = created;
  Kind<T>::edit_spec(first, "first writer");
  auto current = must(api.update(first));
  auto stale = created;  // still names revision 1
  Kind<T>::edit_spec(stale, "second writer");

  auto result = api.update(stale);

  check_code(result, grpc::StatusCode::ABORTED);
  CHECK(contains(result.status().error_message(), "metadata.version.id"));
  CHECK(same(must(api.get<T>(created.metadata().id())), current));
}

TEST_CASE_TEMPLATE("update naming the current metadata.version.id succeeds", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto created = must(api.create(Kind<T>::request(api, "Code Review")));
  auto current = must(api.update(created));
  Kind<T>::edit_spec(current, "with the current revision");

  auto updated = must(api.update(current));

  CHECK(updated.metadata().version().id() == "3");
  CHECK(Kind<T>::spec_text(updated) == "with the current revision");
}

TEST_CASE_TEMPLATE("update and apply may not move a resource to another org or owner scope", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  const auto created = must(api.create(Kind<T>::request(api, "Code Review")));
  auto other_org = created;
  other_org.mutable_metadata()->set_org("globex");
  auto other_scope = created;
  other_scope.mutable_metadata()->set_owner_scope(Kind<T>::other_scope);

  const std::pair<T, std::string> cases[] = {{other_org, "metadata.org: "}, {other_scope, "metadata.owner_scope: "}};
  for (const auto& [request, field] : cases) {
    for (const auto& result : {api.update(request), api.apply(request)}) {
      check_code(result, grpc::StatusCode::INVALID_ARGUMENT);
      CHECK_MESSAGE(result.status().error_message().rfind(field, 0) == 0, describe(result.status()));
    }
  }
  CHECK(same(must(api.get<T>(created.metadata().id())), created));
}

TEST_CASE_TEMPLATE("update and apply leaving org and owner scope empty keep the stored ones", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  const auto created = must(api.create(Kind<T>::request(api, "Code Review")));
  auto request = created;
  request.mutable_metadata()->clear_org();
  request.mutable_metadata()->clear_owner_scope();
  request.mutable_metadata()->clear_version();

  const auto updated = must(api.update(request));
  const auto applied = must(api.apply(request));

  for (const auto& r : {updated, applied}) {
    CHECK(r.metadata().org() == "acme");
    CHECK(r.metadata().owner_scope() == res::organization);
  }
  CHECK(applied.metadata().id() == created.metadata().id());
  CHECK(same(must(api.get<T>(created.metadata().id())), applied));
}

TEST_CASE_TEMPLATE("update of an id that does not exist is NOT_FOUND naming the kind and id", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto request = Kind<T>::request(api, "Code Review");
  const std::string missing = new_id(Kind<T>::prefix);
  request.mutable_metadata()->set_id(missing);

  auto result = api.update(request);

  check_code(result, grpc::StatusCode::NOT_FOUND);
  CHECK(contains(result.status().error_message(), kind_name(request) + " " + missing));
}

TEST_CASE_TEMPLATE("delete returns the resource as it was and get no longer finds it", T, KINDS) {
  TestServer server;
  Client api(server.channel());
  auto created = must(api.create(Kind<T>::request(api, "Code Review")));

  auto deleted = must(api.remove<T>(created.metadata().id()));

  CHECK(same(deleted, created));
  check_code(api.get<T>(created.metadata().id()), grpc::StatusCode::NOT_FOUND);
  check_code(api.remove<T>(created.metadata().id()), grpc::StatusCode::NOT_FOUND);
}

// ---- agents ----

TEST_CASE("an agent slug taken in the same owner scope and org is ALREADY_EXISTS") {
  TestServer server;
  Client api(server.channel());
  auto first = must(api.create(make_agent("Code Reviewer")));

  auto result = api.create(make_agent("code reviewer"));

  check_code(result, grpc::StatusCode::ALREADY_EXISTS);
  CHECK(contains(result.status().error_message(), "code-reviewer"));
  CHECK(count_rows(server.db_path(), "agents") == 1);
}

TEST_CASE("the same agent slug is free in another org and in another owner scope") {
  TestServer server;
  Client api(server.channel());
  must(api.create(make_agent("Code Reviewer", res::organization, "acme")));

  CHECK(api.create(make_agent("Code Reviewer", res::organization, "globex")).ok());
  CHECK(api.create(make_agent("Code Reviewer", res::platform, "acme")).ok());
}

TEST_CASE("updating an agent to a slug another agent holds is ALREADY_EXISTS") {
  TestServer server;
  Client api(server.channel());
  must(api.create(make_agent("Code Reviewer")));
  auto other = must(api.create(make_agent("Test Writer")));
  other.mutable_metadata()->set_slug("code-reviewer");

  check_code(api.update(other), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_CASE("apply of an agent whose slug is taken in its scope updates that agent") {
  TestServer server;
  Client api(server.channel());
  auto created = must(api.create(make_agent("Code Reviewer")));
  auto request = make_agent("Code Reviewer");
  request.mutable_spec()->set_description("applied by slug");

  auto applied = must(api.apply(request));

  CHECK(applied.metadata().id() == created.metadata().id());
  CHECK(applied.status().audit().spec_audit().event() == "updated");
  CHECK(must(api.get<Agent>(created.metadata().id())).spec().description() == "applied by slug");
  CHECK(count_rows(server.db_path(), "agents") == 1);
}

TEST_CASE("an agent keeps its default instance across update, whatever status the client sends") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));
  must(api.create(make_execution_for_agent(agent.metadata().id())));
  auto current = must(api.get<Agent>(agent.metadata().id()));
  const std::string instance_id = current.status().default_instance_id();
  REQUIRE_FALSE(instance_id.empty());
  current.mutable_spec()->set_description("edited");
  current.mutable_status()->set_default_instance_id("ain-forged");

  auto updated = must(api.update(current));

  CHECK(updated.status().default_instance_id() == instance_id);
  CHECK(must(api.get<Agent>(agent.metadata().id())).status().default_instance_id() == instance_id);
}

TEST_CASE("deleting an agent that has sessions is FAILED_PRECONDITION saying how many") {
  TestServer server;
  Client api(server.channel());
  auto chain = make_chain(api, "Code Reviewer");
  must(api.create(make_session(chain.instance.metadata().id(), "second")));

  auto result = api.remove<Agent>(chain.agent.metadata().id());

  check_code(result, grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(contains(result.status().error_message(), "2 session"));
  CHECK(contains(result.status().error_message(), "delete"));
  CHECK(api.get<Agent>(chain.agent.metadata().id()).ok());
  CHECK(api.get<AgentInstance>(chain.instance.metadata().id()).ok());
}

TEST_CASE("deleting an agent deletes its instances that have no sessions") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));
  auto first = must(api.create(make_instance(agent.metadata().id(), "first")));
  auto second = must(api.create(make_instance(agent.metadata().id(), "second")));

  must(api.remove<Agent>(agent.metadata().id()));

  check_code(api.get<AgentInstance>(first.metadata().id()), grpc::StatusCode::NOT_FOUND);
  check_code(api.get<AgentInstance>(second.metadata().id()), grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("an agent can be deleted once its sessions are deleted") {
  TestServer server;
  Client api(server.channel());
  auto chain = make_chain(api, "Code Reviewer");
  must(api.remove<Session>(chain.session.metadata().id()));

  must(api.remove<Agent>(chain.agent.metadata().id()));

  check_code(api.get<AgentInstance>(chain.instance.metadata().id()), grpc::StatusCode::NOT_FOUND);
}

// ---- agent instances ----

TEST_CASE("an agent instance slug taken in the same owner scope and org is ALREADY_EXISTS") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));
  must(api.create(make_instance(agent.metadata().id(), "Staging")));

  check_code(api.create(make_instance(agent.metadata().id(), "staging")), grpc::StatusCode::ALREADY_EXISTS);
  CHECK(api.create(make_instance(agent.metadata().id(), "staging", res::organization, "globex")).ok());
}

TEST_CASE("apply of an agent instance whose slug is taken in its scope updates that instance") {
  TestServer server;
  Client api(server.channel());
  auto agent = must(api.create(make_agent("Code Reviewer")));
  auto created = must(api.create(make_instance(agent.metadata().id(), "Staging")));
  auto request = make_instance(agent.metadata().id(), "Staging");
  request.mutable_spec()->set_description("applied by slug");

  auto applied = must(api.apply(request));

  CHECK(applied.metadata().id() == created.metadata().id());
  CHECK(applied.status().audit().spec_audit().event() == "updated");
  CHECK(count_rows(server.db_path(), "agent_instances") == 1);
}

TEST_CASE("an agent instance for an unknown agent is NOT_FOUND naming the agent") {
  TestServer server;
  Client api(server.channel());
  const std::string missing = new_id(kAgentPrefix);

  auto result = api.create(make_instance(missing, "Staging"));

  check_code(result, grpc::StatusCode::NOT_FOUND);
  CHECK(contains(result.status().error_message(), "Agent " + missing));
}

TEST_CASE("deleting an agent instance that has sessions is FAILED_PRECONDITION saying how many") {
  TestServer server;
  Client api(server.channel());
  auto chain = make_chain(api, "Code Reviewer");

  auto result = api.remove<AgentInstance>(chain.instance.metadata().id());

  check_code(result, grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(contains(result.status().error_message(), "1 session"));
  CHECK(api.get<AgentInstance>(chain.instance.metadata().id()).ok());
}

// ---- sessions ----

TEST_CASE("sessions are not slug-unique: two sessions may share a name") {
  TestServer server;
  Client api(server.channel());
  auto chain = make_chain(api, "Code Reviewer");

  auto twin = must(api.create(make_session(chain.instance.metadata().id(), chain.session.metadata().name())));

  CHECK(twin.metadata().slug() == chain.session.metadata().slug());
  CHECK(twin.metadata().id() != chain.session.metadata().id());
}

TEST_CASE("apply of a session without a known id creates one even when its name is taken") {
  TestServer server;
  Client api(server.channel());
  auto chain = make_chain(api, "Code Reviewer");

  auto applied = must(api.apply(make_session(chain.instance.metadata().id(), chain.session.metadata().name())));

  CHECK(applied.metadata().id() != chain.session.metadata().id());
  CHECK(applied.status().audit().spec_audit().event() == "created");
}

TEST_CASE("a session on an unknown agent instance is NOT_FOUND naming the instance") {
  TestServer server;
  Client api(server.channel());
  const std::string missing = new_id(kInstancePrefix);

  auto result = api.create(make_session(missing));

  check_code(result, grpc::StatusCode::NOT_FOUND);
  CHECK(contains(result.status().error_message(), "AgentInstance " + missing));
}

TEST_CASE("deleting a session deletes its executions and nothing else") {
  TestServer server;
  Client api(server.channel());
  auto chain = make_chain(api, "Code Reviewer");
  auto other = must(api.create(make_session(chain.instance.metadata().id(), "other")));
  auto first = must(api.create(make_execution_in_session(chain.session.metadata().id())));
  auto second = must(api.create(make_execution_in_session(chain.session.metadata().id())));
  auto elsewhere = must(api.create(make_execution_in_session(other.metadata().id())));

  auto deleted = must(api.remove<Session>(chain.session.metadata().id()));

  CHECK(same(deleted, chain.session));
  check_code(api.get<Execution>(first.metadata().id()), grpc::StatusCode::NOT_FOUND);
  check_code(api.get<Execution>(second.metadata().id()), grpc::StatusCode::NOT_FOUND);
  CHECK(api.get<Execution>(elsewhere.metadata().id()).ok());
  CHECK(api.get<AgentInstance>(chain.instance.metadata().id()).ok());
}
