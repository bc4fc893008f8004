#include "cli/watch_view.h"

#include <sstream>

namespace aexd::cli {

namespace {

const char* const kBold = "1";
const char* const kDim = "2";
const char* const kRed = "31";
const char* const kGreen = "32";
const char* const kYellow = "33";
const char* const kCyan = "36";

std::string fingerprint(const exv1::AgentMessage& m) {
  return std::to_string(m.type()) + '\0' + m.timestamp() + '\0' + m.content();
}

std::string label(exv1::MessageType type) {
  switch (type) {
    case exv1::MESSAGE_HUMAN:
      return "human";
    case exv1::MESSAGE_AI:
      return "ai";
    case exv1::MESSAGE_TOOL:
      return "tool";
    case exv1::MESSAGE_SYSTEM:
      return "system";
    case exv1::MESSAGE_THINKING:
      return "thinking";
    default:
      return "message";
  }
}

std::string tool_status_name(exv1::ToolCallStatus status) {
  const std::string& name = exv1::ToolCallStatus_Name(status);
  if (name.empty()) return std::to_string(static_cast<int>(status));
  return name.starts_with("TOOL_CALL_") ? name.substr(10) : name;
}

}  // namespace

std::string WatchView::paint(const std::string& text, const char* sgr) const {
  return colour_ ? "\033[" + std::string(sgr) + "m" + text + "\033[0m" : text;
}

std::string WatchView::phase_text(exv1::ExecutionPhase phase) const {
  const char* colour = kCyan;
  if (phase == exv1::EXECUTION_COMPLETED) colour = kGreen;
  if (is_terminal(phase) && phase != exv1::EXECUTION_COMPLETED) colour = kRed;
  if (phase == exv1::EXECUTION_PAUSED || phase == exv1::EXECUTION_WAITING_FOR_APPROVAL) colour = kYellow;
  return paint(short_name(phase), colour);
}

void WatchView::add_message(const exv1::AgentMessage& message, std::vector<std::string>& out) const {
  // Continuation lines are indented, so a message's lines read as one.
  std::istringstream lines(message.content());
  std::string line;
  const std::string head = paint(label(message.type()) + ":", message.type() == exv1::MESSAGE_THINKING ? kDim : kBold);
  bool first = true;
  while (std::getline(lines, line)) {
    out.push_back(first ? head + " " + line : "  " + line);
    first = false;
  }
  if (first) out.push_back(head);  // empty content
}

void WatchView::add_tool_call(const exv1::ToolCall& call, const std::string& key, std::vector<std::string>& out) {
  const auto [it, inserted] = tool_calls_.try_emplace(key, call.status());
  if (!inserted && it->second == call.status()) return;
  it->second = call.status();
  std::string line = "  tool " + (call.name().empty() ? key : call.name()) + ": " + tool_status_name(call.status());
  if (!call.error().empty()) line += " (" + call.error() + ")";
  out.push_back(paint(line, kDim));
}

std::vector<std::string> WatchView::update(const exv1::AgentExecution& snapshot) {
  std::vector<std::string> out;
  const auto& status = snapshot.status();
  if (!seen_) {
    std::string header = "execution " + snapshot.metadata().id();
    if (!snapshot.spec().agent_id().empty()) header += " (agent " + snapshot.spec().agent_id() + ")";
    out.push_back(paint(header, kBold));
    seen_ = true;
  }

  // Messages are printed in order; the first one that differs from what was printed at its
  // position (a runner may replace the list) and every one after it are new.
  size_t same = 0;
  while (same < printed_messages_.size() && same < static_cast<size_t>(status.messages_size()) &&
         printed_messages_[same] == fingerprint(status.messages(static_cast<int>(same)))) {
    ++same;
  }
  printed_messages_.resize(same);
  for (int i = 0; i < status.messages_size(); ++i) {
    const auto& message = status.messages(i);
    if (static_cast<size_t>(i) >= same) {
      add_message(message, out);
      printed_messages_.push_back(fingerprint(message));
    }
    for (int t = 0; t < message.tool_calls_size(); ++t) {
      const auto& call = message.tool_calls(t);
      add_tool_call(call, call.id().empty() ? "m" + std::to_string(i) + "." + std::to_string(t) : call.id(), out);
    }
  }
  for (int t = 0; t < status.tool_calls_size(); ++t) {
    const auto& call = status.tool_calls(t);
    add_tool_call(call, call.id().empty() ? "t" + std::to_string(t) : call.id(), out);
  }

  if (status.phase() != phase_) {
    phase_ = status.phase();
    out.push_back("phase " + phase_text(phase_));
  }
  error_ = status.error();
  return out;
}

std::string WatchView::progress(unsigned tick, std::chrono::seconds watched) const {
  static const char kFrames[] = {'|', '/', '-', '\\'};
  return paint(std::string(1, kFrames[tick % 4]), kCyan) + " " + phase_text(phase_) + "  " +
         std::to_string(watched.count()) + "s";
}

std::string WatchView::final_line() const {
  if (!is_terminal(phase_)) return "stream ended in phase " + phase_text(phase_);
  std::string line = phase_text(phase_);
  if (!error_.empty()) line += ": " + error_;
  return line;
}

int WatchView::exit_code(const grpc::Status& end) const {
  return end.ok() ? exit_code_for(phase_) : exit_code::kCallFailed;
}

}  // namespace aexd::cli
