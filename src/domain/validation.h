// Field constraints of the wire contract (shared/API.md), checked by the server itself.
// Each returns OK or INVALID_ARGUMENT naming the first offending field path.
#pragma once

#include <grpcpp/support/status.h>

#include <concepts>
#include <cstddef>
#include <string_view>

#include "aexd/v1/dispatch.pb.h"
#include "domain/types.h"

namespace aexd {

/// The most bytes an id or a name in a request may hold. Ours have 30 ("aex-" + ULID); other systems'
/// may be longer, so the bounds leave ample room. Free text (messages, instructions, descriptions,
/// reasons, the status a runner pushes) is bounded by the message size limit only.
namespace limits {
inline constexpr size_t kId = 128;           // ids and references to them, page tokens, lease and runner ids
inline constexpr size_t kName = 256;         // names, slugs, orgs, tags, map keys
inline constexpr size_t kLabelValue = 1024;  // metadata.labels values
inline constexpr size_t kRevision = 20;      // a decimal uint64, as the resume header carries it
}  // namespace limits

/// INVALID_ARGUMENT "<field>: longer than <max> bytes" when `value` is, else OK.
grpc::Status check_length(std::string_view field, std::string_view value, size_t max);

/// Every id and name a request carries within its bound (limits above), else INVALID_ARGUMENT naming
/// the first field over it and its bound. Run as each request is decoded, before any lookup.
grpc::Status check_bounds(const Agent& request);
grpc::Status check_bounds(const AgentInstance& request);
grpc::Status check_bounds(const Session& request);
grpc::Status check_bounds(const Execution& request);
grpc::Status check_bounds(const exv1::AgentExecutionUpdateStatusInput& request);
grpc::Status check_bounds(const res::ApiResourceReference& request);
grpc::Status check_bounds(const ai::stigmer::agentic::agentinstance::v1::GetAgentInstancesByAgentRequest& request);
grpc::Status check_bounds(const ai::stigmer::agentic::session::v1::ListSessionsRequest& request);
grpc::Status check_bounds(const ai::stigmer::agentic::session::v1::ListSessionsByAgentRequest& request);
grpc::Status check_bounds(const exv1::ListAgentExecutionsRequest& request);
grpc::Status check_bounds(const exv1::ListAgentExecutionsBySessionRequest& request);
grpc::Status check_bounds(const exv1::CancelAgentExecutionInput& request);
grpc::Status check_bounds(const exv1::TerminateAgentExecutionInput& request);
grpc::Status check_bounds(const exv1::PauseAgentExecutionInput& request);
grpc::Status check_bounds(const exv1::ResumeAgentExecutionInput& request);
grpc::Status check_bounds(const aexd::v1::ClaimRequest& request);
grpc::Status check_bounds(const aexd::v1::ReleaseRequest& request);
/// The id messages (AgentId, SessionId, ...): `value`.
template <class IdMessage>
requires requires(const IdMessage& m) {
  { m.value() } -> std::convertible_to<std::string_view>;
}
grpc::Status check_bounds(const IdMessage& request) { return check_length("value", request.value(), limits::kId); }

grpc::Status validate(const Agent& agent);
grpc::Status validate(const AgentInstance& instance);
grpc::Status validate(const Session& session);
grpc::Status validate(const Execution& execution);
grpc::Status validate(const exv1::AgentExecutionUpdateStatusInput& input);

/// `value` of an id message: required; a malformed id is simply not found later.
grpc::Status validate_id(std::string_view field, std::string_view id);

/// Fills empty api_version/kind with the constants; any other value is INVALID_ARGUMENT.
template <class T>
grpc::Status fill_constants(T& resource);

}  // namespace aexd
