// Hostile input over gRPC: ids far beyond any real one, and bytes that are no request at all. Every
// method answers INVALID_ARGUMENT naming the field (or "request"), the answer stays short whatever
// was sent, and the channel keeps working for the next call.
#include <google/protobuf/descriptor.h>

#include <string>
#include <vector>

#include "auth/tokens.h"
#include "domain/validation.h"
#include "support/certificates.h"
#include "support/client.h"
#include "support/raw_call.h"
#include "support/requests.h"
#include "support/test_server.h"

using namespace aexd;
using namespace aexd::test;

namespace {

namespace m = api::methods;

const std::string kHugeId(100 * 1024, 'x');  // far over every bound; its NOT_FOUND once hung clients

/// A request that names `field` with an over-long value, and the message it must get.
struct LongField {
  const api::Method& method;
  std::string request;  // serialized
  std::string expected;
};

std::string with_value(google::protobuf::Message&& id) {
  const auto* field = id.GetDescriptor()->FindFieldByName("value");
  id.GetReflection()->SetString(&id, field, kHugeId);
  return id.SerializeAsString();
}

template <class T>
std::string with_metadata_id(T resource) {
  resource.mutable_metadata()->set_id(kHugeId);
  return resource.SerializeAsString();
}

std::string too_long(const std::string& field, size_t max) {
  return field + ": longer than " + std::to_string(max) + " bytes";
}

/// The first string field of `type` (every request has one) set to bytes that are not UTF-8.
std::string with_invalid_utf8(const google::protobuf::Descriptor& type) {
  for (int i = 0; i < type.field_count(); ++i) {
    const auto* field = type.field(i);
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_STRING || field->number() > 15) continue;
    const char tag = static_cast<char>(field->number() << 3 | 2);  // length-delimited, one-byte tag
    return std::string{tag, 2, '\xff', '\xfe'};
  }
  FAIL("no string field numbered 1-15 in " << type.full_name());
  return {};
}

const google::protobuf::Descriptor& request_type(const api::Method& method) {
  const auto* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(method.service));
  REQUIRE(service != nullptr);
  const auto* rpc = service->FindMethodByName(std::string(method.name));
  REQUIRE(rpc != nullptr);
  return *rpc->input_type();
}

struct Fixture {
  TestServer server;
  Client api{server.channel()};
  SessionChain chain = make_chain(api, "Code Reviewer");
  Execution execution = must(api.create(make_execution_in_session(chain.session.metadata().id())));

  /// The call that follows a hostile one on the same channel: answered, and promptly (Client's deadline).
  void next_call_succeeds() const {
    auto got = api.get<Execution>(execution.metadata().id());
    CHECK_MESSAGE(got.ok(), describe(got.ok() ? grpc::Status::OK : got.status()));
  }
};

}  // namespace

TEST_CASE("a 100 KB id is INVALID_ARGUMENT naming the field and its bound on every method, and the channel goes on") {
  Fixture f;
  const auto& chain = f.chain;
  res::ApiResourceReference reference;
  reference.set_scope(res::organization);
  reference.set_slug(kHugeId);
  exv1::AgentExecutionUpdateStatusInput push;
  push.set_execution_id(kHugeId);
  exv1::CancelAgentExecutionInput cancel;
  cancel.set_id(kHugeId);
  exv1::TerminateAgentExecutionInput terminate;
  terminate.set_id(kHugeId);
  exv1::PauseAgentExecutionInput pause;
  pause.set_id(kHugeId);
  exv1::ResumeAgentExecutionInput resume;
  resume.set_id(kHugeId);
  instancev1::GetAgentInstancesByAgentRequest by_agent;
  by_agent.set_agent_id(kHugeId);
  sessionv1::ListSessionsRequest sessions;
  sessions.set_page_token(kHugeId);
  sessionv1::ListSessionsByAgentRequest sessions_by_agent;
  sessions_by_agent.set_agent_id(kHugeId);
  exv1::ListAgentExecutionsRequest executions;
  executions.add_tags(kHugeId);
  exv1::ListAgentExecutionsBySessionRequest by_session;
  by_session.set_session_id(kHugeId);
  aexd::v1::ClaimRequest claim;
  claim.set_runner_id(kHugeId);
  aexd::v1::ReleaseRequest release;
  release.set_execution_id(kHugeId);
  release.set_lease_id("lse-1");
  Execution create = make_execution_in_session(kHugeId);

  const std::string id_field = too_long("value", limits::kId);
  const std::string metadata_id = too_long("metadata.id", limits::kId);
  const std::vector<LongField> cases = {
      {m::kAgentGet, with_value(agentv1::AgentId()), id_field},
      {m::kInstanceGet, with_value(instancev1::AgentInstanceId()), id_field},
      {m::kSessionGet, with_value(sessionv1::SessionId()), id_field},
      {m::kExecutionGet, with_value(exv1::AgentExecutionId()), id_field},
      {m::kExecutionSubscribe, with_value(exv1::AgentExecutionId()), id_field},
      {m::kAgent.delete_, with_value(agentv1::AgentId()), id_field},
      {m::kInstance.delete_, with_value(instancev1::AgentInstanceId()), id_field},
      {m::kSession.delete_, with_value(sessionv1::SessionId()), id_field},
      {m::kExecutionDelete, with_value(res::ApiResourceId()), id_field},
      {m::kAgent.update, with_metadata_id(chain.agent), metadata_id},
      {m::kAgent.apply, with_metadata_id(chain.agent), metadata_id},
      {m::kInstance.update, with_metadata_id(chain.instance), metadata_id},
      {m::kSession.update, with_metadata_id(chain.session), metadata_id},
      {m::kExecutionUpdate, with_metadata_id(f.execution), metadata_id},
      {m::kExecutionCreate, create.SerializeAsString(), too_long("spec.session_id", limits::kId)},
      {m::kExecutionUpdateStatus, push.SerializeAsString(), too_long("execution_id", limits::kId)},
      {m::kExecutionCancel, cancel.SerializeAsString(), too_long("id", limits::kId)},
      {m::kExecutionTerminate, terminate.SerializeAsString(), too_long("id", limits::kId)},
      {m::kExecutionPause, pause.SerializeAsString(), too_long("id", limits::kId)},
      {m::kExecutionResume, resume.SerializeAsString(), too_long("id", limits::kId)},
      {m::kAgentGetByReference, reference.SerializeAsString(), too_long("slug", limits::kName)},
      {m::kInstanceGetByReference, reference.SerializeAsString(), too_long("slug", limits::kName)},
      {m::kInstanceGetByAgent, by_agent.SerializeAsString(), too_long("agent_id", limits::kId)},
      {m::kSessionList, sessions.SerializeAsString(), too_long("page_token", limits::kId)},
      {m::kSessionListByAgent, sessions_by_agent.SerializeAsString(), too_long("agent_id", limits::kId)},
      {m::kExecutionList, executions.SerializeAsString(), too_long("tags[0]", limits::kName)},
      {m::kExecutionListBySession, by_session.SerializeAsString(), too_long("session_id", limits::kId)},
      {m::kClaim, claim.SerializeAsString(), too_long("runner_id", limits::kId)},
      {m::kRelease, release.SerializeAsString(), too_long("execution_id", limits::kId)},
  };
  for (const auto& c : cases) {
    INFO(path_of(c.method));
    const grpc::Status status = raw_call(f.server.channel(), c.method, c.request);
    INFO(describe(status).substr(0, 200));
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message() == c.expected);
    f.next_call_succeeds();
  }
}

TEST_CASE("an over-long name, label or idempotency key is INVALID_ARGUMENT naming it, and nothing is written") {
  Fixture f;
  const auto before = count_rows(f.server.db_path(), "agents");
  Agent named = make_agent("Long");
  named.mutable_metadata()->set_name(std::string(limits::kName + 1, 'n'));
  Agent labelled = make_agent("Labelled");
  (*labelled.mutable_metadata()->mutable_labels())["team"] = std::string(limits::kLabelValue + 1, 'v');

  auto got = f.api.create(named);
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(got.status().error_message() == too_long("metadata.name", limits::kName));
  got = f.api.create(labelled);
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().error_message() == too_long("metadata.labels[\"team\"]", limits::kLabelValue));
  auto keyed = f.api.create(make_execution_in_session(f.chain.session.metadata().id()), std::string(1000, 'k'));
  REQUIRE_FALSE(keyed.ok());
  CHECK(keyed.status().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(keyed.status().error_message().size() < 100);
  CHECK(count_rows(f.server.db_path(), "agents") == before);
  f.next_call_succeeds();
}

TEST_CASE("a NOT_FOUND for an id at the bound echoes only a short prefix of it") {
  Fixture f;
  const std::string at_bound(limits::kId, 'a');
  for (auto status : {f.api.get<Agent>(at_bound).status(), f.api.get<Execution>(at_bound).status(),
                      f.api.remove<Session>(at_bound).status()}) {
    INFO(describe(status));
    CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(status.error_message().size() < 100);
    // append, not +: GCC 12 at -O2 without -g reports a false -Warray-bounds on `string&& + "…"`.
    CHECK(status.error_message().find(std::string(64, 'a').append("…")) != std::string::npos);
  }
  f.next_call_succeeds();
}

TEST_CASE("bytes that are not a request are INVALID_ARGUMENT \"request: …\" on every method") {
  Fixture f;
  const std::vector<std::pair<std::string, std::string>> undecodable = {
      {"a truncated varint", std::string("\x08\x80", 2)},
      {"an undefined wire type", std::string("\x0f\x00", 2)},
      {"a length beyond the end", std::string("\x0a\x05"
                                              "ab",
                                              4)},
  };
  for (const api::Method* method : m::kAll) {
    INFO(path_of(*method));
    const auto& type = request_type(*method);
    auto cases = undecodable;
    cases.emplace_back("invalid UTF-8 in a string field", with_invalid_utf8(type));
    for (const auto& kind : cases) {  // not a structured binding: INFO captures it, which clang 14 cannot
      INFO(kind.first);
      const grpc::Status status = raw_call(f.server.channel(), *method, kind.second);
      INFO(describe(status));
      CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK(status.error_message() == "request: cannot be decoded as " + type.full_name());
    }
  }
  f.next_call_succeeds();
}

TEST_CASE("auth comes first: undecodable bytes from a caller without a token are UNAUTHENTICATED on every method") {
  TempDir dir;
  Options options;
  const std::string token = "aexd_" + std::string(64, '3');
  options.auth_tokens =
      write_file(dir.path() / "tokens", "admin writer " + auth::to_hex(auth::sha256(token)) + "\n");
  TestServer server(options);
  for (const api::Method* method : m::kAll) {
    INFO(path_of(*method));
    const grpc::Status status = raw_call(server.channel(), *method, std::string("\x08\x80", 2));
    INFO(describe(status));
    CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
}
