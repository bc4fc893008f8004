// ExecutionDispatch: a runner's claim stream, and release. A ClaimReactor is the dispatcher's
// RunnerStream: the dispatcher queues events on it (under its lock), the reactor's strand writes
// them one at a time. Every StartWrite/Finish runs on that strand; the reactor is freed when the
// call is done and no posted work still refers to it.
#include <deque>
#include <mutex>

#include "api/services.h"
#include "api/strand_stream.h"

namespace aexd::api {
namespace {

constexpr int kMaxCapacity = 1000;
constexpr int kMaxLeaseSeconds = 24 * 3600;

grpc::Status validate(const aexd::v1::ClaimRequest& request) {
  if (request.runner_id().empty()) return errors::invalid("runner_id", "is required");
  if (request.capacity() < 0 || request.capacity() > kMaxCapacity)
    return errors::invalid("capacity", "must be between 1 and " + std::to_string(kMaxCapacity) + " (0 means 1)");
  if (request.lease_seconds() < 0 || request.lease_seconds() > kMaxLeaseSeconds)
    return errors::invalid("lease_seconds", "must be between 1 and " + std::to_string(kMaxLeaseSeconds) +
                                                " (0 means the server's default)");
  for (int i = 0; i < request.agent_ids_size(); ++i)
    if (request.agent_ids(i).empty()) return errors::invalid("agent_ids[" + std::to_string(i) + "]", "is empty");
  return grpc::Status::OK;
}

class ClaimReactor final : public StrandStream<grpc::ByteBuffer>, public dispatch::RunnerStream {
 public:
  ClaimReactor(Backend& backend, const grpc::ServerContextBase& ctx, std::string_view runner_id)
      : StrandStream(backend.executor, backend.observer, methods::kClaim, ctx, runner_id), backend_(backend) {}

  void start(const grpc::ServerContextBase& ctx, const grpc::Status& decoded, const aexd::v1::ClaimRequest& request) {
    if (auto denied = backend_.authorizer.authorize(ctx, methods::kClaim.right); !denied.ok()) return finish(denied);
    if (!decoded.ok()) return finish(decoded);
    if (auto s = validate(request); !s.ok()) return finish(s);
    dispatch::Claim claim{request.runner_id(),
                          std::max(1, request.capacity()),
                          {request.agent_ids().begin(), request.agent_ids().end()},
                          std::chrono::seconds(request.lease_seconds())};
    backend_.dispatcher.open(this, std::move(claim));
    // Sent once the claim is registered: a runner that has the headers is being offered work. A
    // first assignment may be written before this runs; its write carries the headers then.
    on_strand([this] {
      if (!finished_ && !std::exchange(headers_sent_, true)) StartSendInitialMetadata();
    });
  }

  void send(aexd::v1::DispatchEvent event) override {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(event));
    }
    on_strand([this] { pump(); });
  }
  void end(const grpc::Status& status) override {
    on_strand([this, status] { finish(status); });
  }

  void OnSendInitialMetadataDone(bool) override {}
  void OnWriteDone(bool ok) override {
    on_strand([this, ok] {
      writing_ = false;
      if (!ok) return finish({grpc::StatusCode::CANCELLED, "stream closed by the runner"});
      pump();
    });
  }
  void OnCancel() override {
    on_strand([this] { finish({grpc::StatusCode::CANCELLED, "cancelled by the runner"}); });
  }
  void OnDone() override {
    backend_.dispatcher.close(this);
    release_call();
  }

 private:
  /// Strand-bound: writes the next queued event.
  void pump() {
    if (finished_ || writing_) return;
    aexd::v1::DispatchEvent next;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    in_flight_.Clear();  // the previous write's bytes: encoding needs an empty buffer
    if (auto s = encode_reply(next, in_flight_); !s.ok()) return finish(s);  // kept alive until OnWriteDone
    writing_ = true;
    headers_sent_ = true;
    StartWrite(&in_flight_);
  }

  Backend& backend_;
  std::mutex mutex_;
  std::deque<aexd::v1::DispatchEvent>
      queue_;  // bounded by the claim's capacity: an assignment, then a few controls each
  grpc::ByteBuffer in_flight_;
  bool headers_sent_ = false;  // strand-bound
};

}  // namespace

grpc::ServerWriteReactor<Bytes>* ExecutionDispatch::claim(grpc::CallbackServerContext* ctx, const Bytes* req) {
  aexd::v1::ClaimRequest request;
  const grpc::Status decoded = decode_request(*req, request);
  auto* reactor = new ClaimReactor(backend_, *ctx, decoded.ok() ? std::string_view(request.runner_id()) : "");
  reactor->start(*ctx, decoded, request);
  return reactor;
}

grpc::ServerUnaryReactor* ExecutionDispatch::release(grpc::CallbackServerContext* ctx, const Bytes* req, Bytes* resp) {
  using Request = aexd::v1::ReleaseRequest;
  return decoded_call<Request, aexd::v1::ReleaseResponse>(
      backend_, ctx, methods::kRelease, req, resp, [this](auto call, auto done) {
        backend_.dispatcher.release(call->request.execution_id(), call->request.lease_id(), std::move(done));
      });
}

}  // namespace aexd::api
