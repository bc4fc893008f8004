// One call by method path with request bytes of the test's choosing (grpc::GenericStub): for what
// the typed stubs cannot send, such as bytes that are no message at all. Test thread only.
#pragma once

#include <grpcpp/generic/generic_stub.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "api/calls.h"

namespace aexd::test {

/// "/<service>/<name>", the path a method is called by.
inline std::string path_of(const api::Method& method) {
  return "/" + std::string(method.service) + "/" + std::string(method.name);
}

/// Sends `bytes` as the request of `method` (unary or server-streaming alike) and returns the call's
/// status; replies are dropped. Bounded by `timeout` (DEADLINE_EXCEEDED then).
inline grpc::Status raw_call(const std::shared_ptr<grpc::Channel>& channel, const api::Method& method,
                             const std::string& bytes, std::chrono::seconds timeout = std::chrono::seconds(10)) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, path_of(method), {}, &request, &reply, [&](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

}  // namespace aexd::test
