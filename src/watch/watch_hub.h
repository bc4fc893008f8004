// The watch hub: one condition channel per watched execution, holding the newest committed
// snapshot and the streams parked until a newer one arrives. CommitPublisher publishes into it
// after each commit; nothing polls.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/commit_listener.h"

namespace aexd::watch {

/// A stream waiting on a channel. `wake` is called with the channel's lock held, so it must
/// only schedule work (post to the stream's strand), never do it.
class Watcher {
 public:
  virtual void wake() = 0;

 protected:
  ~Watcher() = default;
};

/// What a watcher finds when it looks at its channel.
struct Next {
  // ended: the newest snapshot is terminal and the watcher has it already.
  enum class Kind { parked, snapshot, ended, deleted, closed } kind = Kind::parked;
  model::SnapshotPtr snapshot;  // for Kind::snapshot: shared by every watcher
  uint64_t revision = 0;
};

class ExecutionChannel {
 public:
  /// Keeps `snapshot` if it is newer than what the channel holds (the initial read of a new
  /// watcher may race with publishes; the newest revision wins).
  void offer(model::SnapshotPtr snapshot);
  /// The newest snapshot if its revision is above `after`; `ended` if the watcher has seen a
  /// terminal one; otherwise parks `watcher` until the next publish, deletion or close.
  Next next_or_park(Watcher* watcher, uint64_t after);

 private:
  friend class WatchHub;
  void publish(model::SnapshotPtr snapshot);  // null: deleted
  void close();
  void unpark(Watcher* watcher);
  void wake_all();  // needs mutex_

  std::mutex mutex_;
  uint64_t revision_ = 0;
  model::SnapshotPtr latest_;
  bool deleted_ = false;
  bool closed_ = false;
  std::vector<Watcher*> parked_;
  size_t watchers_ = 0;  // guarded by the hub's mutex
};

class WatchHub {
 public:
  /// Registers a watcher of `id` before its initial read, so no commit can fall in between.
  /// Null once the hub is closed.
  std::shared_ptr<ExecutionChannel> join(const std::string& id);
  /// After `leave` returns, the channel never wakes `watcher` again. The last watcher to
  /// leave drops the channel.
  void leave(const std::string& id, const std::shared_ptr<ExecutionChannel>& channel, Watcher* watcher);
  /// After a commit (CommitPublisher): hands each changed execution to its channel, if watched.
  void publish(const std::vector<model::ExecutionChange>& changes);
  /// Shutdown: every channel reports closed; later joins get null.
  void close();
  size_t channels() const;

 private:
  mutable std::mutex mutex_;
  bool closed_ = false;
  std::unordered_map<std::string, std::shared_ptr<ExecutionChannel>> channels_;
};

}  // namespace aexd::watch
