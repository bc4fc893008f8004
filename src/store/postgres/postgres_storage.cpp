#include "store/postgres/postgres_storage.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <exception>

#include "store/postgres/operations.h"
#include "store/postgres/schema.h"

namespace aexd::store::postgres {
namespace {

constexpr const char* kChannel = "aexd_executions";
// A job that keeps losing to other writers is answered ABORTED after this many tries.
constexpr int kMaxRetries = 10;
// How long a job waits for a row another process's batch holds before it gives way (and runs again
// in the next batch): batches of two processes that lock two rows in opposite orders would otherwise
// wait for PostgreSQL's deadlock check (deadlock_timeout, 1 s by default, and only a superuser may
// lower it).
constexpr const char* kLockTimeout = "SET lock_timeout = '50ms'";
constexpr std::chrono::seconds kListenRetry{1};

}  // namespace

bool is_postgres_uri(const std::string& db) {
  return db.starts_with("postgresql://") || db.starts_with("postgres://");
}

std::string without_password(std::string db) {
  if (!is_postgres_uri(db)) return db;
  const size_t authority = db.find("://") + 3;
  const size_t authority_end = std::min(db.find_first_of("/?", authority), db.size());
  if (const size_t at = db.rfind('@', authority_end); at != std::string::npos && at >= authority) {
    if (const size_t colon = db.find(':', authority); colon < at) db.replace(colon + 1, at - colon - 1, "***");
  }
  for (size_t p = db.find("password="); p != std::string::npos; p = db.find("password=", p + 1)) {
    const size_t value = p + 9;
    db.replace(value, std::min(db.find('&', value), db.size()) - value, "***");
  }
  return db;
}

PostgresStorage::PostgresStorage(const Settings& settings, boost::asio::any_io_executor executor,
                                 model::CommitListener& listener)
    : settings_(settings),
      executor_(executor),
      strand_(boost::asio::make_strand(executor)),
      listener_(listener),
      queue_(settings.limits),
      listen_socket_(strand_),
      listen_retry_(strand_) {}

Result<std::unique_ptr<Storage>> PostgresStorage::open(const Settings& settings, boost::asio::any_io_executor executor,
                                                       model::CommitListener& listener) {
  std::unique_ptr<PostgresStorage> storage(new PostgresStorage(settings, std::move(executor), listener));
  try {
    storage->writer_ = Connection::open(settings.conninfo);
    migrate(*storage->writer_);
    storage->writer_->exec(kLockTimeout);
    take_writer_slot(*storage->writer_);
    storage->writer_pid_ = storage->writer_->backend_pid();
    for (int i = 0; i < settings.readers; ++i) storage->idle_readers_.push_back(Connection::open(settings.conninfo));
    storage->listen_db_ = Connection::open(settings.conninfo);
    storage->listen_db_->exec(std::string("LISTEN ") + kChannel);
  } catch (const std::exception& e) {
    // The URI may carry a password: name the database by what libpq reports, not by the URI.
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, std::string("PostgreSQL database: ") + e.what());
  }
  boost::asio::post(storage->strand_, [s = storage.get()] { s->wait_for_notifications(); });
  return std::unique_ptr<Storage>(std::move(storage));
}

PostgresStorage::~PostgresStorage() {
  // libpq owns the socket: Asio must not close it.
  if (listen_socket_.is_open()) listen_socket_.release();
}

void PostgresStorage::stop() {
  boost::asio::post(strand_, [this] {
    stopping_ = true;
    listen_retry_.cancel();
    if (listen_socket_.is_open()) listen_socket_.cancel();
  });
}

// ---- writer

void PostgresStorage::write(Job job, Done done, Wanted wanted) {
  if (queue_.push(std::move(job), std::move(done), std::move(wanted))) boost::asio::post(strand_, [this] { drain(); });
}

bool PostgresStorage::writer_connected() {
  if (PQstatus(writer_->handle()) == CONNECTION_OK) return true;
  try {
    writer_ = Connection::open(settings_.conninfo);
    writer_->exec(kLockTimeout);
    take_writer_slot(*writer_);
    writer_pid_ = writer_->backend_pid();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

void PostgresStorage::drain() {
  const auto began = std::chrono::steady_clock::now();
  std::vector<WriteQueue::Pending> batch = queue_.take_batch();
  std::vector<grpc::Status> results(batch.size());
  std::vector<model::ExecutionChange> changes;
  std::vector<bool> conflicted(batch.size());  // lost to another writer: worth running again
  grpc::Status lost;  // why the batch did not commit, as its jobs that had succeeded are told
  if (!batch.empty() && !writer_connected())
    lost = grpc::Status(grpc::StatusCode::UNAVAILABLE, "not committed: database connection failed: " +
                                                           std::string(PQerrorMessage(writer_->handle())));
  const auto began_commit = std::chrono::steady_clock::now();
  if (!batch.empty() && lost.ok()) {
    Operations tx(*writer_, &changes);
    try {
      // One savepoint per job, one round trip between jobs: released and set again after a job that
      // succeeded; rolled back to (it stays set) after one that failed, which releases the row locks
      // that job took.
      writer_->exec("BEGIN; SAVEPOINT job");
      for (size_t i = 0; i < batch.size(); ++i) {
        const size_t changes_before = changes.size();
        try {
          results[i] = batch[i].job(tx);
        } catch (const std::exception& e) {  // a job should not throw; if it does, it fails alone
          results[i] = status_of(e);
        }
        const bool conflict = tx.take_conflict();
        const bool last = i + 1 == batch.size();
        if (results[i].ok()) {
          if (!last) writer_->exec("RELEASE job; SAVEPOINT job");
          continue;
        }
        writer_->exec("ROLLBACK TO job");
        changes.resize(changes_before);
        conflicted[i] = conflict && batch[i].retries < kMaxRetries;
      }
      writer_->exec("COMMIT");
    } catch (const std::exception& e) {
      lost = status_of(e, "not committed");
    }
  }
  const bool committed = lost.ok() && !batch.empty();
  if (!lost.ok()) {
    if (PQstatus(writer_->handle()) == CONNECTION_OK && writer_->in_transaction())
      PQclear(PQexec(writer_->handle(), "ROLLBACK"));
    for (auto& result : results)
      if (result.ok()) result = lost;
    changes.clear();
  }
  if (committed && settings_.stats)
    settings_.stats->batch_committed(batch.size(), std::chrono::steady_clock::now() - began_commit);
  if (!changes.empty()) listener_.committed(changes);
  // A job that lost a conflict runs again, first in the next transaction; the others are answered.
  for (size_t i = batch.size(); i-- > 0;)  // backwards: each goes first in line, so they keep their order
    if (committed && conflicted[i]) queue_.retry(std::move(batch[i]));
  for (size_t i = 0; i < batch.size(); ++i)
    if (!committed || !conflicted[i]) batch[i].done(results[i]);
  if (queue_.finished(committed ? batch.size() : 0, std::chrono::steady_clock::now() - began))
    boost::asio::post(strand_, [this] { drain(); });
}

// ---- other processes' changes

void PostgresStorage::wait_for_notifications() {
  if (stopping_ || !listen_db_) return;
  if (!listen_socket_.is_open()) listen_socket_.assign(PQsocket(listen_db_->handle()));
  listen_socket_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    on_notifications();
  });
}

void PostgresStorage::on_notifications() {
  PGconn* conn = listen_db_->handle();
  if (!PQconsumeInput(conn)) {
    reconnect_listener_later();
    return;
  }
  const int own = writer_pid_.load();
  while (PGnotify* notify = PQnotifies(conn)) {
    if (notify->be_pid != own) {
      std::string_view payload = notify->extra;
      remote_changed_.emplace(payload.substr(0, payload.find(' ')));
    }
    PQfreemem(notify);
  }
  if (!remote_changed_.empty() && !std::exchange(remote_load_posted_, true))
    boost::asio::post(strand_, [this] { load_remote_changes(); });
  wait_for_notifications();
}

void PostgresStorage::load_remote_changes() {
  remote_load_posted_ = false;
  if (remote_changed_.empty()) return;
  std::vector<std::string> ids(remote_changed_.begin(), remote_changed_.end());
  remote_changed_.clear();
  // Read on the writer, between its batches: each state it reads is at least as new as the last one
  // this process published, so watchers and the cache never go back a revision.
  std::vector<model::ExecutionChange> changes;
  try {
    if (!writer_connected()) throw Error("", PQerrorMessage(writer_->handle()));
    std::set<std::string> absent(ids.begin(), ids.end());
    auto q = writer_->query("SELECT id, revision, phase, body FROM executions WHERE id = ANY($1)");
    for (q.bind_array(ids); q.step();) {
      std::string id(q.text(0));
      absent.erase(id);
      changes.push_back({std::move(id), model::make_snapshot(static_cast<uint64_t>(q.integer(1)),
                                                              static_cast<Phase>(q.integer(2)), q.blob(3))});
    }
    for (const auto& id : absent) changes.push_back({id, nullptr});
  } catch (const std::exception&) {
    // Tried again with the next notification; until then watchers here wait for that state.
    remote_changed_.insert(ids.begin(), ids.end());
    return;
  }
  listener_.committed(changes);
}

void PostgresStorage::reconnect_listener_later() {
  if (listen_socket_.is_open()) listen_socket_.release();
  listen_db_.reset();
  if (stopping_) return;
  listen_retry_.expires_after(kListenRetry);
  listen_retry_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    try {
      listen_db_ = Connection::open(settings_.conninfo);
      listen_db_->exec(std::string("LISTEN ") + kChannel);
    } catch (const std::exception&) {
      reconnect_listener_later();
      return;
    }
    wait_for_notifications();
  });
}

// ---- readers

void PostgresStorage::read(Read read, Done done) {
  boost::asio::post(executor_, [this, read = std::move(read), done = std::move(done)] {
    grpc::Status status;
    std::unique_ptr<Connection> db = acquire();
    try {
      if (PQstatus(db->handle()) != CONNECTION_OK) db = Connection::open(settings_.conninfo);
      Operations reader(*db, nullptr);
      status = read(reader);
    } catch (const std::exception& e) {
      status = status_of(e);
    }
    release(std::move(db));
    done(status);
  });
}

std::unique_ptr<Connection> PostgresStorage::acquire() {
  std::unique_lock lock(readers_mutex_);
  // Only waits when more executor threads read at once than there are connections.
  reader_available_.wait(lock, [this] { return !idle_readers_.empty(); });
  auto db = std::move(idle_readers_.back());
  idle_readers_.pop_back();
  return db;
}

void PostgresStorage::release(std::unique_ptr<Connection> db) {
  {
    std::lock_guard lock(readers_mutex_);
    idle_readers_.push_back(std::move(db));
  }
  reader_available_.notify_one();
}

}  // namespace aexd::store::postgres
