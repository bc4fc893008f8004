#include "store/reader_pool.h"

namespace aexd::store {

ReaderPool::ReaderPool(boost::asio::any_io_executor executor, const std::string& path, int size)
    : executor_(std::move(executor)) {
  for (int i = 0; i < size; ++i) {
    auto db = Connection::open(path, Sync::normal);
    db->exec("PRAGMA query_only=ON");
    idle_.push_back(std::move(db));
  }
}

std::unique_ptr<Connection> ReaderPool::acquire() {
  std::unique_lock lock(mutex_);
  // Only waits when more executor threads read at once than there are connections.
  available_.wait(lock, [this] { return !idle_.empty(); });
  auto db = std::move(idle_.back());
  idle_.pop_back();
  return db;
}

void ReaderPool::release(std::unique_ptr<Connection> db) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(db));
  }
  available_.notify_one();
}

}  // namespace aexd::store
