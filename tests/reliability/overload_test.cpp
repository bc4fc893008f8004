// The built aexd offered five times the execution creates it can commit, by callers with deadlines:
// the surplus is shed with RESOURCE_EXHAUSTED, health and get keep answering, nothing is committed
// for a caller that left while its write was queued, memory stays bounded, and once the overload
// ends every write is served again. Prints its figures; asserts no timing.
#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "support/aexd_process.h"
#include "support/client.h"
#include "support/sanitizers.h"
#include "support/temp_dir.h"
#include "support/thread_failures.h"

using namespace aexd;
using namespace aexd::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kCalibration = 3s;
constexpr auto kOverload = 10s;
constexpr int kOverloadFactor = 5;
// A shed writer retries after this long (a client's backoff), so that `writers` offer about
// writers / kBackoff calls a second once most are shed.
constexpr auto kBackoff = 200ms;
// Callers give up between these deadlines: many leave while their write is queued, many wait long
// enough to be served.
constexpr auto kShortestDeadline = 100ms, kLongestDeadline = 1500ms;
// Large enough that commits, not gRPC, bound the rate: the writer is what overload must find full.
constexpr size_t kMessageBytes = 16 * 1024;

/// Writers of execution creates in one session over one channel: each keeps one create in flight,
/// the next as soon as the last is answered, or kBackoff later if it was shed. Outcomes are counted
/// by status code.
class Creates {
 public:
  Creates(std::shared_ptr<grpc::Channel> channel, std::string session_id)
      : stub_(exv1::AgentExecutionCommandController::NewStub(std::move(channel))), session_id_(std::move(session_id)) {}

  /// Runs `writers` writers for `length`, each call with a deadline drawn from [shortest, longest];
  /// returns once every call is answered. `watch` runs on this thread now and then meanwhile.
  template <class Watch = void (*)()>
  void run(
      int writers, Clock::duration length, std::chrono::milliseconds shortest, std::chrono::milliseconds longest,
      Watch watch = [] {}) {
    std::unique_lock lock(mutex_);
    until_ = Clock::now() + length;
    deadline_ms_ = std::uniform_int_distribution<int64_t>(shortest.count(), longest.count());
    for (int i = 0; i < writers; ++i) start(lock);
    const auto give_up = until_ + 60s;
    while (in_flight_ > 0 || !backing_off_.empty()) {
      REQUIRE_MESSAGE(Clock::now() < give_up, in_flight_ << " creates never answered");
      if (!backing_off_.empty() && backing_off_.front() <= Clock::now()) {
        backing_off_.pop_front();
        start(lock);
      } else {
        changed_.wait_until(lock,
                            std::min(Clock::now() + 100ms, backing_off_.empty() ? give_up : backing_off_.front()));
        lock.unlock();
        watch();
        lock.lock();
      }
    }
  }

  size_t count(grpc::StatusCode code) const {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(code);
    return it == counts_.end() ? 0 : it->second;
  }
  size_t total() const {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const auto& [code, count] : counts_) n += count;
    return n;
  }
  std::string summary() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [code, count] : counts_) out += " code" + std::to_string(code) + "=" + std::to_string(count);
    return out;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    Execution request, response;
  };

  /// One create, with `lock` (on mutex_) held.
  void start(std::unique_lock<std::mutex>& lock) {
    auto call = std::make_shared<Call>();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms_(random_)));
    call->request = make_execution_in_session(session_id_, std::string(kMessageBytes, 'x'));
    ++in_flight_;
    lock.unlock();
    stub_->async()->create(&call->context, &call->request, &call->response, [this, call](grpc::Status status) mutable {
      // The context holds a reference to the channel. Were it the last, ~Channel would run on
      // gRPC's callback thread once this function is destroyed, and gRPC 1.51 would then join that
      // thread from itself and free its completion queue under it (ASan: double free). So the call
      // ends here, before run() can return and the channel be released.
      call.reset();
      std::unique_lock lock(mutex_);
      --in_flight_;
      ++counts_[status.error_code()];
      if (Clock::now() < until_) {
        if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          backing_off_.push_back(Clock::now() + kBackoff);
        } else {
          start(lock);
          return;
        }
      }
      changed_.notify_all();
    });
    lock.lock();
  }

  std::unique_ptr<exv1::AgentExecutionCommandController::Stub> stub_;
  const std::string session_id_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  Clock::time_point until_;  // guarded by mutex_, as is all below
  std::mt19937 random_{14};
  std::uniform_int_distribution<int64_t> deadline_ms_;
  size_t in_flight_ = 0;
  std::deque<Clock::time_point> backing_off_;  // when each shed writer retries, in order
  std::map<grpc::StatusCode, size_t> counts_;
};

/// Health Check and an execution get, one after the other until stopped, each within a generous
/// deadline: whether the server stays responsive, not how fast.
class Probes {
 public:
  Probes(std::shared_ptr<grpc::Channel> channel, std::string execution_id)
      : health_(grpc::health::v1::Health::NewStub(channel)),
        queries_(exv1::AgentExecutionQueryController::NewStub(channel)),
        execution_id_(std::move(execution_id)),
        thread_([this] { run(); }) {}
  ~Probes() { stop(); }

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t answered() const { return answered_; }
  Clock::duration slowest() const { return slowest_; }
  ThreadFailures failures;

 private:
  void run() {
    while (!stopping_) {
      const auto began = Clock::now();
      grpc::ClientContext health_context;
      health_context.set_deadline(std::chrono::system_clock::now() + 30s);
      grpc::health::v1::HealthCheckResponse health;
      if (failures.ok(health_->Check(&health_context, {}, &health), "health Check") &&
          health.status() != grpc::health::v1::HealthCheckResponse::SERVING)
        failures.add("health Check: not SERVING");
      grpc::ClientContext get_context;
      get_context.set_deadline(std::chrono::system_clock::now() + 30s);
      exv1::AgentExecutionId id;
      id.set_value(execution_id_);
      Execution execution;
      failures.ok(queries_->get(&get_context, id, &execution), "execution get");
      slowest_ = std::max(slowest_, Clock::now() - began);
      ++answered_;
    }
  }

  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::unique_ptr<exv1::AgentExecutionQueryController::Stub> queries_;
  const std::string execution_id_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> answered_{0};
  Clock::duration slowest_{};  // written by the probe thread, read after stop()
  std::thread thread_;
};

double mib(long kib) { return static_cast<double>(kib) / 1024; }

}  // namespace

TEST_CASE(
    "overload: five times commit capacity sheds the surplus, stays responsive and commits nothing for callers "
    "that left") {
  TempDir dir;
  const std::string db = (dir.path() / "aexd.db").string();
  // A tenth of the default queue budget: the client shares the server's cores, so it cannot offer
  // enough to fill a 500 ms queue before gRPC itself is short of CPU.
  AexdProcess aexd(db, "--sync full --write-queue-budget 50ms");
  const Client api(aexd.new_channel());
  const auto chain = make_chain(api, "Overload");
  const auto probed = must(api.create(make_execution_in_session(chain.session.metadata().id(), "probed")));
  const long rss_at_start = aexd.rss_kib();

  // Capacity: what 64 callers in flight get committed, deadlines far away.
  Creates calibration(aexd.new_channel(), chain.session.metadata().id());
  const auto calibration_began = Clock::now();
  calibration.run(64, kCalibration, 30s, 30s);
  const double seconds = std::chrono::duration<double>(Clock::now() - calibration_began).count();
  const double capacity = static_cast<double>(calibration.count(grpc::StatusCode::OK)) / seconds;
  REQUIRE(calibration.count(grpc::StatusCode::OK) > 0);

  const int64_t rows_before = count_rows(db, "executions");
  Creates overload(aexd.new_channel(), chain.session.metadata().id());
  Probes probes(aexd.new_channel(), probed.metadata().id());
  // Once most writers are shed, each offers a call per kBackoff: kOverloadFactor times capacity.
  const int writers = static_cast<int>(kOverloadFactor * capacity * std::chrono::duration<double>(kBackoff).count());
  long rss_peak = aexd.rss_kib();
  overload.run(writers, kOverload, kShortestDeadline, kLongestDeadline,
               [&] { rss_peak = std::max(rss_peak, aexd.rss_kib()); });
  probes.stop();

  const size_t acknowledged = overload.count(grpc::StatusCode::OK);
  const size_t shed = overload.count(grpc::StatusCode::RESOURCE_EXHAUSTED);
  const size_t late = overload.count(grpc::StatusCode::DEADLINE_EXCEEDED);
  const int64_t committed = count_rows(db, "executions") - rows_before;
  const int64_t unacknowledged_commits = committed - static_cast<int64_t>(acknowledged);

  // Full service afterwards: every write of callers in no hurry commits.
  Creates after(aexd.new_channel(), chain.session.metadata().id());
  after.run(16, 2s, 30s, 30s);

  std::printf(
      "overload: capacity %.0f creates/s; %d writers offered %zu at %dx for %.0f s: acknowledged %zu, shed %zu, "
      "deadline exceeded "
      "%zu (all:%s); committed %lld, of which unacknowledged %lld; probes answered %zu, slowest %.0f ms; RSS "
      "%.0f MiB at start, %.0f MiB peak; afterwards %zu of %zu writes OK\n",
      capacity, writers, overload.total(), kOverloadFactor, std::chrono::duration<double>(kOverload).count(),
      acknowledged, shed, late, overload.summary().c_str(), static_cast<long long>(committed),
      static_cast<long long>(unacknowledged_commits), probes.answered(),
      std::chrono::duration<double, std::milli>(probes.slowest()).count(), mib(rss_at_start), mib(rss_peak),
      after.count(grpc::StatusCode::OK), after.total());

  CHECK(shed > 0);
  CHECK_MESSAGE(probes.failures.empty(), probes.failures.report());
  CHECK(probes.answered() > 0);
  // Every acknowledged write is stored. What is stored beyond them was committed for callers that
  // gave up after the writer took their write (a write whose caller left while it was queued, or
  // whose deadline falls before its batch is expected to commit, is not run): each is one of the
  // calls that ended DEADLINE_EXCEEDED, never a shed one. How many depends on how long replies
  // wait for CPU, so the share is printed, not bounded; tests/e2e/admission_test.cpp proves the
  // dropping itself.
  CHECK(committed >= static_cast<int64_t>(acknowledged));
  CHECK(unacknowledged_commits <= static_cast<int64_t>(late));
  // ASan's shadow memory and quarantine inflate RSS several times over.
  const long rss_bound_kib = (kSanitizedHeap ? 2048 : 512) * 1024;
  CHECK_MESSAGE(rss_peak < rss_bound_kib, "peak RSS " << mib(rss_peak) << " MiB");
  CHECK(after.total() > 0);
  CHECK(after.count(grpc::StatusCode::OK) == after.total());
}
