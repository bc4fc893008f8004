// PostgresStorage: the storage interface on a PostgreSQL database that several aexd processes
// share. Like SQLite's, one writer connection per process group-commits on a strand (one
// transaction per batch) and reads go to a pool of connections; both run on the executor they are
// given (libpq's blocking calls never run on a gRPC thread). A LISTEN connection, watched by Asio,
// hears the executions other processes change; the writer loads each batch of them once and tells
// the commit listener, in line with its own commits. Thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "domain/result.h"
#include "model/commit_listener.h"
#include "store/postgres/connection.h"
#include "store/storage.h"
#include "store/write_queue.h"

namespace aexd::store::postgres {

struct Settings {
  std::string conninfo;  // a libpq connection string or postgresql:// URI
  int readers = 2;
  WriteQueue::Limits limits;
  CommitStats* stats = nullptr;  // told of every committed batch
};

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
bool is_postgres_uri(const std::string& db);
/// `db` fit for a log line: a URI's password (user:PASSWORD@ or password=PASSWORD) shown as ***.
std::string without_password(std::string db);

class PostgresStorage final : public Storage {
 public:
  /// Connects, migrates (under an advisory lock) and starts listening; FAILED_PRECONDITION naming
  /// the database and why when it cannot.
  static Result<std::unique_ptr<Storage>> open(const Settings& settings, boost::asio::any_io_executor executor,
                                               model::CommitListener& listener);
  ~PostgresStorage() override;

  using Storage::write;
  void write(Job job, Done done, Wanted wanted) override;
  void read(Read read, Done done) override;
  size_t queued_writes() const override { return queue_.size(); }
  /// Stops listening; queued writes still commit.
  void stop() override;

 private:
  PostgresStorage(const Settings& settings, boost::asio::any_io_executor executor, model::CommitListener& listener);

  // The writer, on strand_.
  void drain();
  void commit_batch();
  void load_remote_changes();
  bool writer_connected();

  // The listener, on strand_ as well (its handful of calls are short).
  void listen();
  void wait_for_notifications();
  void on_notifications();
  void reconnect_listener_later();

  // The readers.
  std::unique_ptr<Connection> acquire();
  void release(std::unique_ptr<Connection> db);

  const Settings settings_;
  boost::asio::any_io_executor executor_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  model::CommitListener& listener_;
  WriteQueue queue_;

  std::unique_ptr<Connection> writer_;     // strand-bound
  std::atomic<int> writer_pid_{0};         // the writer's server process: its own notifications are skipped
  std::set<std::string> remote_changed_;   // strand-bound: executions other processes changed, to load
  bool remote_load_posted_ = false;        // strand-bound

  std::unique_ptr<Connection> listen_db_;  // strand-bound
  boost::asio::posix::stream_descriptor listen_socket_;
  boost::asio::steady_timer listen_retry_;
  bool stopping_ = false;  // strand-bound

  std::mutex readers_mutex_;
  std::condition_variable reader_available_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
};

}  // namespace aexd::store::postgres
