// Field constraints of the wire contract (shared/API.md), checked by the server itself.
// Each returns OK or INVALID_ARGUMENT naming the first offending field path.
#pragma once

#include <grpcpp/support/status.h>

#include "domain/types.h"

namespace aexd {

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
