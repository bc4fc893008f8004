// Fuzz target: a request as the server receives it. The first byte picks the request message of an
// RPC, the rest is decoded into it as gRPC would, then checked the way the server checks it
// (domain/validation.h and the pipeline's steps that need no storage), and the outcome against the
// contract: OK or INVALID_ARGUMENT naming a field, and nothing undefined accepted.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include "api/decoding.h"
#include "checks.h"
#include "domain/idempotency.h"
#include "domain/slug.h"
#include "domain/validation.h"
#include "pipeline/resource_steps.h"

namespace {

using namespace aexd;
using aexd::fuzz::ok_or_names_field;
namespace agentv1 = ai::stigmer::agentic::agent::v1;
namespace instancev1 = ai::stigmer::agentic::agentinstance::v1;
namespace sessionv1 = ai::stigmer::agentic::session::v1;

// A request's bytes become its message through the server's own decoding step, which also bounds
// its ids and names: OK, or INVALID_ARGUMENT ("request: …" or the field over its bound).
template <class M>
bool decode(std::string_view bytes, M& message) {
  grpc::Slice slice(bytes.data(), bytes.size());
  const grpc::ByteBuffer buffer(&slice, 1);
  const auto decoded = api::decode_request(buffer, message);
  FUZZ_CHECK(decoded.ok() || (decoded.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
                              !decoded.error_message().empty()));
  return decoded.ok();
}

// The steps of a create pipeline that read nothing: they see only the context's resource.
template <class T>
struct Request {
  T resource;
};

template <class T>
void check_resource(std::string_view bytes) {
  Request<T> ctx;
  if (!decode(bytes, ctx.resource)) return;
  const T sent = ctx.resource;
  const auto valid = pipeline::ValidateFieldConstraints{}.run(ctx);
  FUZZ_CHECK(ok_or_names_field(
      valid, {"api_version", "kind", "metadata", "metadata.owner_scope", "metadata.name", "spec.instructions",
              "spec.agent_id", "spec.agent_instance_id", "spec.message", "spec.runtime_env["}));
  FUZZ_CHECK(validate(sent).error_message() == valid.error_message());  // fill_constants adds no error
  if (!valid.ok()) return;
  FUZZ_CHECK(ctx.resource.api_version() == kApiVersion && ctx.resource.kind() == KindOf<T>::name);
  FUZZ_CHECK(validate(ctx.resource).ok());
  FUZZ_CHECK(fuzz::enums_defined(ctx.resource.metadata()));
  const auto slug = pipeline::ResolveSlug{}.run(ctx);
  FUZZ_CHECK(ok_or_names_field(slug, {"metadata.slug", "metadata.name"}));
  // A sent slug must be one already; a derived one must not be empty where slugs find the resource
  // (getByReference needs one, and each is held by one agent or instance).
  const auto& m = sent.metadata();
  FUZZ_CHECK(slug.ok() ==
             (m.slug().empty() ? !(kSlugUnique<T> && slugify(m.name()).empty()) : slugify(m.slug()) == m.slug()));
  const std::string& stored_slug = ctx.resource.metadata().slug();
  if (slug.ok()) FUZZ_CHECK(slugify(stored_slug) == stored_slug);
  FUZZ_CHECK(fuzz::round_trips(ctx.resource));
  if constexpr (std::is_same_v<T, Execution>) {
    // Idempotent create compares fingerprints: one per request, whatever the order of its map entries.
    const std::string fingerprint = request_fingerprint(sent);
    FUZZ_CHECK(fingerprint.size() == 32);
    Execution again;
    FUZZ_CHECK(again.ParseFromString(sent.SerializeAsString()));
    FUZZ_CHECK(request_fingerprint(again) == fingerprint);
  }
}

void check_status_input(std::string_view bytes) {
  exv1::AgentExecutionUpdateStatusInput input;
  if (!decode(bytes, input)) return;
  const auto valid = validate(input);
  FUZZ_CHECK(ok_or_names_field(valid, {"execution_id", "status", "status.phase", "status.messages[",
                                       "status.tool_calls[", "status.todos[", "status.sub_agent_executions["}));
  if (!valid.ok()) return;
  FUZZ_CHECK(!input.execution_id().empty() && input.has_status());
  // The stored status keeps its own audit; everything else pushed may be stored.
  FUZZ_CHECK(fuzz::enums_defined(input.status(), "audit"));
  FUZZ_CHECK(fuzz::round_trips(input));
}

template <class IdMessage>
void check_id(std::string_view bytes) {
  IdMessage id;
  if (!decode(bytes, id)) return;
  const auto valid = validate_id("value", id.value());
  FUZZ_CHECK(ok_or_names_field(valid, {"value"}));
  FUZZ_CHECK(valid.ok() == !id.value().empty());
}

// Lifecycle inputs and list requests: their ids are checked inside the write (pipeline transition) or
// the query, so only decoding here.
template <class Input>
void check_lifecycle_input(std::string_view bytes) {
  Input input;
  if (!decode(bytes, input)) return;
  FUZZ_CHECK(fuzz::round_trips(input));
}

void check_idempotency_key(std::string_view key) {
  const auto valid = validate_idempotency_key(key);
  FUZZ_CHECK(ok_or_names_field(valid, {kIdempotencyKeyHeader}));
  bool printable = !key.empty() && key.size() <= 128;
  for (char c : key) printable = printable && c >= 0x20 && c <= 0x7e;
  FUZZ_CHECK(valid.ok() == printable);
}

void (*const kChecks[])(std::string_view) = {
    check_resource<Agent>,
    check_resource<AgentInstance>,
    check_resource<Session>,
    check_resource<Execution>,
    check_status_input,
    check_id<agentv1::AgentId>,
    check_id<instancev1::AgentInstanceId>,
    check_id<sessionv1::SessionId>,
    check_id<exv1::AgentExecutionId>,
    check_id<res::ApiResourceId>,
    check_lifecycle_input<exv1::CancelAgentExecutionInput>,
    check_lifecycle_input<exv1::TerminateAgentExecutionInput>,
    check_lifecycle_input<exv1::PauseAgentExecutionInput>,
    check_lifecycle_input<exv1::ResumeAgentExecutionInput>,
    check_idempotency_key,  // the seeds' first bytes pick by position: add new checks below
    check_lifecycle_input<res::ApiResourceReference>,
    check_lifecycle_input<exv1::ListAgentExecutionsRequest>,
    check_lifecycle_input<exv1::ListAgentExecutionsBySessionRequest>,
    check_lifecycle_input<sessionv1::ListSessionsRequest>,
    check_lifecycle_input<instancev1::GetAgentInstancesByAgentRequest>,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::run_picked(data, size, kChecks);
}
