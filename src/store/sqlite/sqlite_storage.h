// SqliteStorage: the embedded implementation of the storage interface. One write strand owns the
// single writer connection and group-commits; reads go to a pool of WAL reader connections; both
// run on the executor it is given. Thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

#include "domain/result.h"
#include "model/commit_listener.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/reader_pool.h"
#include "store/sqlite/write_strand.h"
#include "store/storage.h"

namespace aexd::store::sqlite {

struct Settings {
  std::string path;
  Sync sync = Sync::normal;
  int readers = 2;
  WriteStrand::Limits limits;
  CommitStats* stats = nullptr;  // told of every committed batch
};

class SqliteStorage final : public Storage {
 public:
  /// Opens (creating and migrating) the database; FAILED_PRECONDITION naming the file and why it
  /// cannot, the file untouched when it is not one aexd may use (database_file.h).
  static Result<std::unique_ptr<Storage>> open(const Settings& settings, boost::asio::any_io_executor executor,
                                               model::CommitListener& listener);

  using Storage::write;
  void write(Job job, Done done, Wanted wanted) override {
    writes_.submit(std::move(job), std::move(done), std::move(wanted));
  }
  void read(Read read, Done done) override { reads_.read(std::move(read), std::move(done)); }
  size_t queued_writes() const override { return writes_.queued(); }
  void stop() override {}  // it waits for nothing but its callers

 private:
  SqliteStorage(const Settings& settings, boost::asio::any_io_executor executor, std::unique_ptr<Connection> writer,
                model::CommitListener& listener);

  WriteStrand writes_;
  ReaderPool reads_;
};

}  // namespace aexd::store::sqlite
