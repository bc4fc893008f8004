// The benchmark floor: a unary handler that does nothing, exposed only with --bench-noop.
#pragma once

#include "aexd/bench/v1/noop.grpc.pb.h"

namespace aexd::api {

class NoopService final : public ::aexd::bench::v1::Noop::CallbackService {
  grpc::ServerUnaryReactor* call(grpc::CallbackServerContext* ctx,
                                 const ai::stigmer::agentic::agentexecution::v1::AgentExecutionId*,
                                 ai::stigmer::agentic::agentexecution::v1::AgentExecution*) override {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace aexd::api
