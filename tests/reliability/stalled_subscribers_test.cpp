// 2,000 subscribe streams that never read, on executions that keep changing, held by two client
// processes that are SIGKILLed mid-stream: aexd's memory stays bounded while they exist, and its
// memory and descriptors return to their baseline once they are gone. And a client process that
// stops answering altogether (SIGSTOP) loses its connections to keepalive.
#include <signal.h>

#include <atomic>
#include <thread>

#include "support/aexd_process.h"
#include "support/client.h"
#include "support/sanitizers.h"
#include "support/temp_dir.h"
#include "support/thread_failures.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;
using namespace std::chrono_literals;

namespace {

constexpr int kExecutions = 20;
constexpr int kStreamsPerClient = 1000;
constexpr int kConnectionsPerClient = 10;
constexpr size_t kMessageBytes = 16 << 10;  // four pushes fill a stream's 64 KiB flow-control window
// Growth allowed while the stalled streams exist, and what may stay once they are gone (glibc keeps
// up to M_TRIM_THRESHOLD + M_TOP_PAD = 48 MiB; a sanitizer's quarantine keeps far more).
constexpr long kGrowthKib = (kSanitizedHeap ? 512 : 64) << 10;
constexpr long kLeftoverKib = (kSanitizedHeap ? 512 : 64) << 10;

/// Pushes a fresh 16 KiB message to every execution, round after round, until stopped.
class Pusher {
 public:
  Pusher(std::shared_ptr<grpc::Channel> channel, std::vector<std::string> ids)
      : client_(std::move(channel)), ids_(std::move(ids)), thread_([this] { run(); }) {}
  ~Pusher() {
    stop_ = true;
    thread_.join();
  }
  void push_round() {
    const int n = ++rounds_;
    for (const auto& id : ids_) {
      ExecutionStatus status;
      status.set_phase(exv1::EXECUTION_IN_PROGRESS);
      auto* message = status.add_messages();
      message->set_type(exv1::MESSAGE_AI);
      message->set_content(std::to_string(n) + std::string(kMessageBytes, 'x'));
      if (auto pushed = client_.update_status(id, status); !pushed.ok()) failures_.add(describe(pushed.status()));
    }
  }
  /// Waits (bounded) for `n` more rounds.
  void wait_rounds(int n) {
    const int target = rounds_ + n;
    CHECK(eventually([&] { return rounds_ >= target; }, 60s));
  }
  ThreadFailures& failures() { return failures_; }

 private:
  void run() {
    while (!stop_) push_round();
  }
  Client client_;
  std::vector<std::string> ids_;
  std::atomic<int> rounds_{0};
  std::atomic<bool> stop_{false};
  ThreadFailures failures_;
  std::thread thread_;
};

/// A stalled_subscribers process holding kStreamsPerClient streams on `ids`, all open once this returns.
std::unique_ptr<cli::ChildProcess> stalled_client(const AexdProcess& aexd, const std::vector<std::string>& ids) {
  std::string command = "exec " STALLED_SUBSCRIBERS_PATH " " + aexd.address() + " " +
                        std::to_string(kStreamsPerClient) + " " + std::to_string(kConnectionsPerClient);
  for (const auto& id : ids) command += " " + id;
  auto child = spawn_child(command);
  cli::Output output;
  const std::string expected = "subscribed " + std::to_string(kStreamsPerClient) + " ended 0";
  REQUIRE(poll_child_until(*child, output, [&](const cli::Output& all) { return !all.stdout_lines.empty(); }));
  REQUIRE(!output.stdout_lines.empty());
  REQUIRE(output.stdout_lines.front() == expected);
  return child;
}

void kill_now(std::unique_ptr<cli::ChildProcess>& child) {
  REQUIRE(kill(child->pid(), SIGKILL) == 0);
  run_child_to_exit(*child);
  child.reset();
}

}  // namespace

TEST_CASE(
    "2,000 subscribers that never read, then SIGKILLed: aexd's memory stays bounded, then it and its "
    "descriptors return to baseline") {
  TempDir dir;
  // Under ASan, aexd's RSS would also hold its quarantine of freed blocks, which fills as the
  // streams churn: without it, RSS follows what aexd keeps.
  AexdProcess aexd((dir.path() / "aexd.db").string(), "--readers 2", "127.0.0.1:0",
                   kSanitizedHeap ? "export ASAN_OPTIONS=\"$ASAN_OPTIONS:quarantine_size_mb=0\"; " : "");
  Client api(aexd.new_channel());
  const auto agent_id = must(api.create(make_agent())).metadata().id();
  std::vector<std::string> ids;
  for (int i = 0; i < kExecutions; ++i)
    ids.push_back(must(api.create(make_execution_for_agent(agent_id))).metadata().id());

  Pusher pusher(aexd.new_channel(), ids);
  pusher.wait_rounds(5);
  const long baseline_rss = aexd.rss_kib();
  const long baseline_fds = aexd.open_descriptors();

  auto first = stalled_client(aexd, ids);
  auto second = stalled_client(aexd, ids);
  pusher.wait_rounds(20);  // every stream's window is full long before this
  const long filled_rss = aexd.rss_kib();
  pusher.wait_rounds(40);
  const long later_rss = aexd.rss_kib();
  const long stalled_fds = aexd.open_descriptors();
  CHECK(stalled_fds >= baseline_fds + 2 * kConnectionsPerClient);

  kill_now(first);  // mid-stream, while executions keep changing
  pusher.wait_rounds(20);
  kill_now(second);
  pusher.wait_rounds(5);

  MESSAGE("aexd RSS KiB: baseline " << baseline_rss << ", streams stalled " << filled_rss << " then " << later_rss
                                    << ", after the clients died " << aexd.rss_kib() << "; descriptors: baseline "
                                    << baseline_fds << ", streams stalled " << stalled_fds << ", after "
                                    << aexd.open_descriptors());
  CHECK(later_rss - filled_rss < kGrowthKib / 4);  // a plateau: stalled streams do not accumulate
  CHECK(later_rss - baseline_rss < kGrowthKib);
  CHECK(eventually([&] { return aexd.open_descriptors() <= baseline_fds; }, 30s));
  CHECK(eventually([&] { return aexd.rss_kib() - baseline_rss < kLeftoverKib; }, 30s));
  CHECK(must(api.get<Execution>(ids.front())).status().phase() == exv1::EXECUTION_IN_PROGRESS);
  CHECK_MESSAGE(pusher.failures().empty(), pusher.failures().report());
}

TEST_CASE(
    "a client that stops answering (SIGSTOP) with streams open loses its connections after the keepalive "
    "timeout") {
  TempDir dir;
  AexdProcess aexd((dir.path() / "aexd.db").string(), "--readers 2 --keepalive-time 1s --keepalive-timeout 1s");
  Client api(aexd.new_channel());
  const auto agent_id = must(api.create(make_agent())).metadata().id();
  const std::vector<std::string> ids{must(api.create(make_execution_for_agent(agent_id))).metadata().id()};
  const long baseline_fds = aexd.open_descriptors();

  auto stopped = stalled_client(aexd, ids);
  REQUIRE(aexd.open_descriptors() >= baseline_fds + kConnectionsPerClient);
  REQUIRE(kill(stopped->pid(), SIGSTOP) == 0);
  // Its sockets stay open (the process lives); only unanswered pings can free aexd's side.
  CHECK(eventually([&] { return aexd.open_descriptors() <= baseline_fds; }, 30s));
  kill_now(stopped);
}
