#include "store/write_strand.h"

#include <boost/asio/thread_pool.hpp>
#include <doctest/doctest.h>

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
#include "store/tables.h"
#include "unit/temp_db.h"

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
store::WriteStrand::Job insert_job(const std::string& id) {
  return [id](store::WriteTx& tx) {
    const Execution e = execution(id);
    store::insert(tx.db, e);
    tx.changed(e);
    return grpc::Status::OK;
  };
}

// Statuses handed to `done`, by job name, and a bounded wait for them.
class Outcomes {
 public:
  store::WriteStrand::Done record(std::string name) {
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

struct StrandFixture {
  TempDb dir;
  boost::asio::thread_pool pool{2};
  Outcomes outcomes;
  std::mutex commits_mutex;
  std::vector<std::vector<std::string>> commits;  // execution ids announced per commit
  std::unique_ptr<store::WriteStrand> writer;

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

  void start(store::WriteStrand::Limits limits = {}) {
    writer = std::make_unique<store::WriteStrand>(pool.get_executor(), dir.open(), dir.open(), limits,
                                                  [this](std::vector<store::ExecutionChange>& changes) {
                                                    std::vector<std::string> ids;
                                                    for (const auto& c : changes) ids.push_back(c.id);
                                                    std::lock_guard lock(commits_mutex);
                                                    commits.push_back(std::move(ids));
                                                  });
  }

  // Occupies the write strand until `release` is set, so later submits pile up in the queue.
  void block_strand() {
    auto started = std::make_shared<std::promise<void>>();
    auto running = started->get_future();
    writer->submit(
        [started, released = released](store::WriteTx&) {
          started->set_value();
          return released.wait_for(kTimeout) == std::future_status::ready
                     ? grpc::Status::OK
                     : grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "never released");
        },
        outcomes.record("blocker"));
    REQUIRE(running.wait_for(kTimeout) == std::future_status::ready);
  }

  int64_t stored_rows() {
    auto db = store::Connection::open(dir.path(), store::Sync::off);
    auto q = db->query("SELECT count(*) FROM executions");
    REQUIRE(q.step());
    return q.integer(0);
  }

  std::vector<std::vector<std::string>> committed() {
    std::lock_guard lock(commits_mutex);
    return commits;
  }
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
  for (int i = 0; i < 7; ++i) writer->submit(insert_job("aex-" + std::to_string(i)), outcomes.record(std::to_string(i)));
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
      [](store::WriteTx& tx) {
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
  CHECK(store::load<Execution>(*db, "aex-before"));
  CHECK_FALSE(store::load<Execution>(*db, "aex-failed"));
  CHECK(store::load<Execution>(*db, "aex-after"));
}

TEST_CASE_FIXTURE(StrandFixture, "a job that throws is INTERNAL, leaves no trace, and the rest of its batch commits") {
  start();
  block_strand();
  writer->submit(
      [](store::WriteTx& tx) -> grpc::Status {
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
  CHECK_FALSE(store::load<Execution>(*db, "aex-thrown"));
  CHECK(store::load<Execution>(*db, "aex-after"));
}

TEST_CASE_FIXTURE(StrandFixture, "on_commit receives the execution changes of successful jobs only, in order") {
  start();
  block_strand();
  writer->submit(insert_job("aex-1"), outcomes.record("1"));
  writer->submit(
      [](store::WriteTx& tx) {
        insert_job("aex-2")(tx);
        return grpc::Status(grpc::StatusCode::ABORTED, "lost a race");
      },
      outcomes.record("2"));
  writer->submit(
      [](store::WriteTx& tx) {
        insert_job("aex-3")(tx);
        tx.deleted("aex-gone");
        return grpc::Status::OK;
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
  writer->submit([](store::WriteTx& tx) {
    insert_job("aex-x")(tx);
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no");
  }, outcomes.record("x"));
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
      [&ran](store::WriteTx&) {
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
  auto reader = store::Connection::open(dir.path(), store::Sync::off);
  auto rows = [&reader] {
    auto q = reader->query("SELECT count(*) FROM executions");
    return q.step() ? q.integer(0) : -1;
  };
  int64_t seen_inside_job = -1, seen_in_done = -1;
  std::promise<void> finished;
  // Both run on the strand, one after the other, so the reader is never used concurrently.
  writer->submit(
      [&](store::WriteTx& tx) {
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
        [i](store::WriteTx& tx) {
          Execution e = execution("aex-big-" + std::to_string(i));
          e.mutable_spec()->set_message(std::string(128 * 1024, 'x'));
          store::insert(tx.db, e);
          return grpc::Status::OK;
        },
        outcomes.record("big" + std::to_string(i)));
    REQUIRE(outcomes.wait_for(static_cast<size_t>(i) + 1));  // one commit per job: the WAL grows steadily
  }
  CHECK(outcomes.all_ok());
  pool.join();  // the checkpoint runs on the pool; let it finish
  CHECK(std::filesystem::file_size(db_file) > before + 8 * 1024 * 1024);
}
