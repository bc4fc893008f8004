// Fuzz target: updateStatus's merge and settling (domain/status.h) on a stored status and a pushed
// input, each decoded from one part of the input, checked against API.md ("updateStatus", "Settle
// on every terminal transition", "Terminal is final").
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "checks.h"
#include "domain/audit.h"
#include "domain/status.h"
#include "domain/validation.h"

namespace {

using namespace aexd;

bool in_flight(const exv1::ToolCall& call) {
  return call.status() == exv1::TOOL_CALL_PENDING || call.status() == exv1::TOOL_CALL_RUNNING ||
         call.status() == exv1::TOOL_CALL_WAITING_APPROVAL;
}

bool in_flight(const exv1::SubAgentExecution& sub) {
  return sub.status() == exv1::SUB_AGENT_PENDING || sub.status() == exv1::SUB_AGENT_IN_PROGRESS;
}

// `merged` is `expected`, except that on a terminal status every item in flight is settled to the
// upstream FAILED value with the interruption error and a completion time.
template <class Item, class Failed>
void check_items(const google::protobuf::RepeatedPtrField<Item>& merged,
                 const google::protobuf::RepeatedPtrField<Item>& expected, Phase phase, Failed failed) {
  FUZZ_CHECK(merged.size() == expected.size());
  for (int i = 0; i < merged.size(); ++i) {
    if (!is_terminal(phase) || !in_flight(expected[i])) {
      FUZZ_CHECK(fuzz::same(merged[i], expected[i]));
      continue;
    }
    FUZZ_CHECK(merged[i].status() == failed);
    FUZZ_CHECK(merged[i].error() == "interrupted: execution " + exv1::ExecutionPhase_Name(phase));
    FUZZ_CHECK(!merged[i].completed_at().empty());
    Item settled = merged[i];
    settled.set_status(expected[i].status());
    settled.set_error(expected[i].error());
    settled.set_completed_at(expected[i].completed_at());
    FUZZ_CHECK(fuzz::same(settled, expected[i]));
  }
}

// The merge as API.md states it, checked field by field against the result.
void check_merged(const ExecutionStatus& before, const ExecutionStatus& update, const ExecutionStatus& merged) {
  const Phase to = update.phase();
  Phase phase = before.phase();
  if (to != exv1::EXECUTION_PHASE_UNSPECIFIED && !(phase == exv1::EXECUTION_PAUSED && !is_terminal(to))) phase = to;
  FUZZ_CHECK(merged.phase() == phase);
  const auto& messages = update.messages_size() > 0 ? update.messages() : before.messages();
  FUZZ_CHECK(merged.messages_size() == messages.size());
  for (int i = 0; i < messages.size(); ++i) {
    check_items(merged.messages(i).tool_calls(), messages[i].tool_calls(), phase, exv1::TOOL_CALL_FAILED);
    exv1::AgentMessage rest = merged.messages(i);
    *rest.mutable_tool_calls() = messages[i].tool_calls();
    FUZZ_CHECK(fuzz::same(rest, messages[i]));
  }
  check_items(merged.tool_calls(), update.tool_calls_size() > 0 ? update.tool_calls() : before.tool_calls(), phase,
              exv1::TOOL_CALL_FAILED);
  check_items(merged.sub_agent_executions(),
              update.sub_agent_executions_size() > 0 ? update.sub_agent_executions() : before.sub_agent_executions(),
              phase, exv1::SUB_AGENT_FAILED);
  const auto& todos = update.todos_size() > 0 ? update.todos() : before.todos();
  FUZZ_CHECK(merged.todos().size() == todos.size());
  for (const auto& [key, todo] : todos)
    FUZZ_CHECK(merged.todos().count(key) == 1 && fuzz::same(merged.todos().at(key), todo));
  const auto pick = [](const std::string& pushed, const std::string& stored) {
    return pushed.empty() ? stored : pushed;
  };
  FUZZ_CHECK(merged.error() == pick(update.error(), before.error()));
  FUZZ_CHECK(merged.started_at() == pick(update.started_at(), before.started_at()));
  FUZZ_CHECK(merged.completed_at() == pick(update.completed_at(), before.completed_at()));
  FUZZ_CHECK(merged.callback_token() == pick(update.callback_token(), before.callback_token()));
  FUZZ_CHECK(fuzz::same(merged.audit(), before.audit()));
}

bool validated(const ExecutionStatus& status) {
  exv1::AgentExecutionUpdateStatusInput input;
  input.set_execution_id("aex-fuzz");
  *input.mutable_status() = status;
  return validate(input).ok();
}

google::protobuf::Timestamp at_seconds(int64_t seconds) {
  google::protobuf::Timestamp at;
  at.set_seconds(seconds);
  return at;
}

}  // namespace

// Input: the stored status's length in two bytes (big-endian), the stored status, then the pushed one.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::quiet_protobuf_log(), true);
  (void)quiet;
  if (size < 2) return 0;
  const size_t stored_size = std::min<size_t>(size_t{data[0]} << 8 | data[1], size - 2);
  ExecutionStatus stored, update;
  if (!stored.ParseFromArray(data + 2, static_cast<int>(stored_size))) return 0;
  if (!update.ParseFromArray(data + 2 + stored_size, static_cast<int>(size - 2 - stored_size))) return 0;
  // The server merges only validated pushes into statuses it built from validated pushes.
  if (!validated(stored) || !validated(update)) return 0;

  const ExecutionStatus before = stored;
  const auto at = at_seconds(1'800'000'000);
  const auto push = merge_status(stored, update, at);
  FUZZ_CHECK(fuzz::round_trips(stored));
  FUZZ_CHECK(fuzz::enums_defined(stored));
  if (is_terminal(before.phase())) {
    // Terminal is final: a repeat or FAILED_PRECONDITION, the stored status untouched either way.
    FUZZ_CHECK(push.ok() ? *push == Push::repeat : push.status().error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    FUZZ_CHECK(fuzz::same(stored, before));
    return 0;
  }
  FUZZ_CHECK(push.ok() && *push == Push::merged);
  check_merged(before, update, stored);
  if (!is_terminal(stored.phase())) return 0;

  // The write stamps the status audit with its clock; a runner's retry of the push that ended the
  // execution, later, is then answered with the stored status unchanged.
  stamp_status_updated(*stored.mutable_audit(), at);
  const ExecutionStatus ended = stored;
  const auto retry = merge_status(stored, update, at_seconds(1'800'000'100));
  FUZZ_CHECK(retry.ok() && *retry == Push::repeat);
  FUZZ_CHECK(fuzz::same(stored, ended));
  // Any other phase is refused.
  ExecutionStatus other;
  other.set_phase(stored.phase() == exv1::EXECUTION_FAILED ? exv1::EXECUTION_COMPLETED : exv1::EXECUTION_FAILED);
  const auto moved = merge_status(stored, other, at_seconds(1'800'000'200));
  FUZZ_CHECK(!moved.ok() && moved.status().error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  FUZZ_CHECK(fuzz::same(stored, ended));
  return 0;
}
