// WatchView turns the snapshots of one execution's subscribe stream into the lines `aexctl exec
// watch` prints: subscribe resends the whole execution on every change, the view prints only what
// is new since the last snapshot (messages, tool calls and their status, the phase) and knows the
// exit status. Pure, no I/O: the caller writes the lines. Not thread-safe: one thread feeds it.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.pb.h"
#include "cli/phase.h"

namespace aexd::cli {

class WatchView {
 public:
  /// `colour`: ANSI colours for a terminal; plain text otherwise.
  explicit WatchView(bool colour) : colour_(colour) {}

  /// The lines (without '\n') `snapshot` adds to what earlier ones printed: a header first, then
  /// each message not printed yet, each tool call that is new or changed status, and the phase
  /// when it changed.
  std::vector<std::string> update(const exv1::AgentExecution& snapshot);

  /// The progress line a terminal shows below the output while the execution runs: a spinner
  /// frame (`tick` counts up), the phase and the time watched.
  std::string progress(unsigned tick, std::chrono::seconds watched) const;

  /// The last line once the stream ended OK: the terminal phase (and error), or why the stream
  /// ended without one.
  std::string final_line() const;
  /// What aexctl exits with once the stream ended with `end` (exit_code::kCallFailed when it
  /// failed: the caller reports `end`).
  int exit_code(const grpc::Status& end) const;

  exv1::ExecutionPhase phase() const { return phase_; }
  bool started() const { return seen_; }

 private:
  std::string paint(const std::string& text, const char* sgr) const;
  std::string phase_text(exv1::ExecutionPhase phase) const;
  void add_message(const exv1::AgentMessage& message, std::vector<std::string>& out) const;
  void add_tool_call(const exv1::ToolCall& call, const std::string& key, std::vector<std::string>& out);

  bool colour_;
  bool seen_ = false;
  exv1::ExecutionPhase phase_ = exv1::EXECUTION_PHASE_UNSPECIFIED;
  std::string error_;
  std::vector<std::string> printed_messages_;               // a fingerprint per message printed, in order
  std::map<std::string, exv1::ToolCallStatus> tool_calls_;  // by id (or position), the status printed
};

}  // namespace aexd::cli
