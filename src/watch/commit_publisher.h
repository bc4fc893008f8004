// CommitPublisher: the edge from a storage commit to the readers of executions. After each
// commit it updates the execution cache first, then wakes the subscribers' channels, so a
// subscriber that is woken never reads an older state from the cache. Called on the storage's
// commit path (one commit at a time).
#pragma once

#include "model/commit_listener.h"
#include "watch/execution_cache.h"
#include "watch/watch_hub.h"

namespace aexd::watch {

class CommitPublisher final : public model::CommitListener {
 public:
  CommitPublisher(ExecutionCache& cache, WatchHub& hub) : cache_(cache), hub_(hub) {}

  void committed(const std::vector<model::ExecutionChange>& changes) override {
    cache_.apply(changes);
    hub_.publish(changes);
  }

 private:
  ExecutionCache& cache_;
  WatchHub& hub_;
};

}  // namespace aexd::watch
