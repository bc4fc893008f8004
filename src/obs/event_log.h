// What aexd logs of its work: CallLog, one debug line per finished call (a CallObserver; thread-safe,
// called on gRPC and executor threads), and LifecycleLog, one info line per lifecycle event of an
// execution (a CommitListener; called on the storage's writer, one commit at a time).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "api/calls.h"
#include "model/commit_listener.h"

namespace aexd::obs {

class CallLog final : public api::CallObserver {
 public:
  bool wants_details() const override { return true; }
  void stream_started(const api::Method&) override {}
  void ended(const api::CallRecord& call) override;
};

/// Logs an execution's creation, its start (PENDING → IN_PROGRESS), other phase changes, its end with
/// its terminal phase, and its deletion. It remembers the phase of each unfinished execution it has
/// seen change; an execution first seen after a restart logs from its next phase change on.
class LifecycleLog final : public model::CommitListener {
 public:
  void committed(const std::vector<model::ExecutionChange>& changes) override;

 private:
  std::unordered_map<std::string, Phase> phases_;  // writer-bound
};

/// Tells both observers of every call; for wiring metrics and logs at once. Thread-safe as they are.
class CallFanout final : public api::CallObserver {
 public:
  CallFanout(api::CallObserver& first, api::CallObserver& second)
      : first_(first), second_(second), details_(first.wants_details() || second.wants_details()) {}
  bool wants_details() const override { return details_; }
  void stream_started(const api::Method& method) override {
    first_.stream_started(method);
    second_.stream_started(method);
  }
  void ended(const api::CallRecord& call) override {
    first_.ended(call);
    second_.ended(call);
  }

 private:
  api::CallObserver& first_;
  api::CallObserver& second_;
  const bool details_;
};

}  // namespace aexd::obs
