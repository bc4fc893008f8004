// Result<T>: a value or the grpc::Status that explains why there is none.
#pragma once

#include <grpcpp/support/status.h>

#include <optional>
#include <utility>

namespace aexd {

template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}                // NOLINT: implicit by design
  Result(grpc::Status status) : status_(std::move(status)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  const grpc::Status& status() const { return status_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  grpc::Status status_;
};

}  // namespace aexd
