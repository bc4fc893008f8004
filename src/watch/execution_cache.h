// ExecutionCache: the newest committed snapshot of recently written or read executions, so a get
// can be answered from memory instead of a reader connection. Bounded by bytes, least recently
// used out first. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/commit_listener.h"
#include "model/snapshot.h"

namespace aexd::watch {

class ExecutionCache {
 public:
  /// `max_bytes` is split evenly over `shards` independently locked parts.
  explicit ExecutionCache(size_t max_bytes, size_t shards = 16);

  model::SnapshotPtr find(std::string_view id);
  /// After each commit, in commit order (CommitPublisher), before any of its calls complete.
  void apply(const std::vector<model::ExecutionChange>& changes);

  /// A reader fills a miss with what it read, unless a commit was applied since it took
  /// `generation()` before its read: that commit may have made what it read stale.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  void fill(const std::string& id, model::SnapshotPtr snapshot, uint64_t read_generation);

  size_t bytes() const;

 private:
  struct Entry {
    std::string id;
    model::SnapshotPtr snapshot;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::list<Entry> recency;                                                // most recently used first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // keys view Entry::id
    size_t bytes = 0;
  };
  Shard& shard_of(std::string_view id);
  void put(Shard& shard, const std::string& id, model::SnapshotPtr snapshot);  // needs shard.mutex
  void erase(Shard& shard, std::string_view id);                               // needs shard.mutex

  const size_t shard_count_;
  const size_t max_shard_bytes_;
  std::atomic<uint64_t> generation_{0};
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace aexd::watch
