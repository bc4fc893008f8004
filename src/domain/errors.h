// Builders for the gRPC statuses promised by the wire contract, so messages read the same everywhere.
#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

namespace aexd::errors {

/// INVALID_ARGUMENT naming the offending field path: "spec.message: must not be empty".
inline grpc::Status invalid(std::string_view field, std::string_view why) {
  return {grpc::StatusCode::INVALID_ARGUMENT, std::string(field) + ": " + std::string(why)};
}

/// NOT_FOUND naming the kind and id: "AgentExecution aex-… not found".
inline grpc::Status not_found(std::string_view kind, std::string_view id) {
  return {grpc::StatusCode::NOT_FOUND, std::string(kind) + " " + std::string(id) + " not found"};
}

inline grpc::Status already_exists(std::string message) {
  return {grpc::StatusCode::ALREADY_EXISTS, std::move(message)};
}

inline grpc::Status failed_precondition(std::string message) {
  return {grpc::StatusCode::FAILED_PRECONDITION, std::move(message)};
}

inline grpc::Status aborted(std::string message) { return {grpc::StatusCode::ABORTED, std::move(message)}; }

}  // namespace aexd::errors
