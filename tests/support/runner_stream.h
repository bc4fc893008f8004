// A runner's claim stream on the client side (callback API): records every DispatchEvent and lets a
// test wait for the next one, for the claim to be registered, or for the stream's end.
#pragma once

#include <grpcpp/support/client_callback.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aexd/v1/dispatch.grpc.pb.h"
#include "support/test_server.h"

namespace aexd::test {

struct ClaimOptions {
  int capacity = 1;
  std::vector<std::string> agent_ids{};
  int lease_seconds = 0;
};

class RunnerStream final : public grpc::ClientReadReactor<aexd::v1::DispatchEvent> {
 public:
  RunnerStream(const TestServer& server, const std::string& runner_id, const ClaimOptions& options = {})
      : RunnerStream(server.channel(), runner_id, options) {}
  /// On `channel`, e.g. one of TestServer::channel_as (a token, TLS).
  RunnerStream(const std::shared_ptr<grpc::Channel>& channel, const std::string& runner_id,
               const ClaimOptions& options = {})
      : stub_(aexd::v1::ExecutionDispatch::NewStub(channel)) {
    request_.set_runner_id(runner_id);
    request_.set_capacity(options.capacity);
    for (const auto& a : options.agent_ids) request_.add_agent_ids(a);
    request_.set_lease_seconds(options.lease_seconds);
    stub_->async()->claim(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }
  ~RunnerStream() {
    context_.TryCancel();
    wait_done();
  }

  void OnReadInitialMetadataDone(bool ok) override {
    std::lock_guard lock(mutex_);
    registered_ = ok;
    headers_ = true;
    changed_.notify_all();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    {
      std::lock_guard lock(mutex_);
      events_.push_back(event_);
      changed_.notify_all();
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard lock(mutex_);
    status_ = status;
    done_ = true;
    changed_.notify_all();
  }

  /// True once the server registered the claim (it sends its headers then).
  bool wait_registered(std::chrono::seconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return headers_ || done_; });
    return registered_;
  }
  /// The next event not taken yet, or nullopt if none came in time (or the stream ended).
  std::optional<aexd::v1::DispatchEvent> next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return !events_.empty() || done_; }) || events_.empty())
      return std::nullopt;
    auto event = std::move(events_.front());
    events_.pop_front();
    return event;
  }
  /// The next event, which must be an assignment.
  aexd::v1::Assignment assignment(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto event = next(timeout);
    REQUIRE_MESSAGE(event.has_value(), "no event arrived");
    REQUIRE_MESSAGE(event->has_assignment(), event->DebugString());
    return event->assignment();
  }
  /// The next event, which must be a control event.
  aexd::v1::Control control(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto event = next(timeout);
    REQUIRE_MESSAGE(event.has_value(), "no event arrived");
    REQUIRE_MESSAGE(event->has_control(), event->DebugString());
    return event->control();
  }
  /// Events received and not taken yet.
  size_t waiting() {
    std::lock_guard lock(mutex_);
    return events_.size();
  }
  void cancel() { context_.TryCancel(); }
  grpc::Status wait_done(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return done_; }))
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "test: claim stream did not end in time"};
    return status_;
  }

 private:
  std::unique_ptr<aexd::v1::ExecutionDispatch::Stub> stub_;
  grpc::ClientContext context_;
  aexd::v1::ClaimRequest request_;
  aexd::v1::DispatchEvent event_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<aexd::v1::DispatchEvent> events_;
  grpc::Status status_;
  bool headers_ = false, registered_ = false, done_ = false;
};

/// release(execution_id, lease_id), with a deadline, on `channel`.
inline grpc::Status release(const std::shared_ptr<grpc::Channel>& channel, const std::string& execution_id,
                            const std::string& lease_id) {
  auto stub = aexd::v1::ExecutionDispatch::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  aexd::v1::ReleaseRequest request;
  request.set_execution_id(execution_id);
  request.set_lease_id(lease_id);
  aexd::v1::ReleaseResponse response;
  return stub->release(&ctx, request, &response);
}
inline grpc::Status release(const TestServer& server, const std::string& execution_id, const std::string& lease_id) {
  return release(server.channel(), execution_id, lease_id);
}

}  // namespace aexd::test
