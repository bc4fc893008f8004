// Rules for an execution's status: terminal phases, the updateStatus merge, and settling
// in-flight work when an execution ends.
#pragma once

#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/support/status.h>

#include <string_view>

#include "domain/result.h"
#include "domain/types.h"

namespace aexd {

bool is_terminal(Phase phase);
/// A person decides while an execution waits for approval or is paused: no lease or stall clock runs.
bool clocks_stopped(Phase phase);

/// What an accepted updateStatus push does: a change to store, or a runner's retry of the push that
/// ended the execution, which stores nothing.
enum class Push { merged, repeat };

/// Merges an updateStatus input into `stored` as API.md specifies, at the write's clock `at`: lists
/// and todos replace when non-empty, phase when not UNSPECIFIED (but PAUSED holds against a
/// non-terminal phase), scalars when non-empty; the stored audit is kept; entering a terminal phase
/// settles unfinished work. A terminal `stored` is final: an exact repeat is Push::repeat, anything
/// else FAILED_PRECONDITION; in both cases `stored` is untouched.
Result<Push> merge_status(ExecutionStatus& stored, const ExecutionStatus& update,
                          const google::protobuf::Timestamp& at);

/// The execution entered terminal phase `ended_by` at `at`: tool calls still pending/running/awaiting
/// approval (top level and in every message) become TOOL_CALL_FAILED, sub-agents still pending/in
/// progress SUB_AGENT_FAILED, each with error "interrupted: execution <phase>" and completed_at `at`.
/// Upstream values only, so that upstream clients can name every value they read.
void settle_unfinished_work(ExecutionStatus& status, Phase ended_by, const google::protobuf::Timestamp& at);

/// Ends the execution in terminal `phase` at `at`: completed_at, `error` when not empty, and its
/// unfinished work settled.
void end_status(ExecutionStatus& status, Phase phase, std::string_view error, const google::protobuf::Timestamp& at);

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
