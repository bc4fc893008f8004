#include "app/connection_guard.h"

#include <fcntl.h>
#include <grpc/support/sync.h>
#include <grpcpp/support/channel_arguments.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace aexd {
namespace {

// gRPC 1.51 installs no header for socket mutators: these mirror the types of its
// src/core/lib/iomgr/socket_mutator.h in the pinned version (Debian 12's libgrpc29 1.51.1), and
// must be checked again on any gRPC upgrade.
constexpr int kServerListenerUsage = 1;    // GRPC_FD_SERVER_LISTENER_USAGE of grpc_fd_usage
constexpr int kServerConnectionUsage = 2;  // GRPC_FD_SERVER_CONNECTION_USAGE
struct MutateSocketInfo {                  // grpc_mutate_socket_info
  int fd;
  int usage;
};
struct MutatorVtable {  // grpc_socket_mutator_vtable
  bool (*mutate_fd)(int fd, grpc_socket_mutator* mutator);
  int (*compare)(grpc_socket_mutator* a, grpc_socket_mutator* b);
  void (*destroy)(grpc_socket_mutator* mutator);
  bool (*mutate_fd_2)(const MutateSocketInfo* info, grpc_socket_mutator* mutator);
};
/// grpc_socket_mutator (its first two members, all gRPC reads) and the guard's state.
struct Mutator {
  const MutatorVtable* vtable;
  gpr_refcount refcount;
  std::shared_ptr<ConnectionGuard::State> state;
};

bool check(const MutateSocketInfo* info, grpc_socket_mutator* mutator) {
  auto& state = *reinterpret_cast<Mutator*>(mutator)->state;
  if (info->usage == kServerListenerUsage) {
    struct stat listener {};
    if (::fstat(info->fd, &listener) == 0) {
      std::lock_guard lock(state.mutex);
      state.listeners.emplace_back(info->fd, listener.st_ino);
    }
  }
  if (info->usage != kServerConnectionUsage) return true;
  const bool room = info->fd < state.first_refused;
  if (!room) {
    // Returning false would retire the listener like a failed accept; a shut-down socket instead
    // ends this connection at once (its client sees it closed) and gRPC closes the descriptor.
    ::shutdown(info->fd, SHUT_RDWR);
    ++state.refused;
    // gRPC accepts every waiting connection before it closes any: a burst would use up the reserve.
    state.refuse_waiting();
  }
  state.set_accepting(room);
  return true;
}

/// Two servers' mutators are never the same.
int compare(grpc_socket_mutator* a, grpc_socket_mutator* b) { return (a > b) - (a < b); }

constexpr MutatorVtable kVtable{
    [](int, grpc_socket_mutator*) { return true; },  // unused: gRPC prefers mutate_fd_2
    compare,
    [](grpc_socket_mutator* mutator) { delete reinterpret_cast<Mutator*>(mutator); },
    check,
};

class MutatorOption final : public grpc::ServerBuilderOption {
 public:
  explicit MutatorOption(std::shared_ptr<ConnectionGuard::State> state) : state_(std::move(state)) {}
  void UpdateArguments(grpc::ChannelArguments* args) override {
    auto* mutator = new Mutator{&kVtable, {}, state_};
    gpr_ref_init(&mutator->refcount, 1);
    args->SetSocketMutator(reinterpret_cast<grpc_socket_mutator*>(mutator));  // takes that reference
  }
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*) override {}

 private:
  std::shared_ptr<ConnectionGuard::State> state_;
};

}  // namespace

void ConnectionGuard::State::set_accepting(bool now) {
  if (accepting.exchange(now) == now) return;
  std::lock_guard lock(mutex);
  if (changed) changed();
}

void ConnectionGuard::State::refuse_waiting() {
  std::lock_guard lock(mutex);
  for (const auto& [fd, inode] : listeners) {
    // Only a listening socket gRPC still has open (not a later descriptor with its number), and
    // only a non-blocking one, so that accept() cannot wait here.
    struct stat now {};
    if (::fstat(fd, &now) != 0 || now.st_ino != inode || (::fcntl(fd, F_GETFL) & O_NONBLOCK) == 0) continue;
    for (int connection; (connection = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
      ::close(connection);
      ++refused;
    }
  }
}

ConnectionGuard::ConnectionGuard(int limit, int reserve, std::function<void()> changed)
    : state_(std::make_shared<State>()) {
  state_->first_refused = limit - reserve;
  state_->changed = std::move(changed);
}

ConnectionGuard::~ConnectionGuard() { stop(); }

std::unique_ptr<grpc::ServerBuilderOption> ConnectionGuard::option() { return std::make_unique<MutatorOption>(state_); }

bool ConnectionGuard::recheck() {
  if (state_->accepting) return true;
  // The lowest free descriptor, which is what the next accept() would get.
  const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (probe < 0) return false;
  ::close(probe);
  if (probe < state_->first_refused) state_->set_accepting(true);
  return state_->accepting;
}

void ConnectionGuard::stop() {
  std::lock_guard lock(state_->mutex);
  state_->changed = nullptr;
}

}  // namespace aexd
