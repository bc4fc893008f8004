// What went wrong on threads other than the test's own. doctest's assertions belong to the test
// thread (a REQUIRE on a worker or a gRPC callback thread terminates the run instead of reporting
// it), so those threads record failures here and the test checks them after joining.
#pragma once

#include <grpcpp/support/status.h>

#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace aexd::test {

class ThreadFailures {
 public:
  void add(std::string what) {
    std::lock_guard lock(mutex_);
    failures_.push_back(std::move(what));
  }
  /// True if `status` is OK; otherwise records what failed, with the status, and returns false.
  bool ok(const grpc::Status& status, const std::string& what) {
    if (status.ok()) return true;
    std::ostringstream out;
    out << what << ": code " << status.error_code() << ": " << status.error_message();
    add(out.str());
    return false;
  }

  bool empty() const {
    std::lock_guard lock(mutex_);
    return failures_.empty();
  }
  /// Every recorded failure, one a line, for an assertion's message.
  std::string report() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& f : failures_) out += f + "\n";
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
};

}  // namespace aexd::test
