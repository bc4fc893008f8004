#include "cli/phase.h"

#include <algorithm>
#include <cctype>

namespace aexd::cli {

namespace {

constexpr std::string_view kPrefix = "EXECUTION_";

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

}  // namespace

std::optional<exv1::ExecutionPhase> parse_phase(std::string_view name) {
  std::string full = upper(name);
  if (!full.starts_with(kPrefix)) full.insert(0, kPrefix);
  exv1::ExecutionPhase phase{};
  if (!exv1::ExecutionPhase_Parse(full, &phase) || phase == exv1::EXECUTION_PHASE_UNSPECIFIED) return std::nullopt;
  return phase;
}

std::string short_name(exv1::ExecutionPhase phase) {
  const std::string& name = exv1::ExecutionPhase_Name(phase);
  if (name.empty()) return std::to_string(static_cast<int>(phase));
  return name.starts_with(kPrefix) ? name.substr(kPrefix.size()) : name;
}

bool is_terminal(exv1::ExecutionPhase phase) {
  return phase == exv1::EXECUTION_COMPLETED || phase == exv1::EXECUTION_FAILED || phase == exv1::EXECUTION_CANCELLED ||
         phase == exv1::EXECUTION_TERMINATED;
}

int exit_code_for(exv1::ExecutionPhase phase) {
  switch (phase) {
    case exv1::EXECUTION_COMPLETED:
      return exit_code::kOk;
    case exv1::EXECUTION_CANCELLED:
      return exit_code::kCancelled;
    case exv1::EXECUTION_TERMINATED:
      return exit_code::kTerminated;
    default:
      return exit_code::kFailed;  // FAILED, or a stream that ended before a terminal phase
  }
}

}  // namespace aexd::cli
