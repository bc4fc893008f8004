// The execution create pipeline: the steps API.md names, in its order, over one context.
// Runs inside a write job (store::Tx).
#pragma once

#include <optional>

#include "pipeline/resource_steps.h"
#include "pipeline/step.h"

namespace aexd::pipeline {

/// Stores `execution`, the stored one with a changed status (it was in phase `before`), as its
/// next revision.
grpc::Status store_status(store::Tx& tx, Execution& execution, Phase before, const google::protobuf::Timestamp& now,
                          model::SnapshotPtr& encoded);

struct CreateExecutionContext : ResourceContext<Execution> {
  using ResourceContext::ResourceContext;
  std::optional<Agent> agent;      // agent mode: the agent to run (may gain a default instance)
  std::optional<Session> session;  // session mode: the session named by the request
};

/// Session mode: the session must exist and fixes spec.agent_id. Agent mode: the agent must exist.
struct ValidateSessionOrAgent {
  static constexpr std::string_view name() { return "ValidateSessionOrAgent"; }
  grpc::Status run(CreateExecutionContext& ctx) const;
};

/// Agent mode: creates "<agent name>-default" and records it on the agent, once per agent.
struct CreateDefaultInstanceIfNeeded {
  static constexpr std::string_view name() { return "CreateDefaultInstanceIfNeeded"; }
  grpc::Status run(CreateExecutionContext& ctx) const;
};

/// Agent mode: creates a session on the agent's default instance and links the execution to it.
struct CreateSessionIfNeeded {
  static constexpr std::string_view name() { return "CreateSessionIfNeeded"; }
  grpc::Status run(CreateExecutionContext& ctx) const;
};

struct SetInitialPhase {
  static constexpr std::string_view name() { return "SetInitialPhase"; }
  grpc::Status run(CreateExecutionContext& ctx) const {
    ctx.resource.mutable_status()->set_phase(exv1::EXECUTION_PENDING);
    return grpc::Status::OK;
  }
};

using CreateExecution =
    Pipeline<CreateExecutionContext, ValidateFieldConstraints, ValidateSessionOrAgent, ResolveSlug, BuildNewState,
             CreateDefaultInstanceIfNeeded, CreateSessionIfNeeded, SetInitialPhase, Persist>;

}  // namespace aexd::pipeline
