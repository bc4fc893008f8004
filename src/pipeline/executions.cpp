#include <google/protobuf/util/time_util.h>

#include "domain/status.h"
#include "pipeline/create_execution.h"
#include "pipeline/resources.h"

namespace aexd::pipeline {

grpc::Status ValidateSessionOrAgent::run(CreateExecutionContext& ctx) const {
  auto& spec = *ctx.resource.mutable_spec();
  if (!spec.session_id().empty()) {
    if (auto s = load(ctx.tx, spec.session_id(), ctx.session); !s.ok()) return s;
    std::optional<AgentInstance> instance;
    if (auto s = load(ctx.tx, ctx.session->spec().agent_instance_id(), instance); !s.ok()) return s;
    const std::string& agent_id = instance->spec().agent_id();
    if (!spec.agent_id().empty() && spec.agent_id() != agent_id)
      return errors::invalid("spec.agent_id",
                             "is " + spec.agent_id() + " but session " + spec.session_id() + " runs agent " + agent_id);
    spec.set_agent_id(agent_id);
    return grpc::Status::OK;
  }
  if (spec.agent_id().empty()) return errors::invalid("spec.session_id", "either session_id or agent_id is required");
  return load(ctx.tx, spec.agent_id(), ctx.agent);
}

grpc::Status CreateDefaultInstanceIfNeeded::run(CreateExecutionContext& ctx) const {
  if (!ctx.agent || !ctx.agent->status().default_instance_id().empty()) return grpc::Status::OK;
  AgentInstance instance;
  if (auto s = create_at(ctx.tx, default_instance_request(*ctx.agent), ctx.now, instance); !s.ok()) return s;
  Agent updated = *ctx.agent;
  updated.mutable_status()->set_default_instance_id(instance.metadata().id());
  record_change(updated, Changed::status, ctx.now);
  if (auto s = ctx.tx.replace(updated, *ctx.agent); !s.ok()) return s;
  ctx.agent = std::move(updated);
  return grpc::Status::OK;
}

grpc::Status CreateSessionIfNeeded::run(CreateExecutionContext& ctx) const {
  if (ctx.session) return grpc::Status::OK;
  Session session;
  if (auto s = create_at(ctx.tx, auto_session_request(*ctx.agent), ctx.now, session); !s.ok()) return s;
  ctx.resource.mutable_spec()->set_session_id(session.metadata().id());
  ctx.session = std::move(session);
  return grpc::Status::OK;
}

grpc::Status store_status(store::Tx& tx, Execution& execution, Phase before, const google::protobuf::Timestamp& now,
                          model::SnapshotPtr& encoded) {
  record_change(execution, Changed::status, now);
  encoded = model::make_snapshot(execution);
  return tx.replace_status(execution, before, encoded);
}

namespace {

// Expired keys deleted per keyed create: more than one, so the table shrinks faster than it grows.
constexpr int kExpiredKeysPerCreate = 8;

int64_t unix_ms(const google::protobuf::Timestamp& at) {
  return google::protobuf::util::TimeUtil::TimestampToMilliseconds(at);
}

/// The execution an earlier create under `idem.key` made, when it still counts: null when the key
/// is free (never used, expired, or its execution deleted since; a free key's row is removed).
grpc::Status find_earlier_create(store::Tx& tx, const Idempotency& idem, int64_t now_ms, model::SnapshotPtr& earlier) {
  std::optional<store::IdempotencyKey> held;
  if (auto s = tx.find_idempotency_key(idem.key, held); !s.ok() || !held) return s;
  if (held->created_ms > now_ms - idem.ttl.count())
    if (auto s = tx.find_snapshot(held->execution_id, earlier); !s.ok()) return s;
  if (!earlier) return tx.remove_idempotency_key(idem.key);
  if (held->fingerprint == idem.fingerprint) return grpc::Status::OK;
  earlier.reset();
  return errors::already_exists("idempotency-key '" + errors::excerpt(idem.key) +
                                "' was used for a different request (execution " + held->execution_id + ")");
}

grpc::Status remember_create(store::Tx& tx, const Idempotency& idem, int64_t now_ms, const std::string& execution_id) {
  if (auto s = tx.remove_idempotency_keys_before(now_ms - idem.ttl.count(), kExpiredKeysPerCreate); !s.ok()) return s;
  // The key's primary key decides: a writer that did not see another process's row gets ALREADY_EXISTS.
  return tx.insert(store::IdempotencyKey{idem.key, idem.fingerprint, execution_id, now_ms});
}

}  // namespace

grpc::Status create_execution(store::Tx& tx, const Execution& request, Execution& out, model::SnapshotPtr* encoded,
                              const Idempotency* idempotency) {
  CreateExecutionContext ctx(tx, request, now());
  const int64_t now_ms = unix_ms(ctx.now);
  if (idempotency) {
    model::SnapshotPtr earlier;
    if (auto s = find_earlier_create(tx, *idempotency, now_ms, earlier); !s.ok()) return s;
    if (earlier) {
      if (!out.ParseFromArray(earlier->view().data(), static_cast<int>(earlier->view().size())))
        return {grpc::StatusCode::INTERNAL, "storage error: a stored execution is unreadable"};
      if (encoded) *encoded = std::move(earlier);
      return grpc::Status::OK;
    }
  }
  if (auto s = CreateExecution::run(ctx); !s.ok()) return s;
  if (idempotency)
    if (auto s = remember_create(tx, *idempotency, now_ms, ctx.resource.metadata().id()); !s.ok()) return s;
  out = std::move(ctx.resource);
  if (encoded) *encoded = std::move(ctx.encoded);
  return grpc::Status::OK;
}

grpc::Status update_status(store::Tx& tx, const exv1::AgentExecutionUpdateStatusInput& input, Execution& out,
                           model::SnapshotPtr* encoded) {
  if (auto s = validate(input); !s.ok()) return s;
  std::optional<Execution> execution;
  if (auto s = load(tx, input.execution_id(), execution); !s.ok()) return s;
  const Phase before = execution->status().phase();
  const auto at = now();
  const auto push = merge_status(*execution->mutable_status(), input.status(), at);
  if (!push.ok()) return push.status();
  model::SnapshotPtr stored;
  if (*push == Push::repeat) {
    // A runner's retry: answered with the stored state, no write and no new revision.
    stored = model::make_snapshot(*execution);
  } else if (auto s = store_status(tx, *execution, before, at, stored); !s.ok()) {
    return s;
  }
  out = std::move(*execution);
  if (encoded) *encoded = std::move(stored);
  return grpc::Status::OK;
}

grpc::Status transition(store::Tx& tx, std::string_view id, Lifecycle op, std::string_view reason, Execution& out) {
  if (id.empty()) return errors::invalid("id", "is required");
  std::optional<Execution> execution;
  if (auto s = load(tx, id, execution); !s.ok()) return s;
  const Phase before = execution->status().phase();
  if (auto s = check_lifecycle(op, before); !s.ok()) return s;
  const LifecycleRule rule = rule_of(op);
  if (before != rule.target) {
    const auto at = now();
    auto& status = *execution->mutable_status();
    if (rule.ends_execution) {
      end_status(status, rule.target, reason, at);
    } else {
      status.set_phase(rule.target);
    }
    model::SnapshotPtr stored;
    if (auto s = store_status(tx, *execution, before, at, stored); !s.ok()) return s;
  }
  out = std::move(*execution);
  return grpc::Status::OK;
}

}  // namespace aexd::pipeline
