// ConnectionGuard: refuses new connections while file descriptors run short, so that accept() itself
// never fails with EMFILE (gRPC 1.51 then stops listening for good), and says when it starts and
// stops refusing. Its check runs on gRPC's threads; everything else is thread-safe.
#pragma once

#include <grpcpp/server_builder.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace aexd {

class ConnectionGuard {
 public:
  /// Refuses a connection whose descriptor is one of the last `reserve` below `limit`: accept()
  /// returns the lowest free descriptor, so such a connection proves fewer than `reserve` remain.
  /// `changed` is called, on a gRPC thread and so without blocking, each time accepting() flips.
  ConnectionGuard(int limit, int reserve, std::function<void()> changed);
  ~ConnectionGuard();
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  /// Installs the check into a server (a socket mutator seeing every accepted connection).
  std::unique_ptr<grpc::ServerBuilderOption> option();
  /// False from a refused connection until one is accepted again or recheck() finds room.
  bool accepting() const { return state_->accepting; }
  /// Connections refused so far.
  uint64_t refused() const { return state_->refused; }
  /// Accepting again if descriptors have been freed since the last refusal (nothing else would say
  /// so while no client connects); true if accepting.
  bool recheck();
  /// No call of `changed` starts after this returns.
  void stop();

  /// Shared with the mutator, which gRPC may outlive the guard with.
  struct State {
    int first_refused;  // the lowest descriptor refused
    std::atomic<bool> accepting{true};
    std::atomic<uint64_t> refused{0};
    std::mutex mutex;  // guards changed and listeners
    std::function<void()> changed;
    std::vector<std::pair<int, ino_t>> listeners;  // the server's listening sockets: descriptor, inode

    /// Records the flip to `now`, calling `changed` if it is one.
    void set_accepting(bool now);
    /// Accepts and closes every connection waiting on the listening sockets.
    void refuse_waiting();
  };

 private:
  std::shared_ptr<State> state_;
};

}  // namespace aexd
