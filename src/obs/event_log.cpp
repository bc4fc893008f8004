#include "obs/event_log.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "obs/call_metrics.h"
#include "obs/log.h"

namespace aexd::obs {
namespace {

std::string_view phase_name(Phase phase) {
  const std::string& name = exv1::ExecutionPhase_Name(phase);
  return name.empty() ? std::string_view("UNKNOWN") : std::string_view(name);
}

}  // namespace

void CallLog::ended(const api::CallRecord& call) {
  if (!spdlog::default_logger_raw()->should_log(LogLevel::debug)) return;
  std::string method;
  method.reserve(call.method.service.size() + 1 + call.method.name.size());
  method.append(call.method.service).append("/").append(call.method.name);
  char ms[32];
  const double elapsed_ms = std::chrono::duration<double, std::milli>(call.elapsed).count();
  const auto printed = std::to_chars(ms, ms + sizeof ms, elapsed_ms, std::chars_format::fixed, 3);
  const std::string_view duration(ms, printed.ec == std::errc() ? static_cast<size_t>(printed.ptr - ms) : 0);
  if (call.id.empty()) {
    log(LogLevel::debug, "call",
        {{"method", method},
         {"code", code_name(call.status.error_code())},
         {"duration_ms", duration, true},
         {"peer", bounded(call.peer)}});
  } else {
    log(LogLevel::debug, "call",
        {{"method", method},
         {"code", code_name(call.status.error_code())},
         {"duration_ms", duration, true},
         {"peer", bounded(call.peer)},
         {"id", bounded(call.id)}});
  }
}

void LifecycleLog::committed(const std::vector<model::ExecutionChange>& changes) {
  if (!spdlog::default_logger_raw()->should_log(LogLevel::info)) return;
  for (const auto& change : changes) {
    const std::string_view id = bounded(change.id);
    if (!change.snapshot) {
      phases_.erase(change.id);
      log(LogLevel::info, "execution deleted", {{"id", id}});
      continue;
    }
    const Phase phase = change.snapshot->phase;
    const auto known = phases_.find(change.id);
    if (change.snapshot->revision == 1) {
      log(LogLevel::info, "execution created", {{"id", id}, {"phase", phase_name(phase)}});
    } else if (change.snapshot->terminal) {
      log(LogLevel::info, "execution ended", {{"id", id}, {"phase", phase_name(phase)}});
    } else if (known != phases_.end() && known->second != phase) {
      const bool started = known->second == exv1::EXECUTION_PENDING && phase == exv1::EXECUTION_IN_PROGRESS;
      log(LogLevel::info, started ? "execution started" : "execution phase changed",
          {{"id", id}, {"from", phase_name(known->second)}, {"phase", phase_name(phase)}});
    }
    if (change.snapshot->terminal) {
      if (known != phases_.end()) phases_.erase(known);
    } else if (known != phases_.end()) {
      known->second = phase;
    } else {
      phases_.emplace(change.id, phase);
    }
  }
}

}  // namespace aexd::obs
