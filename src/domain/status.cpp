#include "domain/status.h"

#include "domain/errors.h"

namespace aexd {

bool is_terminal(Phase phase) {
  return phase == exv1::EXECUTION_COMPLETED || phase == exv1::EXECUTION_FAILED || phase == exv1::EXECUTION_CANCELLED ||
         phase == exv1::EXECUTION_TERMINATED;
}

grpc::Status merge_status(ExecutionStatus& stored, const ExecutionStatus& update) {
  const Phase from = stored.phase(), to = update.phase();
  if (to != exv1::EXECUTION_PHASE_UNSPECIFIED && to != from && is_terminal(from))
    return errors::failed_precondition("execution is " + exv1::ExecutionPhase_Name(from) +
                                       ", a terminal phase; it cannot move to " + exv1::ExecutionPhase_Name(to));
  if (update.messages_size() > 0) *stored.mutable_messages() = update.messages();
  if (update.tool_calls_size() > 0) *stored.mutable_tool_calls() = update.tool_calls();
  if (update.sub_agent_executions_size() > 0) *stored.mutable_sub_agent_executions() = update.sub_agent_executions();
  if (update.todos_size() > 0) *stored.mutable_todos() = update.todos();
  if (to != exv1::EXECUTION_PHASE_UNSPECIFIED) stored.set_phase(to);
  if (!update.error().empty()) stored.set_error(update.error());
  if (!update.started_at().empty()) stored.set_started_at(update.started_at());
  if (!update.completed_at().empty()) stored.set_completed_at(update.completed_at());
  if (!update.callback_token().empty()) stored.set_callback_token(update.callback_token());
  if (is_terminal(stored.phase())) settle_unfinished_work(stored);
  return grpc::Status::OK;
}

void settle_unfinished_work(ExecutionStatus& status) {
  for (auto& call : *status.mutable_tool_calls()) {
    const auto s = call.status();
    if (s == exv1::TOOL_CALL_PENDING || s == exv1::TOOL_CALL_RUNNING || s == exv1::TOOL_CALL_WAITING_APPROVAL)
      call.set_status(exv1::TOOL_CALL_INTERRUPTED);
  }
  for (auto& sub : *status.mutable_sub_agent_executions()) {
    const auto s = sub.status();
    if (s == exv1::SUB_AGENT_PENDING || s == exv1::SUB_AGENT_IN_PROGRESS) sub.set_status(exv1::SUB_AGENT_CANCELLED);
  }
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
