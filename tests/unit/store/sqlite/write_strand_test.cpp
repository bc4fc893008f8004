#include "store/sqlite/write_strand.h"

#include <doctest/doctest.h>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "domain/audit.h"
#include "store/sqlite/rows.h"
#include "support/temp_db.h"

using namespace aexd;
using namespace std::chrono_literals;
using aexd::test::TempDb;

namespace {

constexpr auto kTimeout = 20s;

Execution execution(const std::string& id) {
  Execution e;
  e.mutable_metadata()->set_id(id);
  set_revision(*e.mutable_metadata(), 1);
  e.mutable_spec()->set_session_id("ses-test");
  e.mutable_spec()->set_message("hello");
  return e;
}

// A job that stores an execution and announces it.
store::sqlite::WriteStrand::Job insert_job(const std::string& id) {
  return [id](store::Tx& tx) {
    const Execution e = execution(id);
    return tx.insert(e, model::make_snapshot(e));
  };
}

// Statuses handed to `done`, by job name, and a bounded wait for them.
class Outcomes {
 public:
  store::sqlite::WriteStrand::Done record(std::string name) {
    return [this, name = std::move(name)](const grpc::Status& status) {
      std::lock_guard lock(mutex_);
      statuses_.emplace(name, status);
      changed_.notify_all();
    };
  }
  bool wait_for(size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kTimeout, [&] { return statuses_.size() >= count; });
  }
  grpc::StatusCode code(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = statuses_.find(name);
    REQUIRE(it != statuses_.end());
    return it->second.error_code();
  }
  std::string message(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = statuses_.find(name);
    REQUIRE(it != statuses_.end());
    return it->second.error_message();
  }
  bool all_ok() {
    std::lock_guard lock(mutex_);
    for (const auto& [name, status] : statuses_)
      if (!status.ok()) return false;
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, grpc::Status> statuses_;
};

// The execution ids each commit announced.
class CommitLog final : public model::CommitListener {
 public:
  void committed(const std::vector<model::ExecutionChange>& changes) override {
    std::vector<std::string> ids;
    for (const auto& c : changes) ids.push_back(c.id);
    std::lock_guard lock(mutex_);
    commits_.push_back(std::move(ids));
  }
  std::vector<std::vector<std::string>> commits() {
    std::lock_guard lock(mutex_);
    return commits_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::vector<std::string>> commits_;
};

struct StrandFixture {
  TempDb dir;
  CommitLog log;
  boost::asio::thread_pool pool{2};
  Outcomes outcomes;
  std::unique_ptr<store::sqlite::WriteStrand> writer;

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();

  ~StrandFixture() {
    try {
      release.set_value();  // a test that stopped early must not leave the strand blocked
    } catch (const std::future_error&) {
    }
    // The strand may still be finishing a drain after the last `done`; let it end first.
    pool.join();
  }

  void start(store::sqlite::WriteStrand::Limits limits = {}, std::unique_ptr<store::sqlite::Connection> db = nullptr) {
    writer = std::make_unique<store::sqlite::WriteStrand>(pool.get_executor(), db ? std::move(db) : dir.open(),
                                                          dir.open(), limits, log);
  }

  // Occupies the write strand until `release` is set, so later submits pile up in the queue.
  void block_strand() {
    auto started = std::make_shared<std::promise<void>>();
    auto running = started->get_future();
    writer->submit(
        [started, released = released](store::Tx&) {
          started->set_value();
          return released.wait_for(kTimeout) == std::future_status::ready
                     ? grpc::Status::OK
                     : grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "never released");
        },
        outcomes.record("blocker"));
    REQUIRE(running.wait_for(kTimeout) == std::future_status::ready);
  }

  int64_t stored_rows() {
    auto db = store::sqlite::Connection::open(dir.path(), store::sqlite::Sync::off);
    auto q = db->query("SELECT count(*) FROM executions");
    REQUIRE(q.step());
    return q.integer(0);
  }

  std::vector<std::vector<std::string>> committed() { return log.commits(); }
};

}  // namespace

TEST_CASE_FIXTURE(StrandFixture, "many concurrent submits all complete and all their rows are stored") {
  start();
  constexpr int kThreads = 4, kPerThread = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "aex-" + std::to_string(t) + "-" + std::to_string(i);
        writer->submit(insert_job(id), outcomes.record(id));
      }
    });
  for (auto& thread : threads) thread.join();
  REQUIRE(outcomes.wait_for(kThreads * kPerThread));
  CHECK(outcomes.all_ok());
  CHECK(stored_rows() == kThreads * kPerThread);
  size_t announced = 0;
  for (const auto& commit : committed()) announced += commit.size();
  CHECK(announced == size_t{kThreads} * kPerThread);
}

TEST_CASE_FIXTURE(StrandFixture, "jobs queued while the strand is busy commit together in one transaction") {
  start();
  block_strand();
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "aex-" + std::to_string(t) + "-" + std::to_string(i);
        writer->submit(insert_job(id), outcomes.record(id));
      }
    });
  for (auto& thread : threads) thread.join();
  CHECK(writer->queued() == kThreads * kPerThread);
  release.set_value();
  REQUIRE(outcomes.wait_for(kThreads * kPerThread + 1));
  CHECK(outcomes.all_ok());
  const auto batches = committed();
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].size() == size_t{kThreads} * kPerThread);
  CHECK(stored_rows() == kThreads * kPerThread);
}

TEST_CASE_FIXTURE(StrandFixture, "a batch holds at most max_batch jobs") {
  start({.max_queued = 100, .max_batch = 3});
  block_strand();
  for (int i = 0; i < 7; ++i)
    writer->submit(insert_job("aex-" + std::to_string(i)), outcomes.record(std::to_string(i)));
  release.set_value();
  REQUIRE(outcomes.wait_for(8));
  const auto batches = committed();
  REQUIRE(batches.size() == 3);
  CHECK(batches[0] == std::vector<std::string>{"aex-0", "aex-1", "aex-2"});
  CHECK(batches[1] == std::vector<std::string>{"aex-3", "aex-4", "aex-5"});
  CHECK(batches[2] == std::vector<std::string>{"aex-6"});
}

TEST_CASE_FIXTURE(StrandFixture, "a job that returns an error leaves no trace while the rest of its batch commits") {
  start();
  block_strand();
  writer->submit(insert_job("aex-before"), outcomes.record("before"));
  writer->submit(
      [](store::Tx& tx) {
        insert_job("aex-failed")(tx);
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "rejected after writing");
      },
      outcomes.record("failed"));
  writer->submit(insert_job("aex-after"), outcomes.record("after"));
  release.set_value();
  REQUIRE(outcomes.wait_for(4));
  CHECK(outcomes.code("before") == grpc::StatusCode::OK);
  CHECK(outcomes.code("failed") == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(outcomes.code("after") == grpc::StatusCode::OK);
  auto db = dir.open();
  CHECK(store::sqlite::load<Execution>(*db, "aex-before"));
  CHECK_FALSE(store::sqlite::load<Execution>(*db, "aex-failed"));
  CHECK(store::sqlite::load<Execution>(*db, "aex-after"));
}

TEST_CASE_FIXTURE(StrandFixture, "a job that throws is INTERNAL, leaves no trace, and the rest of its batch commits") {
  start();
  block_strand();
  writer->submit(
      [](store::Tx& tx) -> grpc::Status {
        insert_job("aex-thrown")(tx);
        throw std::runtime_error("boom");
      },
      outcomes.record("thrown"));
  writer->submit(insert_job("aex-after"), outcomes.record("after"));
  release.set_value();
  REQUIRE(outcomes.wait_for(3));
  CHECK(outcomes.code("thrown") == grpc::StatusCode::INTERNAL);
  CHECK(outcomes.code("after") == grpc::StatusCode::OK);
  auto db = dir.open();
  CHECK_FALSE(store::sqlite::load<Execution>(*db, "aex-thrown"));
  CHECK(store::sqlite::load<Execution>(*db, "aex-after"));
}

TEST_CASE_FIXTURE(StrandFixture,
                  "the commit listener receives the execution changes of successful jobs only, in order") {
  start();
  block_strand();
  writer->submit(insert_job("aex-1"), outcomes.record("1"));
  writer->submit(
      [](store::Tx& tx) {
        insert_job("aex-2")(tx);
        return grpc::Status(grpc::StatusCode::ABORTED, "lost a race");
      },
      outcomes.record("2"));
  writer->submit(
      [](store::Tx& tx) {
        insert_job("aex-3")(tx);
        return tx.remove(execution("aex-gone"));
      },
      outcomes.record("3"));
  release.set_value();
  REQUIRE(outcomes.wait_for(4));
  const auto batches = committed();
  REQUIRE(batches.size() == 1);
  CHECK(batches[0] == std::vector<std::string>{"aex-1", "aex-3", "aex-gone"});
}

TEST_CASE_FIXTURE(StrandFixture, "a batch whose jobs all fail announces nothing") {
  start();
  writer->submit(
      [](store::Tx& tx) {
        insert_job("aex-x")(tx);
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no");
      },
      outcomes.record("x"));
  REQUIRE(outcomes.wait_for(1));
  CHECK(outcomes.code("x") == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(committed().empty());
  CHECK(stored_rows() == 0);
}

TEST_CASE_FIXTURE(StrandFixture, "a full queue answers RESOURCE_EXHAUSTED at once without running the job") {
  start({.max_queued = 2, .max_batch = 512});
  block_strand();
  writer->submit(insert_job("aex-1"), outcomes.record("1"));
  writer->submit(insert_job("aex-2"), outcomes.record("2"));
  bool ran = false;
  writer->submit(
      [&ran](store::Tx&) {
        ran = true;
        return grpc::Status::OK;
      },
      outcomes.record("refused"));
  // `done` ran inside submit, before the strand was released.
  CHECK(outcomes.code("refused") == grpc::StatusCode::RESOURCE_EXHAUSTED);
  release.set_value();
  REQUIRE(outcomes.wait_for(4));
  CHECK(outcomes.code("1") == grpc::StatusCode::OK);
  CHECK(outcomes.code("2") == grpc::StatusCode::OK);
  CHECK_FALSE(ran);
  CHECK(stored_rows() == 2);
}

TEST_CASE_FIXTURE(StrandFixture, "the queue accepts jobs again once it has drained") {
  start({.max_queued = 1, .max_batch = 512});
  writer->submit(insert_job("aex-1"), outcomes.record("1"));
  REQUIRE(outcomes.wait_for(1));
  writer->submit(insert_job("aex-2"), outcomes.record("2"));
  REQUIRE(outcomes.wait_for(2));
  CHECK(outcomes.code("1") == grpc::StatusCode::OK);
  CHECK(outcomes.code("2") == grpc::StatusCode::OK);
}

TEST_CASE_FIXTURE(StrandFixture, "done is called only after the batch is committed and visible to other connections") {
  start();
  auto reader = store::sqlite::Connection::open(dir.path(), store::sqlite::Sync::off);
  auto rows = [&reader] {
    auto q = reader->query("SELECT count(*) FROM executions");
    return q.step() ? q.integer(0) : -1;
  };
  int64_t seen_inside_job = -1, seen_in_done = -1;
  std::promise<void> finished;
  // Both run on the strand, one after the other, so the reader is never used concurrently.
  writer->submit(
      [&](store::Tx& tx) {
        insert_job("aex-durable")(tx);
        seen_inside_job = rows();
        return grpc::Status::OK;
      },
      [&](const grpc::Status&) {
        seen_in_done = rows();
        finished.set_value();
      });
  REQUIRE(finished.get_future().wait_for(kTimeout) == std::future_status::ready);
  CHECK(seen_inside_job == 0);
  CHECK(seen_in_done == 1);
}

TEST_CASE_FIXTURE(StrandFixture, "a growing WAL is checkpointed into the database file off the strand") {
  start();
  const auto db_file = std::filesystem::path(dir.path());
  const auto before = std::filesystem::file_size(db_file);
  constexpr int kJobs = 200;  // 200 x 128 KiB bodies: well past the 16 MiB checkpoint threshold
  for (int i = 0; i < kJobs; ++i) {
    writer->submit(
        [i](store::Tx& tx) {
          Execution e = execution("aex-big-" + std::to_string(i));
          e.mutable_spec()->set_message(std::string(128 * 1024, 'x'));
          return tx.insert(e, model::make_snapshot(e));
        },
        outcomes.record("big" + std::to_string(i)));
    REQUIRE(outcomes.wait_for(static_cast<size_t>(i) + 1));  // one commit per job: the WAL grows steadily
  }
  CHECK(outcomes.all_ok());
  pool.join();  // the checkpoint runs on the pool; let it finish
  CHECK(std::filesystem::file_size(db_file) > before + 8 * 1024 * 1024);
}

TEST_CASE_FIXTURE(StrandFixture,
                  "a failed commit tells each job what happened: its own error, or that it was not committed") {
  // A deferred foreign key is checked at COMMIT: inserting "aex-poison" makes the whole batch's commit fail.
  // A broken constraint is a bug, not a condition a retry outlives: INTERNAL (it was UNAVAILABLE for any failure).
  auto db = dir.open();
  db->exec("PRAGMA foreign_keys=ON");
  db->exec("CREATE TEMP TABLE parent(id TEXT PRIMARY KEY)");
  db->exec("CREATE TEMP TABLE child(parent_id TEXT REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
  db->exec(
      "CREATE TEMP TRIGGER poison AFTER INSERT ON main.executions WHEN NEW.id = 'aex-poison' "
      "BEGIN INSERT INTO child VALUES('missing'); END");
  start({}, std::move(db));
  block_strand();
  writer->submit(insert_job("aex-1"), outcomes.record("1"));
  writer->submit([](store::Tx&) { return grpc::Status(grpc::StatusCode::NOT_FOUND, "its own error"); },
                 outcomes.record("failed"));
  writer->submit(insert_job("aex-poison"), outcomes.record("poison"));
  release.set_value();
  REQUIRE(outcomes.wait_for(4));
  CHECK(outcomes.code("1") == grpc::StatusCode::INTERNAL);
  CHECK(outcomes.code("failed") == grpc::StatusCode::NOT_FOUND);
  CHECK(outcomes.code("poison") == grpc::StatusCode::INTERNAL);
  CHECK(outcomes.message("1").starts_with("not committed: "));
  CHECK(committed().empty());
  CHECK(stored_rows() == 0);
}

TEST_CASE_FIXTURE(StrandFixture,
                  "a full database is RESOURCE_EXHAUSTED naming it, a job is acknowledged only if stored, and writes "
                  "succeed again once there is room") {
  auto db = dir.open();
  auto* handle = db->handle();
  int64_t pages = 0;
  {
    auto q = db->query("PRAGMA page_count");
    REQUIRE(q.step());
    pages = q.integer(0);
  }
  // max_page_count makes SQLite answer SQLITE_FULL as a full disk would, past a few more pages.
  db->exec(("PRAGMA max_page_count=" + std::to_string(pages + 16)).c_str());
  start({}, std::move(db));
  const auto big_job = [](const std::string& id) {
    return [id](store::Tx& tx) {
      Execution e = execution(id);
      e.mutable_spec()->set_message(std::string(1 << 20, 'x'));
      return tx.insert(e, model::make_snapshot(e));
    };
  };
  block_strand();
  writer->submit(insert_job("aex-1"), outcomes.record("1"));
  writer->submit(big_job("aex-big"), outcomes.record("big"));
  writer->submit(insert_job("aex-2"), outcomes.record("2"));
  release.set_value();
  REQUIRE(outcomes.wait_for(4));
  CHECK(outcomes.code("big") == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(outcomes.message("big").find("disk full") != std::string::npos);
  // SQLite may undo the statement only or the whole transaction; either way no job is told a lie.
  for (const char* name : {"1", "2"}) {
    CAPTURE(name);
    const auto code = outcomes.code(name);
    CHECK((code == grpc::StatusCode::OK || code == grpc::StatusCode::RESOURCE_EXHAUSTED));
  }
  const int64_t acknowledged =
      (outcomes.code("1") == grpc::StatusCode::OK) + (outcomes.code("2") == grpc::StatusCode::OK);
  CHECK(stored_rows() == acknowledged);

  // Room again (the strand is idle: every job is done, and the pragma touches only this connection's limit).
  sqlite3_exec(handle, "PRAGMA max_page_count=1073741823", nullptr, nullptr, nullptr);
  writer->submit(big_job("aex-big-again"), outcomes.record("big again"));
  REQUIRE(outcomes.wait_for(5));
  CHECK(outcomes.code("big again") == grpc::StatusCode::OK);
  CHECK(stored_rows() == acknowledged + 1);
}

TEST_CASE_FIXTURE(StrandFixture, "a job whose caller left while it was queued is not run and is told why") {
  start();
  block_strand();
  std::atomic<bool> cancelled{false}, expired{false}, ran_unwanted{false};
  auto unwanted_job = [&ran_unwanted](store::Tx&) {
    ran_unwanted = true;
    return grpc::Status::OK;
  };
  writer->submit(unwanted_job, outcomes.record("cancelled"), [&cancelled](auto) {
    return cancelled ? grpc::Status(grpc::StatusCode::CANCELLED, "gone") : grpc::Status::OK;
  });
  writer->submit(unwanted_job, outcomes.record("expired"), [&expired](auto) {
    return expired ? grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late") : grpc::Status::OK;
  });
  writer->submit(insert_job("aex-wanted"), outcomes.record("wanted"), [](auto) { return grpc::Status::OK; });
  // The callers leave after submitting, while their jobs wait behind the blocker.
  cancelled = true;
  expired = true;
  release.set_value();
  REQUIRE(outcomes.wait_for(4));
  CHECK(outcomes.code("cancelled") == grpc::StatusCode::CANCELLED);
  CHECK(outcomes.code("expired") == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(outcomes.code("wanted") == grpc::StatusCode::OK);
  CHECK_FALSE(ran_unwanted);
  CHECK(stored_rows() == 1);
}

TEST_CASE_FIXTURE(StrandFixture,
                  "with a queue budget, writes beyond what the strand commits in that time are refused") {
  // 1 ms at any rate a single SQLite writer reaches (well under 100,000 jobs/s) is under 100 jobs.
  start({.max_queued = 100'000, .max_batch = 512, .queue_budget = 1ms});
  writer->submit(insert_job("aex-first"), outcomes.record("first"));  // teaches the strand its rate
  REQUIRE(outcomes.wait_for(1));
  block_strand();
  constexpr int kSubmitted = 2000;
  for (int i = 0; i < kSubmitted; ++i)
    writer->submit(insert_job("aex-" + std::to_string(i)), outcomes.record(std::to_string(i)));
  const size_t admitted = writer->queued();
  CHECK(admitted < 100);
  release.set_value();
  REQUIRE(outcomes.wait_for(kSubmitted + 2));
  int refused = 0;
  for (int i = 0; i < kSubmitted; ++i) {
    const auto code = outcomes.code(std::to_string(i));
    CHECK((code == grpc::StatusCode::OK || code == grpc::StatusCode::RESOURCE_EXHAUSTED));
    refused += code == grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  CHECK(static_cast<size_t>(kSubmitted - refused) == admitted);
  CHECK(stored_rows() == static_cast<int64_t>(admitted) + 1);
}
