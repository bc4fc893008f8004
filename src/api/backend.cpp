#include "api/backend.h"

namespace aexd::api {

grpc::Status Admission::enter() {
  if (closed_.load()) return {grpc::StatusCode::UNAVAILABLE, "server is shutting down"};
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= max_) {
    leave();
    return {grpc::StatusCode::RESOURCE_EXHAUSTED, "too many calls in flight; retry later"};
  }
  return grpc::Status::OK;
}

}  // namespace aexd::api
