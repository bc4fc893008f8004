// ReaderPool: a fixed set of read-only connections (WAL lets them read while the writer commits).
// Reads run on the executor's threads, never on the write strand or a gRPC thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <grpcpp/support/status.h>

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite.h"

namespace aexd::store {

class ReaderPool {
 public:
  ReaderPool(boost::asio::any_io_executor executor, const std::string& path, int size);

  /// Posts `read(Connection&) -> grpc::Status` to the executor, then calls `done(status)`.
  /// A StoreError becomes INTERNAL.
  template <class Read, class Done>
  void read(Read read, Done done) {
    boost::asio::post(executor_, [this, read = std::move(read), done = std::move(done)]() mutable {
      grpc::Status status;
      std::unique_ptr<Connection> db = acquire();
      try {
        status = read(*db);
      } catch (const std::exception& e) {
        status = grpc::Status(grpc::StatusCode::INTERNAL, std::string("storage error: ") + e.what());
      }
      release(std::move(db));
      done(status);
    });
  }

 private:
  std::unique_ptr<Connection> acquire();
  void release(std::unique_ptr<Connection> db);

  boost::asio::any_io_executor executor_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace aexd::store
