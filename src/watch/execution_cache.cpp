#include "watch/execution_cache.h"

#include <functional>

namespace aexd::watch {
namespace {

// Bookkeeping per entry besides the encoded bytes (id, list node, index slot, control block).
constexpr size_t kEntryOverhead = 160;

size_t cost(const std::string& id, const model::Snapshot& snapshot) {
  return id.size() + snapshot.bytes.size() + kEntryOverhead;
}

}  // namespace

ExecutionCache::ExecutionCache(size_t max_bytes, size_t shards)
    : shard_count_(shards), max_shard_bytes_(max_bytes / shards), shards_(new Shard[shards]) {}

ExecutionCache::Shard& ExecutionCache::shard_of(std::string_view id) {
  return shards_[std::hash<std::string_view>{}(id) % shard_count_];
}

model::SnapshotPtr ExecutionCache::find(std::string_view id) {
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.index.find(id);
  if (it == shard.index.end()) return nullptr;
  shard.recency.splice(shard.recency.begin(), shard.recency, it->second);
  return it->second->snapshot;
}

void ExecutionCache::apply(const std::vector<model::ExecutionChange>& changes) {
  if (max_shard_bytes_ == 0) return;
  // Bumped before the entries change, so a reader that read before this commit cannot fill after it.
  generation_.fetch_add(1, std::memory_order_acq_rel);
  for (const auto& change : changes) {
    Shard& shard = shard_of(change.id);
    std::lock_guard lock(shard.mutex);
    if (change.snapshot) {
      put(shard, change.id, change.snapshot);
    } else {
      erase(shard, change.id);
    }
  }
}

void ExecutionCache::fill(const std::string& id, model::SnapshotPtr snapshot, uint64_t read_generation) {
  if (max_shard_bytes_ == 0) return;
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  if (generation() != read_generation || shard.index.contains(id)) return;
  put(shard, id, std::move(snapshot));
}

size_t ExecutionCache::bytes() const {
  size_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].bytes;
  }
  return total;
}

void ExecutionCache::put(Shard& shard, const std::string& id, model::SnapshotPtr snapshot) {
  erase(shard, id);
  const size_t size = cost(id, *snapshot);
  if (size > max_shard_bytes_) return;
  shard.recency.push_front({id, std::move(snapshot)});
  shard.index.emplace(shard.recency.front().id, shard.recency.begin());
  shard.bytes += size;
  while (shard.bytes > max_shard_bytes_) erase(shard, shard.recency.back().id);
}

void ExecutionCache::erase(Shard& shard, std::string_view id) {
  auto it = shard.index.find(id);
  if (it == shard.index.end()) return;
  auto node = it->second;
  shard.index.erase(it);
  shard.bytes -= cost(node->id, *node->snapshot);
  shard.recency.erase(node);
}

}  // namespace aexd::watch
