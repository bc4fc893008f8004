#include <thread>

#include "support/client.h"
#include "support/sanitizers.h"
#include "support/thread_failures.h"
#include "support/watch_stream.h"

using namespace aexd;
using namespace aexd::test;

namespace {

/// A status update to `phase`, with one AI message of `text` followed by `bytes` filler if asked.
ExecutionStatus status_of(Phase phase, const std::string& text = "", size_t bytes = 0) {
  ExecutionStatus status;
  status.set_phase(phase);
  if (!text.empty() || bytes > 0) {
    auto* m = status.add_messages();
    m->set_type(exv1::MESSAGE_AI);
    m->set_content(text + std::string(bytes, 'x'));
  }
  return status;
}

struct Fixture {
  TestServer server;
  Client api{server.channel()};
  std::unique_ptr<exv1::AgentExecutionQueryController::Stub> queries = server.execution_queries();
  std::string agent_id = must(api.create(make_agent("Watcher Agent"))).metadata().id();

  Execution create() { return must(api.create(make_execution_for_agent(agent_id))); }

  Execution push(const std::string& id, Phase phase, const std::string& text = "", size_t bytes = 0) {
    return must(api.update_status(id, status_of(phase, text, bytes)));
  }
};

void check_increasing_and_terminal(const std::vector<Received>& got, uint64_t last_revision) {
  REQUIRE(!got.empty());
  for (size_t i = 1; i < got.size(); ++i) CHECK(got[i].revision > got[i - 1].revision);
  CHECK(got.back().revision == last_revision);
  CHECK(is_terminal(got.back().phase));
}

}  // namespace

TEST_CASE("subscribe: first the current state, then every change in order, then OK after the terminal phase") {
  Fixture f;
  auto e = f.create();
  WatchStream watch(*f.queries, e.metadata().id());
  REQUIRE(watch.wait_for_messages(1));
  f.push(e.metadata().id(), exv1::EXECUTION_IN_PROGRESS);
  REQUIRE(watch.wait_for_messages(2));
  f.push(e.metadata().id(), exv1::EXECUTION_IN_PROGRESS, "thinking");
  REQUIRE(watch.wait_for_messages(3));
  auto last = f.push(e.metadata().id(), exv1::EXECUTION_COMPLETED);
  CHECK(watch.wait_done().ok());
  auto got = watch.received();
  REQUIRE(got.size() == 4);
  CHECK(got[0].revision == 1);
  CHECK(got[0].phase == exv1::EXECUTION_PENDING);
  CHECK(got[1].phase == exv1::EXECUTION_IN_PROGRESS);
  CHECK(got[3].revision == revision_of(last.metadata()));
  check_increasing_and_terminal(got, revision_of(last.metadata()));
}

TEST_CASE("subscribe: an execution already terminal sends one message and ends with OK") {
  Fixture f;
  auto e = f.create();
  f.push(e.metadata().id(), exv1::EXECUTION_FAILED);
  WatchStream watch(*f.queries, e.metadata().id());
  CHECK(watch.wait_done().ok());
  auto got = watch.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].phase == exv1::EXECUTION_FAILED);
}

TEST_CASE("subscribe: an unknown id is NOT_FOUND and an empty id INVALID_ARGUMENT") {
  Fixture f;
  WatchStream unknown(*f.queries, "aex-01jzzzzzzzzzzzzzzzzzzzzzzz");
  CHECK(unknown.wait_done().error_code() == grpc::StatusCode::NOT_FOUND);
  WatchStream empty(*f.queries, "");
  CHECK(empty.wait_done().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(eventually([&] { return f.server.server().watched_executions() == 0; }));
}

TEST_CASE("subscribe: 200 watchers of one execution all receive the terminal state") {
  Fixture f;
  auto e = f.create();
  std::vector<std::unique_ptr<WatchStream>> watches;
  for (int i = 0; i < 200; ++i) watches.push_back(std::make_unique<WatchStream>(*f.queries, e.metadata().id()));
  for (auto& w : watches) REQUIRE(w->wait_for_messages(1));
  f.push(e.metadata().id(), exv1::EXECUTION_IN_PROGRESS);
  auto last = f.push(e.metadata().id(), exv1::EXECUTION_COMPLETED);
  for (auto& w : watches) {
    REQUIRE(w->wait_done().ok());
    check_increasing_and_terminal(w->received(), revision_of(last.metadata()));
  }
}

TEST_CASE("subscribe: 1,000 executions each with a watcher, all updated concurrently, all end terminal") {
  Fixture f;
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back(f.create().metadata().id());
  std::vector<std::unique_ptr<WatchStream>> watches;
  for (const auto& id : ids) watches.push_back(std::make_unique<WatchStream>(*f.queries, id));
  for (auto& w : watches) REQUIRE(w->wait_for_messages(1));
  ThreadFailures failures;  // the writers' failed updates, checked here after they end
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t)
    writers.emplace_back([&, t] {
      Client own(f.server.new_channel());
      for (size_t i = t; i < ids.size(); i += 8)
        for (Phase p : {exv1::EXECUTION_IN_PROGRESS, exv1::EXECUTION_COMPLETED})
          failures.ok(own.update_status(ids[i], status_of(p)).status(), "updateStatus " + ids[i]);
    });
  for (auto& w : writers) w.join();
  CHECK_MESSAGE(failures.empty(), failures.report());
  for (auto& w : watches) {
    REQUIRE(w->wait_done().ok());
    check_increasing_and_terminal(w->received(), 3);
  }
  CHECK(eventually([&] { return f.server.server().watched_executions() == 0; }));
}

TEST_CASE(
    "subscribe: a watcher that stops reading costs bounded memory, slows nobody, and still gets the terminal state") {
  Fixture f;
  auto e = f.create();
  const std::string id = e.metadata().id();
  WatchStream slow(*f.queries, id, "", /*paused=*/true);
  WatchStream fast(*f.queries, id);
  REQUIRE(fast.wait_for_messages(1));
  const long memory_before = memory_in_use_kib();
  constexpr int kUpdates = 10000;
  constexpr size_t kBytes = 8 * 1024;  // 10,000 × 8 KiB ≈ 80 MiB if anything buffered them all
  Execution last;
  for (int i = 0; i < kUpdates; ++i)
    last = f.push(id, i + 1 == kUpdates ? exv1::EXECUTION_COMPLETED : exv1::EXECUTION_IN_PROGRESS, "", kBytes);
  REQUIRE(fast.wait_done().ok());
  check_increasing_and_terminal(fast.received(), revision_of(last.metadata()));
  const long growth_kib = memory_in_use_kib() - memory_before;
  MESSAGE(kMemoryInUse << " growth while one watcher stalled: " << growth_kib << " KiB");
  CHECK(growth_kib < 48 * 1024);
  slow.resume();
  REQUIRE(slow.wait_done().ok());
  auto got = slow.received();
  MESSAGE("the stalled watcher received " << got.size() << " of " << kUpdates + 1 << " states");
  CHECK(got.size() < static_cast<size_t>(kUpdates));
  check_increasing_and_terminal(got, revision_of(last.metadata()));
}

TEST_CASE("subscribe: a client cancel mid-stream ends the stream and drops the channel") {
  Fixture f;
  auto e = f.create();
  WatchStream watch(*f.queries, e.metadata().id());
  REQUIRE(watch.wait_for_messages(1));
  CHECK(f.server.server().watched_executions() == 1);
  watch.cancel();
  CHECK(watch.wait_done().error_code() == grpc::StatusCode::CANCELLED);
  CHECK(eventually([&] { return f.server.server().watched_executions() == 0; }));
  f.push(e.metadata().id(), exv1::EXECUTION_COMPLETED);
  WatchStream after(*f.queries, e.metadata().id());
  CHECK(after.wait_done().ok());
}

TEST_CASE("subscribe: with x-resume-after-version nothing is sent until the revision is newer") {
  Fixture f;
  auto e = f.create();
  const std::string id = e.metadata().id();
  f.push(id, exv1::EXECUTION_IN_PROGRESS);  // revision 2

  SUBCASE("a reconnecting client sees no duplicate and gets the next state") {
    WatchStream watch(*f.queries, id, "2");
    f.push(id, exv1::EXECUTION_IN_PROGRESS, "step");  // revision 3
    REQUIRE(watch.wait_for_messages(1));
    f.push(id, exv1::EXECUTION_COMPLETED);  // revision 4
    REQUIRE(watch.wait_done().ok());
    auto got = watch.received();
    REQUIRE(!got.empty());
    CHECK(got.front().revision == 3);
    CHECK(got.back().revision == 4);
  }
  SUBCASE("a client that already has the newest state of a finished execution gets OK and nothing else") {
    f.push(id, exv1::EXECUTION_COMPLETED);  // revision 3
    WatchStream watch(*f.queries, id, "3");
    CHECK(watch.wait_done().ok());
    CHECK(watch.received().empty());
  }
  SUBCASE("a client behind the newest state gets it at once") {
    WatchStream watch(*f.queries, id, "1");
    REQUIRE(watch.wait_for_messages(1));
    CHECK(watch.received().front().revision == 2);
    f.push(id, exv1::EXECUTION_CANCELLED);
    CHECK(watch.wait_done().ok());
  }
  SUBCASE("a non-numeric value is INVALID_ARGUMENT") {
    WatchStream watch(*f.queries, id, "two");
    auto status = watch.wait_done();
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message().find("x-resume-after-version") != std::string::npos);
  }
}

TEST_CASE("subscribe: deleting the watched execution, or its session, ends the stream with NOT_FOUND") {
  Fixture f;
  auto e = f.create();
  WatchStream watch(*f.queries, e.metadata().id());
  REQUIRE(watch.wait_for_messages(1));

  SUBCASE("the execution") { must(f.api.remove<Execution>(e.metadata().id())); }
  SUBCASE("its session") { must(f.api.remove<Session>(e.spec().session_id())); }
  CHECK(watch.wait_done().error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("subscribe: racing with the final updateStatus never misses the final state (1,000 trials)") {
  Fixture f;
  for (int trial = 0; trial < 1000; ++trial) {
    auto e = f.create();
    // The update's answer is checked here: no assertion runs on the finisher thread.
    Result<Execution> finished = grpc::Status(grpc::StatusCode::UNKNOWN, "not run");
    std::thread finisher(
        [&] { finished = f.api.update_status(e.metadata().id(), status_of(exv1::EXECUTION_COMPLETED)); });
    WatchStream watch(*f.queries, e.metadata().id());
    finisher.join();
    REQUIRE_MESSAGE(finished.ok(), describe(finished.status()));
    REQUIRE(watch.wait_done().ok());
    auto got = watch.received();
    REQUIRE(!got.empty());
    REQUIRE(got.back().phase == exv1::EXECUTION_COMPLETED);
  }
}

TEST_CASE("subscribe: server shutdown ends open streams with UNAVAILABLE") {
  Fixture f;
  auto e = f.create();
  WatchStream watch(*f.queries, e.metadata().id());
  REQUIRE(watch.wait_for_messages(1));
  f.server.server().shutdown();
  CHECK(watch.wait_done().error_code() == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("subscribe: many subscribe/cancel cycles leave no channel behind and memory flat") {
  Fixture f;
  auto e = f.create();
  auto cycle = [&](int n) {
    for (int i = 0; i < n; ++i) {
      WatchStream watch(*f.queries, e.metadata().id());
      REQUIRE(watch.wait_for_messages(1));
      watch.cancel();
      REQUIRE(watch.wait_done().error_code() == grpc::StatusCode::CANCELLED);
    }
  };
  cycle(500);  // warm-up: allocator pools and gRPC caches reach their steady size
  const long memory_before = memory_in_use_kib();
  cycle(3000);
  CHECK(eventually([&] { return f.server.server().watched_executions() == 0; }));
  const long growth_kib = memory_in_use_kib() - memory_before;
  MESSAGE(kMemoryInUse << " growth over 3,000 subscribe/cancel cycles: " << growth_kib << " KiB");
  CHECK(growth_kib < 8 * 1024);
}
