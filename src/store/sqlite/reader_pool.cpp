#include "store/sqlite/reader_pool.h"

#include <boost/asio/post.hpp>

#include "store/sqlite/operations.h"

namespace aexd::store::sqlite {

ReaderPool::ReaderPool(boost::asio::any_io_executor executor, const std::string& path, int size)
    : executor_(std::move(executor)) {
  for (int i = 0; i < size; ++i) {
    auto db = Connection::open(path, Sync::normal);
    db->exec("PRAGMA query_only=ON");
    idle_.push_back(std::move(db));
  }
}

void ReaderPool::read(Storage::Read read, Storage::Done done) {
  boost::asio::post(executor_, [this, read = std::move(read), done = std::move(done)] {
    grpc::Status status;
    std::unique_ptr<Connection> db = acquire();
    try {
      Operations reader(*db, nullptr);
      status = read(reader);
    } catch (const std::exception& e) {  // a read should not throw; if it does, it fails alone
      status = status_of(e);
    }
    release(std::move(db));
    done(status);
  });
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

}  // namespace aexd::store::sqlite
