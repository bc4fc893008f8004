#include "watch/watch_hub.h"

#include <algorithm>

namespace aexd::watch {

void ExecutionChannel::offer(model::SnapshotPtr snapshot) {
  std::lock_guard lock(mutex_);
  if (snapshot->revision <= revision_) return;
  revision_ = snapshot->revision;
  latest_ = std::move(snapshot);
  wake_all();
}

Next ExecutionChannel::next_or_park(Watcher* watcher, uint64_t after) {
  std::lock_guard lock(mutex_);
  if (closed_) return {Next::Kind::closed, nullptr, 0};
  if (deleted_) return {Next::Kind::deleted, nullptr, 0};
  if (latest_ && revision_ > after) return {Next::Kind::snapshot, latest_, revision_};
  if (latest_ && latest_->terminal) return {Next::Kind::ended, nullptr, 0};
  if (std::find(parked_.begin(), parked_.end(), watcher) == parked_.end()) parked_.push_back(watcher);
  return {Next::Kind::parked, nullptr, 0};
}

void ExecutionChannel::publish(model::SnapshotPtr snapshot) {
  std::lock_guard lock(mutex_);
  if (!snapshot) {
    deleted_ = true;
    latest_.reset();
  } else if (snapshot->revision > revision_) {
    revision_ = snapshot->revision;
    latest_ = std::move(snapshot);
  } else {
    return;
  }
  wake_all();
}

void ExecutionChannel::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  wake_all();
}

void ExecutionChannel::unpark(Watcher* watcher) {
  std::lock_guard lock(mutex_);
  std::erase(parked_, watcher);
}

void ExecutionChannel::wake_all() {
  for (Watcher* watcher : parked_) watcher->wake();
  parked_.clear();
}

std::shared_ptr<ExecutionChannel> WatchHub::join(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (closed_) return nullptr;
  auto& channel = channels_[id];
  if (!channel) channel = std::make_shared<ExecutionChannel>();
  ++channel->watchers_;
  return channel;
}

void WatchHub::leave(const std::string& id, const std::shared_ptr<ExecutionChannel>& channel, Watcher* watcher) {
  channel->unpark(watcher);
  std::lock_guard lock(mutex_);
  if (--channel->watchers_ > 0) return;
  if (auto it = channels_.find(id); it != channels_.end() && it->second == channel) channels_.erase(it);
}

void WatchHub::publish(const std::vector<model::ExecutionChange>& changes) {
  for (const auto& change : changes) {
    std::shared_ptr<ExecutionChannel> channel;
    {
      std::lock_guard lock(mutex_);
      auto it = channels_.find(change.id);
      if (it == channels_.end()) continue;
      channel = it->second;
    }
    channel->publish(change.snapshot);
  }
}

void WatchHub::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (auto& [id, channel] : channels_) channel->close();
}

size_t WatchHub::channels() const {
  std::lock_guard lock(mutex_);
  return channels_.size();
}

}  // namespace aexd::watch
