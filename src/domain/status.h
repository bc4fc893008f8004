// Rules for an execution's status: terminal phases, the updateStatus merge, and settling
// in-flight work when an execution ends.
#pragma once

#include <grpcpp/support/status.h>

#include "domain/types.h"

namespace aexd {

bool is_terminal(Phase phase);

/// Merges an updateStatus input into `stored` as API.md specifies: lists and todos replace when
/// non-empty, phase when not UNSPECIFIED, scalars when non-empty; the stored audit is kept.
/// FAILED_PRECONDITION (and `stored` untouched) when it would move a terminal execution elsewhere.
grpc::Status merge_status(ExecutionStatus& stored, const ExecutionStatus& update);

/// Marks tool calls still pending/running/awaiting approval as interrupted and sub-agents still
/// pending/in progress as cancelled: a finished execution never shows work in flight.
void settle_unfinished_work(ExecutionStatus& status);

/// The lifecycle RPCs: cancel, terminate, pause, resume.
enum class Lifecycle { cancel, terminate, pause, resume };

struct LifecycleRule {
  Phase target;
  bool ends_execution;  // sets completed_at and error (the reason)
};
LifecycleRule rule_of(Lifecycle op);

/// OK if `op` may move an execution in phase `from` to its target (or it is there already);
/// FAILED_PRECONDITION naming both phases otherwise.
grpc::Status check_lifecycle(Lifecycle op, Phase from);

}  // namespace aexd
