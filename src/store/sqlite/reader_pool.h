// ReaderPool: a fixed set of read-only connections (WAL lets them read while the writer commits).
// Reads run on the executor's threads, never on the write strand or a gRPC thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/storage.h"

namespace aexd::store::sqlite {

class ReaderPool {
 public:
  ReaderPool(boost::asio::any_io_executor executor, const std::string& path, int size);

  /// Posts `read` to the executor with a connection of the pool, then calls `done(status)` there.
  void read(Storage::Read read, Storage::Done done);

 private:
  std::unique_ptr<Connection> acquire();
  void release(std::unique_ptr<Connection> db);

  boost::asio::any_io_executor executor_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace aexd::store::sqlite
