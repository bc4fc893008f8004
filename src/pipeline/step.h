// The step framework: a pipeline is a list of small named step types run in order over one
// context, stopping at the first step that does not return OK.
#pragma once

#include <grpcpp/support/status.h>

#include <array>
#include <concepts>
#include <string_view>

namespace aexd::pipeline {

template <class S, class Context>
concept Step = requires(const S step, Context& ctx) {
  { S::name() } -> std::convertible_to<std::string_view>;
  { step.run(ctx) } -> std::same_as<grpc::Status>;
};

template <class Context, class... Steps>
requires(Step<Steps, Context>&&...) struct Pipeline {
  static grpc::Status run(Context& ctx) {
    grpc::Status status;
    (void)((status = Steps{}.run(ctx), status.ok()) && ...);
    return status;
  }
  static constexpr std::array<std::string_view, sizeof...(Steps)> names() { return {Steps::name()...}; }
  /// This pipeline with more steps after its own.
  template <class... More>
  using then = Pipeline<Context, Steps..., More...>;
};

}  // namespace aexd::pipeline
