// A subscribe stream on the client side (callback API) that records what it receives and can
// stop reading on request, to play a slow reader.
#pragma once

#include <grpcpp/support/client_callback.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "domain/audit.h"
#include "domain/status.h"
#include "support/test_server.h"

namespace aexd::test {

/// The server frees a stream after the client has seen it end; this waits (bounded) for a
/// server-side condition such as "no execution is watched any more".
template <class Pred>
bool eventually(Pred pred, std::chrono::seconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

struct Received {
  uint64_t revision;
  Phase phase;
};

class WatchStream final : public grpc::ClientReadReactor<Execution> {
 public:
  /// `resume_after`: value for x-resume-after-version, empty for none. `paused`: read nothing
  /// until resume().
  WatchStream(exv1::AgentExecutionQueryController::Stub& stub, const std::string& id,
              const std::string& resume_after = "", bool paused = false)
      : paused_(paused) {
    request_.set_value(id);
    if (!resume_after.empty()) context_.AddMetadata("x-resume-after-version", resume_after);
    stub.async()->subscribe(&context_, &request_, this);
    if (!paused_) StartRead(&message_);
    StartCall();
  }
  /// gRPC calls into the reactor until OnDone, so the stream ends before the reactor goes away.
  ~WatchStream() override {
    cancel();
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return done_; });
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::lock_guard lock(mutex_);
    received_.push_back({revision_of(message_.metadata()), message_.status().phase()});
    changed_.notify_all();
    if (!paused_) StartRead(&message_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard lock(mutex_);
    status_ = status;
    done_ = true;
    changed_.notify_all();
  }

  /// Stops reading after the message that is being read now.
  void pause() {
    std::lock_guard lock(mutex_);
    paused_ = true;
  }
  void resume() {
    std::lock_guard lock(mutex_);
    paused_ = false;
    StartRead(&message_);
  }
  void cancel() { context_.TryCancel(); }

  /// Waits until `n` messages arrived (or the stream ended); true if they did.
  bool wait_for_messages(size_t n, std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return received_.size() >= n || done_; }) && received_.size() >= n;
  }
  /// Waits for the end of the stream and returns its status.
  grpc::Status wait_done(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return done_; }))
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "test: stream did not end in time"};
    return status_;
  }
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  grpc::ClientContext context_;
  exv1::AgentExecutionId request_;
  Execution message_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Received> received_;
  grpc::Status status_;
  bool done_ = false;
  bool paused_;
};

}  // namespace aexd::test
