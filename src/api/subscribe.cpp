// Subscribe: a server-streaming reactor parked on its execution's channel in the watch hub.
// One write in flight; every StartWrite/Finish runs on the stream's own strand; reactions only
// post there. The reactor is freed when the call is done and no posted work still refers to it.
// It writes the snapshots' encoded bytes, so a state is encoded once however many streams watch.
#include <charconv>

#include "api/services.h"
#include "api/strand_stream.h"

namespace aexd::api {
namespace {

constexpr std::string_view kResumeHeader = "x-resume-after-version";

class SubscribeReactor final : public StrandStream<grpc::ByteBuffer>, public watch::Watcher {
 public:
  SubscribeReactor(Backend& backend, const grpc::ServerContextBase& ctx, const std::string& id)
      : StrandStream(backend.executor, backend.observer, methods::kExecutionSubscribe, ctx, id),
        backend_(backend),
        id_(id) {}

  void start(grpc::CallbackServerContext* ctx, const grpc::Status& decoded) {
    if (auto denied = backend_.authorizer.authorize(*ctx, methods::kExecutionSubscribe.right); !denied.ok())
      return finish(denied);
    if (!decoded.ok()) return finish(decoded);
    if (auto s = read_resume_header(ctx); !s.ok()) return finish(s);
    if (id_.empty()) return finish(errors::invalid("value", "is required"));
    channel_ = backend_.hub.join(id_);
    if (!channel_) return finish({grpc::StatusCode::UNAVAILABLE, "server is shutting down"});
    // Registered first, read second: a commit after the read's snapshot reaches the channel.
    ref();
    backend_.executions.find(id_, [this](const grpc::Status& status, model::SnapshotPtr initial) {
      on_strand([this, status, initial = std::move(initial)] {
        if (!status.ok()) return finish(status);
        channel_->offer(initial);
        pump();
      });
      unref();
    });
  }

  void wake() override {
    on_strand([this] { pump(); });
  }
  void OnWriteDone(bool ok) override {
    on_strand([this, ok] {
      writing_ = false;
      if (!ok) return finish({grpc::StatusCode::CANCELLED, "stream closed by the client"});
      if (sent_terminal_) return finish(grpc::Status::OK);
      pump();
    });
  }
  void OnCancel() override {
    on_strand([this] { finish({grpc::StatusCode::CANCELLED, "cancelled by the client"}); });
  }
  void OnDone() override {
    if (channel_) backend_.hub.leave(id_, channel_, this);
    release_call();
  }

 private:
  grpc::Status read_resume_header(grpc::CallbackServerContext* ctx) {
    const auto& metadata = ctx->client_metadata();
    auto it = metadata.find(std::string(kResumeHeader));
    if (it == metadata.end()) return grpc::Status::OK;
    const auto& v = it->second;
    if (auto s = check_length(kResumeHeader, {v.data(), v.size()}, limits::kRevision); !s.ok()) return s;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), last_sent_);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size())
      return errors::invalid(kResumeHeader, "must be a decimal revision number");
    return grpc::Status::OK;
  }

  /// Strand-bound: sends the newest snapshot the client lacks, or parks until there is one.
  void pump() {
    if (finished_ || writing_) return;
    watch::Next next = channel_->next_or_park(this, last_sent_);
    switch (next.kind) {
      case watch::Next::Kind::parked:
        return;
      case watch::Next::Kind::ended:
        return finish(grpc::Status::OK);
      case watch::Next::Kind::deleted:
        return finish(errors::not_found("AgentExecution", id_));
      case watch::Next::Kind::closed:
        return finish({grpc::StatusCode::UNAVAILABLE, "server is shutting down"});
      case watch::Next::Kind::snapshot:
        in_flight_ = next.snapshot->message();  // kept alive until OnWriteDone
        sent_terminal_ = next.snapshot->terminal;
        last_sent_ = next.revision;
        writing_ = true;
        StartWrite(&in_flight_);
    }
  }

  Backend& backend_;
  const std::string id_;
  std::shared_ptr<watch::ExecutionChannel> channel_;
  grpc::ByteBuffer in_flight_;
  bool sent_terminal_ = false;
  uint64_t last_sent_ = 0;  // starts at the resume header's revision
};

}  // namespace

grpc::ServerWriteReactor<Bytes>* ExecutionQueries::subscribe(grpc::CallbackServerContext* ctx, const Bytes* request) {
  exv1::AgentExecutionId req;
  const grpc::Status decoded = decode_request(*request, req);
  auto* reactor = new SubscribeReactor(backend_, *ctx, decoded.ok() ? req.value() : "");
  reactor->start(ctx, decoded);
  return reactor;
}

}  // namespace aexd::api
