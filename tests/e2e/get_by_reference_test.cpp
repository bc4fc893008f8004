// getByReference on agents and agent instances: how Stigmer's CLI resolves `stigmer run <name>`
// and pings the server (an empty reference must be INVALID_ARGUMENT, an unknown one NOT_FOUND).
#include "support/client.h"

using namespace aexd;
using namespace aexd::test;
namespace kinds = res::apiresourcekind;

namespace {

res::ApiResourceReference reference(res::ApiResourceOwnerScope scope, const std::string& org, const std::string& slug,
                                    kinds::ApiResourceKind kind = kinds::api_resource_kind_unknown) {
  res::ApiResourceReference ref;
  ref.set_scope(scope);
  ref.set_org(org);
  ref.set_slug(slug);
  ref.set_kind(kind);
  return ref;
}

Result<Agent> agent_by(const TestServer& server, const res::ApiResourceReference& ref) {
  return Client(server.channel()).get_by_reference<Agent>(ref);
}

Result<AgentInstance> instance_by(const TestServer& server, const res::ApiResourceReference& ref) {
  return Client(server.channel()).get_by_reference<AgentInstance>(ref);
}

bool names_field(const grpc::Status& status, const std::string& field) {
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT && status.error_message().rfind(field + ":", 0) == 0;
}

}  // namespace

TEST_CASE("getByReference finds an organization's agent by its org and slug, and not from another org") {
  TestServer server;
  Client client(server.channel());
  const auto agent = must(client.create(make_agent("Code Reviewer", res::organization, "acme")));

  const auto found = must(agent_by(server, reference(res::organization, "acme", "code-reviewer", kinds::agent)));
  CHECK(found.metadata().id() == agent.metadata().id());
  CHECK(found.spec().instructions() == agent.spec().instructions());

  const auto elsewhere = agent_by(server, reference(res::organization, "globex", "code-reviewer"));
  REQUIRE_FALSE(elsewhere.ok());
  CHECK(elsewhere.status().error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("getByReference ignores org for platform agents and identity_account instances") {
  TestServer server;
  Client client(server.channel());
  const auto agent = must(client.create(make_agent("Shared Helper", res::platform, "acme")));
  for (const char* org : {"", "acme", "globex"}) {
    INFO("org '" << org << "'");
    CHECK(must(agent_by(server, reference(res::platform, org, "shared-helper"))).metadata().id() ==
          agent.metadata().id());
  }

  const auto mine =
      must(client.create(make_instance(agent.metadata().id(), "my helper", res::identity_account, "acme")));
  for (const char* org : {"", "globex"}) {
    INFO("org '" << org << "'");
    CHECK(must(instance_by(server, reference(res::identity_account, org, "my-helper", kinds::agent_instance)))
              .metadata()
              .id() == mine.metadata().id());
  }
  // The scope still counts: the platform agent is not an organization's.
  CHECK(agent_by(server, reference(res::organization, "acme", "shared-helper")).status().error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("getByReference finds an organization's agent instance by its org and slug") {
  TestServer server;
  Client client(server.channel());
  const auto agent = must(client.create(make_agent()));
  const auto instance = must(client.create(make_instance(agent.metadata().id(), "reviewer-prod")));
  CHECK(must(instance_by(server, reference(res::organization, "acme", "reviewer-prod"))).metadata().id() ==
        instance.metadata().id());
}

TEST_CASE("getByReference with an empty or incomplete reference is INVALID_ARGUMENT naming the missing field") {
  TestServer server;
  CHECK(names_field(agent_by(server, res::ApiResourceReference{}).status(), "scope"));
  CHECK(names_field(instance_by(server, res::ApiResourceReference{}).status(), "scope"));
  CHECK(names_field(agent_by(server, reference(res::organization, "acme", "")).status(), "slug"));
  CHECK(names_field(instance_by(server, reference(res::platform, "", "")).status(), "slug"));
  CHECK(names_field(agent_by(server, reference(res::api_resource_owner_scope_unspecified, "acme", "x")).status(),
                    "scope"));
  CHECK(
      names_field(agent_by(server, reference(static_cast<res::ApiResourceOwnerScope>(9), "", "x")).status(), "scope"));
}

TEST_CASE("getByReference with another service's kind is INVALID_ARGUMENT naming kind") {
  TestServer server;
  Client client(server.channel());
  must(client.create(make_agent()));
  CHECK(names_field(
      agent_by(server, reference(res::organization, "acme", "code-reviewer", kinds::agent_instance)).status(), "kind"));
  CHECK(names_field(instance_by(server, reference(res::organization, "acme", "code-reviewer", kinds::agent)).status(),
                    "kind"));
  CHECK(names_field(agent_by(server, reference(res::organization, "acme", "code-reviewer", kinds::session)).status(),
                    "kind"));
}

TEST_CASE("getByReference of an unknown slug is NOT_FOUND naming the kind and the reference") {
  TestServer server;
  const auto agent = agent_by(server, reference(res::organization, "acme", "nobody"));
  REQUIRE_FALSE(agent.ok());
  CHECK(agent.status().error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(agent.status().error_message().find("Agent") != std::string::npos);
  CHECK(agent.status().error_message().find("organization/acme/nobody") != std::string::npos);

  const auto instance = instance_by(server, reference(res::platform, "", "nobody"));
  REQUIRE_FALSE(instance.ok());
  CHECK(instance.status().error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(instance.status().error_message().find("AgentInstance platform/nobody") != std::string::npos);
}

TEST_CASE("getByReference does not find a deleted agent") {
  TestServer server;
  Client client(server.channel());
  const auto agent = must(client.create(make_agent()));
  must(client.remove<Agent>(agent.metadata().id()));
  CHECK(agent_by(server, reference(res::organization, "acme", "code-reviewer")).status().error_code() ==
        grpc::StatusCode::NOT_FOUND);
}
