#include "domain/status.h"

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include <string>

#include "domain/errors.h"

namespace aexd {

bool is_terminal(Phase phase) {
  return phase == exv1::EXECUTION_COMPLETED || phase == exv1::EXECUTION_FAILED || phase == exv1::EXECUTION_CANCELLED ||
         phase == exv1::EXECUTION_TERMINATED;
}

bool clocks_stopped(Phase phase) {
  return phase == exv1::EXECUTION_PAUSED || phase == exv1::EXECUTION_WAITING_FOR_APPROVAL;
}

namespace {

void settle_tool_calls(google::protobuf::RepeatedPtrField<exv1::ToolCall>& calls, const std::string& error,
                       const std::string& at) {
  for (auto& call : calls) {
    const auto s = call.status();
    if (s != exv1::TOOL_CALL_PENDING && s != exv1::TOOL_CALL_RUNNING && s != exv1::TOOL_CALL_WAITING_APPROVAL) continue;
    call.set_status(exv1::TOOL_CALL_FAILED);
    call.set_error(error);
    call.set_completed_at(at);
  }
}

// Equal field by field, where a NaN (a runner may send one as a tool call's argument) equals itself:
// otherwise a final push carrying one would never count as its own repeat.
bool same_status(const ExecutionStatus& a, const ExecutionStatus& b) {
  google::protobuf::util::DefaultFieldComparator numbers;
  numbers.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&numbers);
  return differencer.Compare(a, b);
}

/// The merge of API.md, then settling if the result is terminal.
void apply_push(ExecutionStatus& stored, const ExecutionStatus& update, const google::protobuf::Timestamp& at) {
  const Phase to = update.phase();
  if (update.messages_size() > 0) *stored.mutable_messages() = update.messages();
  if (update.tool_calls_size() > 0) *stored.mutable_tool_calls() = update.tool_calls();
  if (update.sub_agent_executions_size() > 0) *stored.mutable_sub_agent_executions() = update.sub_agent_executions();
  if (update.todos_size() > 0) *stored.mutable_todos() = update.todos();
  // Pause is sticky: an upstream runner keeps pushing IN_PROGRESS while it finishes its current step.
  const bool held = stored.phase() == exv1::EXECUTION_PAUSED && !is_terminal(to);
  if (to != exv1::EXECUTION_PHASE_UNSPECIFIED && !held) stored.set_phase(to);
  if (!update.error().empty()) stored.set_error(update.error());
  if (!update.started_at().empty()) stored.set_started_at(update.started_at());
  if (!update.completed_at().empty()) stored.set_completed_at(update.completed_at());
  if (!update.callback_token().empty()) stored.set_callback_token(update.callback_token());
  if (is_terminal(stored.phase())) settle_unfinished_work(stored, stored.phase(), at);
}

}  // namespace

Result<Push> merge_status(ExecutionStatus& stored, const ExecutionStatus& update,
                          const google::protobuf::Timestamp& at) {
  if (!is_terminal(stored.phase())) {
    apply_push(stored, update, at);
    return Push::merged;
  }
  // Terminal is final, but a runner whose reply was lost retries the push that ended the execution.
  // That push is not stored as such, so a repeat is recognised by its effect: replayed at the clock of
  // the write that ended the execution (the status audit's updated_at, which no later write moves),
  // it yields exactly the stored status. The replay settles the retried in-flight work to the same
  // error and completed_at as the first time, so a settled final push still counts. A push that
  // changes nothing (an empty one, or a part of the final push) is answered the same way.
  ExecutionStatus replay = stored;
  apply_push(replay, update, stored.audit().status_audit().updated_at());
  if (same_status(replay, stored)) return Push::repeat;
  const Phase from = stored.phase(), to = update.phase();
  return errors::failed_precondition("execution is " + exv1::ExecutionPhase_Name(from) + ", a terminal phase; " +
                                     (to != exv1::EXECUTION_PHASE_UNSPECIFIED && to != from
                                          ? "it cannot move to " + exv1::ExecutionPhase_Name(to)
                                          : std::string("its status only takes a repeat of the push that ended it")));
}

void settle_unfinished_work(ExecutionStatus& status, Phase ended_by, const google::protobuf::Timestamp& at) {
  const std::string error = "interrupted: execution " + exv1::ExecutionPhase_Name(ended_by);
  const std::string when = google::protobuf::util::TimeUtil::ToString(at);
  settle_tool_calls(*status.mutable_tool_calls(), error, when);
  for (auto& message : *status.mutable_messages()) settle_tool_calls(*message.mutable_tool_calls(), error, when);
  for (auto& sub : *status.mutable_sub_agent_executions()) {
    const auto s = sub.status();
    if (s != exv1::SUB_AGENT_PENDING && s != exv1::SUB_AGENT_IN_PROGRESS) continue;
    sub.set_status(exv1::SUB_AGENT_FAILED);
    sub.set_error(error);
    sub.set_completed_at(when);
  }
}

void end_status(ExecutionStatus& status, Phase phase, std::string_view error, const google::protobuf::Timestamp& at) {
  status.set_phase(phase);
  status.set_completed_at(google::protobuf::util::TimeUtil::ToString(at));
  if (!error.empty()) status.set_error(std::string(error));
  settle_unfinished_work(status, phase, at);
}

LifecycleRule rule_of(Lifecycle op) {
  switch (op) {
    case Lifecycle::cancel:
      return {exv1::EXECUTION_CANCELLED, true};
    case Lifecycle::terminate:
      return {exv1::EXECUTION_TERMINATED, true};
    case Lifecycle::pause:
      return {exv1::EXECUTION_PAUSED, false};
    case Lifecycle::resume:
      break;
  }
  return {exv1::EXECUTION_IN_PROGRESS, false};
}

grpc::Status check_lifecycle(Lifecycle op, Phase from) {
  const Phase to = rule_of(op).target;
  bool allowed = from == to;
  switch (op) {
    case Lifecycle::cancel:
      allowed |= from == exv1::EXECUTION_PENDING || from == exv1::EXECUTION_IN_PROGRESS ||
                 from == exv1::EXECUTION_PAUSED || from == exv1::EXECUTION_WAITING_FOR_APPROVAL;
      break;
    case Lifecycle::terminate:
      allowed |= !is_terminal(from);
      break;
    case Lifecycle::pause:
      allowed |= from == exv1::EXECUTION_PENDING || from == exv1::EXECUTION_IN_PROGRESS;
      break;
    case Lifecycle::resume:
      allowed |= from == exv1::EXECUTION_PAUSED;
      break;
  }
  if (allowed) return grpc::Status::OK;
  return errors::failed_precondition("execution is " + exv1::ExecutionPhase_Name(from) + "; it cannot move to " +
                                     exv1::ExecutionPhase_Name(to));
}

}  // namespace aexd
