// Builders for the gRPC statuses promised by the wire contract, so messages read the same everywhere.
#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

namespace aexd::errors {

/// Client text as a status message or a log line may carry it: at most 64 bytes, cut at a UTF-8
/// character boundary, "…" marking the cut. A reply's metadata must stay small whatever was sent.
inline std::string excerpt(std::string_view client_text) {
  constexpr size_t kMaxBytes = 64;
  if (client_text.size() <= kMaxBytes) return std::string(client_text);
  size_t cut = kMaxBytes;
  while (cut > 0 && (static_cast<unsigned char>(client_text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(client_text.substr(0, cut)) + "…";
}

/// INVALID_ARGUMENT naming the offending field path: "spec.message: must not be empty".
inline grpc::Status invalid(std::string_view field, std::string_view why) {
  return {grpc::StatusCode::INVALID_ARGUMENT, std::string(field) + ": " + std::string(why)};
}

/// NOT_FOUND naming the kind and (an excerpt of) the id: "AgentExecution aex-… not found".
inline grpc::Status not_found(std::string_view kind, std::string_view id) {
  return {grpc::StatusCode::NOT_FOUND, std::string(kind) + " " + excerpt(id) + " not found"};
}

inline grpc::Status already_exists(std::string message) {
  return {grpc::StatusCode::ALREADY_EXISTS, std::move(message)};
}

inline grpc::Status failed_precondition(std::string message) {
  return {grpc::StatusCode::FAILED_PRECONDITION, std::move(message)};
}

inline grpc::Status aborted(std::string message) { return {grpc::StatusCode::ABORTED, std::move(message)}; }

}  // namespace aexd::errors
