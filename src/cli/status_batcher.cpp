#include "cli/status_batcher.h"

#include <algorithm>

namespace aexd::cli {

namespace {

/// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 if there is none.
size_t sequence_length(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto continuation = [&](size_t i, unsigned char low = 0x80, unsigned char high = 0xBF) {
    return i < s.size() && byte(i) >= low && byte(i) <= high;
  };
  const unsigned char b = byte(0);
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return continuation(1) ? 2 : 0;
  if (b >= 0xE0 && b <= 0xEF) {
    // No overlong forms (E0 needs A0..), no UTF-16 surrogates (ED needs ..9F).
    const bool second = b == 0xE0 ? continuation(1, 0xA0) : b == 0xED ? continuation(1, 0x80, 0x9F) : continuation(1);
    return second && continuation(2) ? 3 : 0;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    // No overlong forms (F0 needs 90..), nothing above U+10FFFF (F4 needs ..8F).
    const bool second = b == 0xF0 ? continuation(1, 0x90) : b == 0xF4 ? continuation(1, 0x80, 0x8F) : continuation(1);
    return second && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t n = sequence_length(text);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      text.remove_prefix(1);
    } else {
      out.append(text.substr(0, n));
      text.remove_prefix(n);
    }
  }
  return out;
}

StatusBatcher::StatusBatcher(std::string started_at, Clock::duration interval, Clock::duration heartbeat)
    : interval_(interval), heartbeat_(heartbeat) {
  status_.set_phase(exv1::EXECUTION_IN_PROGRESS);
  status_.set_started_at(std::move(started_at));
}

void StatusBatcher::add_line(std::string_view line, std::string timestamp) {
  auto* message = status_.add_messages();
  message->set_type(exv1::MESSAGE_AI);
  message->set_content(valid_utf8(line));
  message->set_timestamp(std::move(timestamp));
  unpushed_ = true;
}

StatusBatcher::Clock::time_point StatusBatcher::due() const {
  // not_before_ is the last push plus `interval`.
  return unpushed_ ? not_before_ : not_before_ - interval_ + heartbeat_;
}

std::optional<exv1::AgentExecutionStatus> StatusBatcher::take(Clock::time_point now) {
  if (now < due()) return std::nullopt;
  unpushed_ = false;
  not_before_ = now + interval_;
  return status_;
}

void StatusBatcher::retry_at(Clock::time_point at) {
  unpushed_ = true;
  not_before_ = std::max(not_before_, at);
}

exv1::AgentExecutionStatus StatusBatcher::final_status(exv1::ExecutionPhase phase, std::string_view error,
                                                       std::string completed_at) const {
  exv1::AgentExecutionStatus out = status_;
  out.set_phase(phase);
  if (!error.empty()) out.set_error(valid_utf8(error));
  out.set_completed_at(std::move(completed_at));
  return out;
}

}  // namespace aexd::cli
