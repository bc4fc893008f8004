// What reactors hand their work to, and the two ways a unary call completes: as a write job of the
// storage (commands) or as a read (queries). Both finish the call from the storage's threads; only
// an answer known at once (refused admission, a bad request, a full queue, a cached get) finishes
// on the gRPC thread that started it.
#pragma once

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <string>

#include "api/calls.h"
#include "api/read_through.h"
#include "dispatch/dispatcher.h"
#include "domain/errors.h"
#include "store/storage.h"
#include "watch/watch_hub.h"

namespace aexd::api {

/// Admission for unary calls: a cap on calls in flight, and UNAVAILABLE once shutdown began.
class Admission {
 public:
  explicit Admission(size_t max_in_flight) : max_(max_in_flight) {}
  /// OK and counted, or the status to finish with at once.
  grpc::Status enter();
  void leave() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  void close() { closed_.store(true); }

 private:
  const size_t max_;
  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> closed_{false};
};

struct Backend {
  boost::asio::any_io_executor executor;  // runs the subscribe streams' strands
  store::Storage& storage;
  ReadThrough& executions;
  watch::WatchHub& hub;
  Admission& admission;
  dispatch::Dispatcher& dispatcher;
  std::chrono::milliseconds idempotency_ttl;  // how long a create's idempotency key counts
  const Authorizer& authorizer;
  CallObserver& observer;
};

/// Parses the request of a raw (ByteBuffer) method; bytes that are not an `M` are INVALID_ARGUMENT.
template <class M>
grpc::Status decode(const grpc::ByteBuffer& request, M& out) {
  grpc::ByteBuffer bytes(request);  // Deserialize consumes its buffer; the copy shares the slices
  if (grpc::SerializationTraits<M>::Deserialize(&bytes, &out).ok()) return grpc::Status::OK;
  return errors::invalid("request", "is not a valid " + M::descriptor()->full_name());
}

namespace detail {

/// Authorizes and admits the call and hands `start` its completion, or finishes the call at once
/// if refused. `id` names what the call is about, for the observer.
template <class Start>
grpc::ServerUnaryReactor* admit(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                std::string_view id, Start start) {
  auto* reactor = ctx->DefaultReactor();
  auto finish = [ctx, reactor, clock = CallClock(backend.observer, method, *ctx, id)](const grpc::Status& status) {
    // Shed load tells the client when to come back.
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ctx->AddTrailingMetadata("retry-after-ms", "50");
    clock.ended(status);
    reactor->Finish(status);
  };
  if (auto denied = backend.authorizer.authorize(*ctx, method.right); !denied.ok()) {
    finish(denied);
  } else if (auto refused = backend.admission.enter(); !refused.ok()) {
    finish(refused);
  } else {
    start([finish = std::move(finish), &admission = backend.admission](const grpc::Status& status) {
      admission.leave();
      finish(status);
    });
  }
  return reactor;
}

}  // namespace detail

/// Whether the caller of `ctx` will still wait for its write when it commits. Safe on the writer:
/// IsCancelled may be asked from any thread until the call finishes, and a write completes before
/// its call finishes.
inline store::Storage::Wanted caller_waits(grpc::CallbackServerContext* ctx) {
  return [ctx](std::chrono::system_clock::time_point committed_by) {
    if (ctx->deadline() <= committed_by)
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passes before the write would commit");
    if (ctx->IsCancelled())
      return grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled while the write was queued");
    return grpc::Status::OK;
  };
}

/// A command: `work(store::Tx&) -> grpc::Status` runs as a write job; the call finishes once its
/// batch is durable, or without the write if the caller left while it was queued.
template <class Work>
grpc::ServerUnaryReactor* write_call(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                     std::string_view id, Work work) {
  return detail::admit(backend, ctx, method, id,
                       [&](auto done) { backend.storage.write(std::move(work), std::move(done), caller_waits(ctx)); });
}

/// A query: `work(store::Reader&) -> grpc::Status` runs on a reader.
template <class Work>
grpc::ServerUnaryReactor* read_call(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                    std::string_view id, Work work) {
  return detail::admit(backend, ctx, method, id,
                       [&](auto done) { backend.storage.read(std::move(work), std::move(done)); });
}

}  // namespace aexd::api
