// Idempotent execution create: the key a client sends and what identifies its request.
#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

#include "domain/types.h"

namespace aexd {

/// The request header that names a create's idempotency key.
inline constexpr std::string_view kIdempotencyKeyHeader = "idempotency-key";

/// 1–128 printable ASCII characters, else INVALID_ARGUMENT naming the header.
grpc::Status validate_idempotency_key(std::string_view key);

/// SHA-256 (32 raw bytes) of the request serialized deterministically. Not of the bytes as received:
/// map entries have no fixed wire order (Go's protobuf randomises it), so a client's faithful
/// retry may differ in bytes but never in this.
std::string request_fingerprint(const Execution& request);

}  // namespace aexd
