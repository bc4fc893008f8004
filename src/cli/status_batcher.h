// StatusBatcher builds the updateStatus pushes of one running execution from its output lines and
// decides when one is due: at most one per interval, each carrying the whole status so far (phase,
// started_at, every message), because upstream runners resend the whole status and updateStatus
// replaces `messages` with what a push carries. Pure: the caller passes the clock and sends the
// pushes. Not thread-safe: the execution's own thread uses it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.pb.h"

namespace aexd::cli {

namespace exv1 = ai::stigmer::agentic::agentexecution::v1;

/// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD: protobuf
/// strings must be valid UTF-8, and the server would reject a push carrying a command's raw bytes.
std::string valid_utf8(std::string_view text);

class StatusBatcher {
 public:
  using Clock = std::chrono::steady_clock;

  /// The first push (IN_PROGRESS with `started_at`, no messages yet) is due at once. Pushes come
  /// at most every `interval`, and at least every `heartbeat`: a push renews the runner's lease, so
  /// a command that prints nothing for a while must not cost it its execution.
  StatusBatcher(std::string started_at, Clock::duration interval, Clock::duration heartbeat);

  /// Appends a MESSAGE_AI message with `line` as its content, read at `timestamp` (RFC 3339).
  void add_line(std::string_view line, std::string timestamp);

  /// When the next push is due: the next batch of lines, or the heartbeat.
  Clock::time_point due() const;
  /// The whole status, if a push is due at `now`; it then counts as pushed at `now`.
  std::optional<exv1::AgentExecutionStatus> take(Clock::time_point now);
  /// The push from take() did not go through: push again, but not before `at`.
  void retry_at(Clock::time_point at);

  /// The last push: every message, `phase`, `error` (if any) and `completed_at`.
  exv1::AgentExecutionStatus final_status(exv1::ExecutionPhase phase, std::string_view error,
                                          std::string completed_at) const;

 private:
  exv1::AgentExecutionStatus status_;
  Clock::duration interval_;
  Clock::duration heartbeat_;
  Clock::time_point not_before_{};  // the clock's epoch: the first push is due at once
  bool unpushed_ = true;
};

}  // namespace aexd::cli
