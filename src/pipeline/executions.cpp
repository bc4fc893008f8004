#include "pipeline/create_execution.h"

#include <google/protobuf/util/time_util.h>

#include "domain/status.h"
#include "pipeline/resources.h"

namespace aexd::pipeline {

grpc::Status ValidateSessionOrAgent::run(CreateExecutionContext& ctx) const {
  auto& spec = *ctx.resource.mutable_spec();
  if (!spec.session_id().empty()) {
    ctx.session = store::load<Session>(ctx.tx.db, spec.session_id());
    if (!ctx.session) return errors::not_found("Session", spec.session_id());
    const std::string& instance_id = ctx.session->spec().agent_instance_id();
    auto instance = store::load<AgentInstance>(ctx.tx.db, instance_id);
    if (!instance) return errors::not_found("AgentInstance", instance_id);
    const std::string& agent_id = instance->spec().agent_id();
    if (!spec.agent_id().empty() && spec.agent_id() != agent_id)
      return errors::invalid("spec.agent_id", "is " + spec.agent_id() + " but session " + spec.session_id() +
                                                  " runs agent " + agent_id);
    spec.set_agent_id(agent_id);
    return grpc::Status::OK;
  }
  if (spec.agent_id().empty()) return errors::invalid("spec.session_id", "either session_id or agent_id is required");
  ctx.agent = store::load<Agent>(ctx.tx.db, spec.agent_id());
  return ctx.agent ? grpc::Status::OK : errors::not_found("Agent", spec.agent_id());
}

grpc::Status CreateDefaultInstanceIfNeeded::run(CreateExecutionContext& ctx) const {
  if (!ctx.agent || !ctx.agent->status().default_instance_id().empty()) return grpc::Status::OK;
  const auto& agent = *ctx.agent;
  AgentInstance request;
  auto& m = *request.mutable_metadata();
  m.set_name(agent.metadata().name() + "-default");
  m.set_owner_scope(agent.metadata().owner_scope());
  m.set_org(agent.metadata().org());
  request.mutable_spec()->set_agent_id(agent.metadata().id());
  request.mutable_spec()->set_description("Default instance (auto-created, no custom configuration)");
  AgentInstance instance;
  if (auto s = create(ctx.tx, request, instance); !s.ok()) return s;

  Agent updated = agent;
  updated.mutable_status()->set_default_instance_id(instance.metadata().id());
  stamp_status_updated(*updated.mutable_status()->mutable_audit(), ctx.now);
  set_revision(*updated.mutable_metadata(), revision_of(agent.metadata()) + 1);
  store::replace(ctx.tx.db, updated, agent);
  ctx.agent = std::move(updated);
  return grpc::Status::OK;
}

grpc::Status CreateSessionIfNeeded::run(CreateExecutionContext& ctx) const {
  if (ctx.session) return grpc::Status::OK;
  const auto& agent = ctx.agent->metadata();
  Session request;
  auto& m = *request.mutable_metadata();
  if (agent.owner_scope() == res::organization) {
    m.set_owner_scope(res::organization);
    m.set_org(agent.org());
  } else {
    m.set_owner_scope(res::identity_account);
  }
  request.mutable_spec()->set_agent_instance_id(ctx.agent->status().default_instance_id());
  request.mutable_spec()->set_subject("Auto-created session");
  Session session;
  if (auto s = create(ctx.tx, request, session); !s.ok()) return s;
  ctx.resource.mutable_spec()->set_session_id(session.metadata().id());
  ctx.session = std::move(session);
  return grpc::Status::OK;
}

grpc::Status create_execution(store::WriteTx& tx, const Execution& request, Execution& out,
                              const PersistFault* fault) {
  CreateExecutionContext ctx(tx, request);
  ctx.persist_fault = fault;
  auto status = CreateExecution::run(ctx);
  if (status.ok()) out = std::move(ctx.resource);
  return status;
}

namespace {

/// Stores `execution`, the stored one with a changed status (it was in phase `before`), as its
/// next revision and announces it.
void commit_status(store::WriteTx& tx, Execution& execution, Phase before) {
  stamp_status_updated(*execution.mutable_status()->mutable_audit(), now());
  set_revision(*execution.mutable_metadata(), revision_of(execution.metadata()) + 1);
  store::replace_status(tx.db, execution, before, tx.changed(execution));
}

}  // namespace

grpc::Status update_status(store::WriteTx& tx, const exv1::AgentExecutionUpdateStatusInput& input,
                           Execution& out) {
  if (auto s = validate(input); !s.ok()) return s;
  auto stored = store::load<Execution>(tx.db, input.execution_id());
  if (!stored) return errors::not_found("AgentExecution", input.execution_id());
  out = std::move(*stored);
  const Phase before = out.status().phase();
  if (auto s = merge_status(*out.mutable_status(), input.status()); !s.ok()) return s;
  commit_status(tx, out, before);
  return grpc::Status::OK;
}

grpc::Status transition(store::WriteTx& tx, std::string_view id, Lifecycle op, std::string_view reason,
                        Execution& out) {
  if (id.empty()) return errors::invalid("id", "is required");
  auto stored = store::load<Execution>(tx.db, id);
  if (!stored) return errors::not_found("AgentExecution", id);
  if (auto s = check_lifecycle(op, stored->status().phase()); !s.ok()) return s;
  const LifecycleRule rule = rule_of(op);
  if (stored->status().phase() == rule.target) {
    out = std::move(*stored);
    return grpc::Status::OK;
  }
  out = std::move(*stored);
  const Phase before = out.status().phase();
  auto& status = *out.mutable_status();
  status.set_phase(rule.target);
  if (rule.ends_execution) {
    status.set_completed_at(google::protobuf::util::TimeUtil::ToString(now()));
    if (!reason.empty()) status.set_error(std::string(reason));
    settle_unfinished_work(status);
  }
  commit_status(tx, out, before);
  return grpc::Status::OK;
}

}  // namespace aexd::pipeline
