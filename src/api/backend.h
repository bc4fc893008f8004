// What reactors hand their work to, and the two ways a unary call completes: as a write job of the
// storage (commands) or as a read (queries), its request decoded by the step every method shares
// (decoding.h). Both finish the call from the storage's threads; only an answer known at once
// (refused admission, a bad request, a full queue, a cached get) finishes on the gRPC thread that
// started it.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "api/calls.h"
#include "api/decoding.h"
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
  void leave() {
    if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1 && closed_.load()) {
      std::lock_guard lock(idle_mutex_);
      idle_.notify_all();
    }
  }
  void close() { closed_.store(true); }
  /// After close(): returns once no admitted call is in flight, or at `deadline`.
  void wait_idle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(idle_mutex_);
    idle_.wait_until(lock, deadline, [this] { return in_flight_.load() == 0; });
  }

 private:
  const size_t max_;
  std::atomic<size_t> in_flight_{0};
  std::atomic<bool> closed_{false};
  std::mutex idle_mutex_;
  std::condition_variable idle_;
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

/// A command whose request the caller decoded: `work(store::Tx&) -> grpc::Status` runs as a write
/// job; the call finishes once its batch is durable, or without the write if the caller left while
/// it was queued.
template <class Work>
grpc::ServerUnaryReactor* write_call(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                     std::string_view id, Work work) {
  return detail::admit(backend, ctx, method, id,
                       [&](auto done) { backend.storage.write(std::move(work), std::move(done), caller_waits(ctx)); });
}

/// What a call's work reads and fills: the decoded request and the response, which is encoded into
/// the call's reply once the work succeeded. Shared by the work and the call's completion.
template <class Req, class Resp>
struct Exchange {
  Req request;
  Resp response;
};

/// What a request names, for the observer: its id, execution id, reference slug or agent id.
template <class Req>
std::string_view subject(const Req& r) {
  if constexpr (requires { r.value(); }) {
    return r.value();
  } else if constexpr (requires { r.metadata().id(); }) {
    return r.metadata().id();
  } else if constexpr (requires { r.execution_id(); }) {
    return r.execution_id();
  } else if constexpr (requires { r.id(); }) {
    return r.id();
  } else if constexpr (requires { r.slug(); }) {
    return r.slug();
  } else if constexpr (requires { r.agent_id(); }) {
    return r.agent_id();
  } else {
    return {};
  }
}

/// A unary call served from its raw bytes: the request is decoded (decoding.h) and, once auth and
/// admission passed, either refused with the decoding's status or handed to `start(exchange, done)`;
/// `done(status)` encodes the response into `reply` when the status is OK, then finishes the call.
template <class Req, class Resp, class Start>
grpc::ServerUnaryReactor* decoded_call(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                       const grpc::ByteBuffer* request, grpc::ByteBuffer* reply, Start start) {
  auto call = std::make_shared<Exchange<Req, Resp>>();
  const grpc::Status decoded = decode_request(*request, call->request);
  return detail::admit(backend, ctx, method, decoded.ok() ? subject(call->request) : std::string_view(),
                       [&](auto done) {
                         if (!decoded.ok()) return done(decoded);
                         start(call, [call, reply, done = std::move(done)](grpc::Status status) {
                           if (status.ok()) status = encode_reply(call->response, *reply);
                           done(status);
                         });
                       });
}

/// A command: `work(store::Tx&, const Req&, Resp&) -> grpc::Status` runs as a write job; the call
/// finishes once its batch is durable, or without the write if the caller left while it was queued.
template <class Req, class Resp, class Work>
grpc::ServerUnaryReactor* command_call(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                       const grpc::ByteBuffer* request, grpc::ByteBuffer* reply, Work work) {
  return decoded_call<Req, Resp>(backend, ctx, method, request, reply, [&](auto call, auto done) {
    backend.storage.write([call, work](store::Tx& tx) { return work(tx, call->request, call->response); },
                          std::move(done), caller_waits(ctx));
  });
}

/// A query: `work(store::Reader&, const Req&, Resp&) -> grpc::Status` runs on a reader.
template <class Req, class Resp, class Work>
grpc::ServerUnaryReactor* query_call(Backend& backend, grpc::CallbackServerContext* ctx, const Method& method,
                                     const grpc::ByteBuffer* request, grpc::ByteBuffer* reply, Work work) {
  return decoded_call<Req, Resp>(backend, ctx, method, request, reply, [&](auto call, auto done) {
    backend.storage.read([call, work](store::Reader& db) { return work(db, call->request, call->response); },
                         std::move(done));
  });
}

}  // namespace aexd::api
