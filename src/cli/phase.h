// Execution phases as aexctl reads and shows them: names as typed on the command line, short names
// for tables and the watch view, and the exit status a watch ends with. Pure: any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.pb.h"

namespace aexd::cli {

namespace exv1 = ai::stigmer::agentic::agentexecution::v1;

/// A phase by its enum name or that name without `EXECUTION_`, in any case: `in_progress`,
/// `EXECUTION_IN_PROGRESS`, `Completed`. UNSPECIFIED is not a phase one can ask for: nullopt.
std::optional<exv1::ExecutionPhase> parse_phase(std::string_view name);

/// `IN_PROGRESS` for EXECUTION_IN_PROGRESS; the number for a value this build does not know.
std::string short_name(exv1::ExecutionPhase phase);

/// COMPLETED, FAILED, CANCELLED, TERMINATED.
bool is_terminal(exv1::ExecutionPhase phase);

/// What `aexctl exec watch` exits with (documented in its --help).
namespace exit_code {
constexpr int kOk = 0;             // the command did what was asked; a watch saw COMPLETED
constexpr int kCallFailed = 1;     // a gRPC call failed (stderr: `aexctl: CODE: message`)
constexpr int kUsage = 2;          // bad flags or input (a file that cannot be read, JSON that does not parse)
constexpr int kFailed = 3;         // the watched execution ended FAILED
constexpr int kCancelled = 4;      // ... CANCELLED
constexpr int kTerminated = 5;     // ... TERMINATED
constexpr int kInterrupted = 130;  // a watch on a terminal stopped by Ctrl-C (the shell's 128 + SIGINT)
}  // namespace exit_code

/// The exit status for a watch that saw `phase` last: kOk only for COMPLETED.
int exit_code_for(exv1::ExecutionPhase phase);

}  // namespace aexd::cli
