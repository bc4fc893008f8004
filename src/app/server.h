// Server: wires the store, the executor, the watch hub and the gRPC services into one running
// aexd, and takes them down in the order DESIGN.md gives.
#pragma once

#include <grpcpp/server.h>

#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <string>
#include <vector>

#include "api/backend.h"
#include "domain/result.h"
#include "pipeline/resource_steps.h"
#include "store/reader_pool.h"
#include "store/sqlite.h"
#include "store/write_strand.h"
#include "watch/execution_cache.h"
#include "watch/watch_hub.h"

namespace aexd {

struct Options {
  std::string listen = "127.0.0.1:7234";
  std::string db = "./aexd.db";
  store::Sync sync = store::Sync::normal;
  int readers = 0;  // 0: one per core
  size_t max_queued_writes = 10000;
  size_t max_in_flight = 20000;
  size_t cache_mb = 64;     // encoded executions kept in memory for get and subscribe; 0: none
  bool bench_noop = false;  // also serve aexd.bench.v1.Noop, the floor for load tests
  pipeline::PersistFault persist_fault;  // test-only
};

class Server {
 public:
  /// Opens the database (migrating it), binds the address and starts serving. On failure the
  /// status says what was wrong (bad path, address in use, ...).
  static Result<std::unique_ptr<Server>> start(Options options);
  ~Server();

  /// The port actually bound (useful with ":0").
  int port() const { return port_; }
  const Options& options() const { return options_; }
  /// Executions with at least one open subscribe stream.
  size_t watched_executions() const { return hub_.channels(); }
  /// Writes waiting for the write strand.
  size_t queued_writes() const { return writes_->queued(); }
  /// Idempotent; ends open streams, stops accepting, drains writes, joins threads.
  void shutdown();

 private:
  explicit Server(Options options);

  Options options_;
  int port_ = 0;
  boost::asio::thread_pool pool_;
  watch::WatchHub hub_;
  std::unique_ptr<watch::ExecutionCache> cache_;
  std::unique_ptr<store::WriteStrand> writes_;
  std::unique_ptr<store::ReaderPool> reads_;
  std::unique_ptr<api::Admission> admission_;
  std::unique_ptr<api::Backend> backend_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> grpc_;
  bool stopped_ = false;
};

}  // namespace aexd
