// grpc.reflection.v1.ServerReflection over the generated descriptor pool. libgrpc++_reflection 1.51
// serves only v1alpha; clients such as grpcurl ask for v1 first. Register it with
// `builder.SetOption(reflection_v1())`: the builder option is how a service learns the names of
// every service the server registers (gRPC's own health and reflection services included).
#pragma once

#include <grpcpp/impl/server_builder_option.h>

#include <memory>

namespace aexd::api {

std::unique_ptr<grpc::ServerBuilderOption> reflection_v1();

}  // namespace aexd::api
