#include "retention/retention_clock.h"

#include <doctest/doctest.h>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

using namespace aexd;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Records every batch the clock asks for and lets the test decide when and how it completes.
class FakeStore final : public model::RetentionStore {
 public:
  struct Call {
    std::chrono::milliseconds retain;
    int limit;
    Done done;
    Clock::time_point at;
  };

  void remove_ended(std::chrono::milliseconds retain, int limit, Done done) override {
    std::lock_guard lock(mutex_);
    calls_.push_back({retain, limit, std::move(done), Clock::now()});
    changed_.notify_all();
  }
  /// Waits (up to 10 s) for the clock to have asked for `n` batches in all.
  bool wait_calls(size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return calls_.size() >= n; });
  }
  size_t calls() {
    std::lock_guard lock(mutex_);
    return calls_.size();
  }
  Clock::time_point asked_at(size_t i) {
    std::lock_guard lock(mutex_);
    return calls_.at(i).at;
  }
  /// Completes batch `i` as the storage would, once it is durable.
  void complete(size_t i, const grpc::Status& status, model::RetentionBatch batch) {
    Done done;
    {
      std::lock_guard lock(mutex_);
      CHECK(calls_.at(i).limit == 2);
      done = calls_.at(i).done;
    }
    done(status, batch);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Call> calls_;
};

std::vector<model::ExecutionChange> ended(const std::string& id) {
  Execution e;
  e.mutable_metadata()->set_id(id);
  e.mutable_status()->set_phase(exv1::EXECUTION_COMPLETED);
  return {{id, model::make_snapshot(e)}};
}

std::vector<model::ExecutionChange> started(const std::string& id) {
  Execution e;
  e.mutable_metadata()->set_id(id);
  e.mutable_status()->set_phase(exv1::EXECUTION_IN_PROGRESS);
  return {{id, model::make_snapshot(e)}, {"aex-deleted", nullptr}};
}

struct Fixture {
  boost::asio::thread_pool pool{1};
  FakeStore store;
  ~Fixture() { pool.join(); }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture,
                  "start-up deletes a batch at once, a full batch queues the next, a short one arms for what is left") {
  retention::RetentionClock clock({10min, 2}, pool.get_executor());
  clock.start(store);
  REQUIRE(store.calls() == 1);  // at once: what expired while the server was down
  store.complete(0, grpc::Status::OK, {2, wall_ms() - 540'000});
  REQUIRE(store.calls() == 2);  // the batch was full: more may have expired
  // What is left expires 300 ms from now.
  const auto left_at = Clock::now();
  store.complete(1, grpc::Status::OK, {1, wall_ms() - 600'000 + 300});
  REQUIRE(store.wait_calls(3));
  CHECK(store.asked_at(2) - left_at >= 300ms - 20ms);
  store.complete(2, grpc::Status::OK, {1, std::nullopt});
  clock.shutdown();
}

TEST_CASE_FIXTURE(Fixture,
                  "an ending commit arms the timer when nothing is armed, and is not lost while a batch runs") {
  retention::RetentionClock clock({200ms, 2}, pool.get_executor());
  clock.start(store);
  store.complete(0, grpc::Status::OK, {0, std::nullopt});
  clock.committed(started("aex-1"));  // not an end: arms nothing
  const auto ended_at = Clock::now();
  clock.committed(ended("aex-1"));
  REQUIRE(store.wait_calls(2));
  CHECK(store.asked_at(1) - ended_at >= 200ms - 20ms);
  CHECK(store.calls() == 2);

  // Ends while batch 1 runs, maybe after it read the index: still deleted on time.
  const auto ended_meanwhile = Clock::now();
  clock.committed(ended("aex-2"));
  store.complete(1, grpc::Status::OK, {1, std::nullopt});
  REQUIRE(store.wait_calls(3));
  CHECK(store.asked_at(2) - ended_meanwhile >= 200ms - 20ms);
  store.complete(2, grpc::Status::OK, {1, std::nullopt});
  clock.shutdown();
}

TEST_CASE_FIXTURE(Fixture, "a batch that did not commit is tried again a second later, not at once") {
  retention::RetentionClock clock({1h, 2}, pool.get_executor());
  clock.start(store);
  const auto failed_at = Clock::now();
  store.complete(0, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "write queue is full"), {});
  CHECK(store.calls() == 1);
  REQUIRE(store.wait_calls(2));
  CHECK(store.asked_at(1) - failed_at >= 1s - 20ms);
  store.complete(1, grpc::Status::OK, {0, std::nullopt});
  clock.shutdown();
}

TEST_CASE_FIXTURE(Fixture, "off, the clock never deletes; shut down, it starts no batch") {
  SUBCASE("off") {
    retention::RetentionClock clock({0ms, 2}, pool.get_executor());
    clock.start(store);
    clock.committed(ended("aex-1"));
    CHECK(store.calls() == 0);
  }
  SUBCASE("shut down while a full batch runs") {
    retention::RetentionClock clock({1h, 2}, pool.get_executor());
    clock.start(store);
    clock.shutdown();
    store.complete(0, grpc::Status::OK, {2, wall_ms()});
    clock.committed(ended("aex-1"));
    CHECK(store.calls() == 1);
  }
}
