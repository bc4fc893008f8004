#include "cli/status_batcher.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

using aexd::cli::StatusBatcher;
using aexd::cli::valid_utf8;
using aexd::cli::exv1::AgentExecutionStatus;
namespace exv1 = aexd::cli::exv1;
using Clock = StatusBatcher::Clock;
using namespace std::chrono_literals;

namespace {

constexpr auto kInterval = 100ms;
constexpr auto kHeartbeat = 20s;
const Clock::time_point t0 = Clock::time_point{} + 1h;  // any clock reading

std::vector<std::string> contents(const AgentExecutionStatus& status) {
  std::vector<std::string> out;
  for (const auto& m : status.messages()) out.push_back(m.content());
  return out;
}

}  // namespace

TEST_CASE("the first push is due at once: IN_PROGRESS with started_at and no messages") {
  StatusBatcher batcher("2025-01-02T03:04:05Z", kInterval, kHeartbeat);
  CHECK(batcher.due() <= t0);
  const auto first = batcher.take(t0);
  REQUIRE(first);
  CHECK(first->phase() == exv1::EXECUTION_IN_PROGRESS);
  CHECK(first->started_at() == "2025-01-02T03:04:05Z");
  CHECK(first->messages_size() == 0);
}

TEST_CASE("with nothing new, the status is pushed again each heartbeat, which keeps the lease") {
  StatusBatcher batcher("s", kInterval, kHeartbeat);
  REQUIRE(batcher.take(t0));
  CHECK(batcher.due() == t0 + kHeartbeat);
  CHECK_FALSE(batcher.take(t0 + kHeartbeat - 1ms));
  const auto beat = batcher.take(t0 + kHeartbeat);
  REQUIRE(beat);
  CHECK(beat->phase() == exv1::EXECUTION_IN_PROGRESS);
  CHECK(batcher.due() == t0 + 2 * kHeartbeat);
}

TEST_CASE("lines are AI messages with their timestamp, pushed one interval after the last push, all at once") {
  StatusBatcher batcher("2025-01-02T03:04:05Z", kInterval, kHeartbeat);
  REQUIRE(batcher.take(t0));
  batcher.add_line("one", "2025-01-02T03:04:06Z");
  batcher.add_line("two", "2025-01-02T03:04:07Z");
  CHECK(batcher.due() == t0 + kInterval);
  CHECK_FALSE(batcher.take(t0 + kInterval - 1ms));
  const auto push = batcher.take(t0 + kInterval);
  REQUIRE(push);
  CHECK(contents(*push) == std::vector<std::string>{"one", "two"});
  CHECK(push->messages(0).type() == exv1::MESSAGE_AI);
  CHECK(push->messages(1).timestamp() == "2025-01-02T03:04:07Z");
  CHECK(push->phase() == exv1::EXECUTION_IN_PROGRESS);
  CHECK(push->started_at() == "2025-01-02T03:04:05Z");
}

TEST_CASE("a line after a quiet spell is pushed at once") {
  StatusBatcher batcher("s", kInterval, kHeartbeat);
  REQUIRE(batcher.take(t0));
  batcher.add_line("late", "t");
  const auto push = batcher.take(t0 + 10s);
  REQUIRE(push);
  CHECK(contents(*push) == std::vector<std::string>{"late"});
}

TEST_CASE("a line every millisecond for two seconds: pushes an interval apart, each with every line so far") {
  StatusBatcher batcher("s", kInterval, kHeartbeat);
  std::vector<Clock::time_point> pushed_at;
  int lines = 0;
  for (auto now = t0; now < t0 + 2s; now += 1ms) {
    batcher.add_line("line " + std::to_string(lines++), "t");
    if (auto push = batcher.take(now)) {
      REQUIRE(push->messages_size() == lines);
      CHECK(push->messages(lines - 1).content() == "line " + std::to_string(lines - 1));
      pushed_at.push_back(now);
    }
  }
  REQUIRE(pushed_at.size() >= 2);
  CHECK(pushed_at.size() <= static_cast<size_t>(2s / kInterval) + 1);
  for (size_t i = 1; i < pushed_at.size(); ++i) CHECK(pushed_at[i] - pushed_at[i - 1] >= kInterval);

  const auto last = batcher.final_status(exv1::EXECUTION_COMPLETED, "", "2025-01-02T03:05:00Z");
  REQUIRE(last.messages_size() == lines);
  CHECK(last.messages(0).content() == "line 0");
  CHECK(last.messages(lines - 1).content() == "line " + std::to_string(lines - 1));
  CHECK(last.phase() == exv1::EXECUTION_COMPLETED);
  CHECK(last.completed_at() == "2025-01-02T03:05:00Z");
  CHECK(last.started_at() == "s");
  CHECK(last.error().empty());
}

TEST_CASE("a failed push is due again, not before the retry time, and carries what it would have") {
  StatusBatcher batcher("s", kInterval, kHeartbeat);
  REQUIRE(batcher.take(t0));
  batcher.add_line("one", "t");
  REQUIRE(batcher.take(t0 + kInterval));
  batcher.retry_at(t0 + 2s);
  CHECK(batcher.due() == t0 + 2s);
  CHECK_FALSE(batcher.take(t0 + 1s));
  batcher.add_line("two", "t");
  const auto again = batcher.take(t0 + 2s);
  REQUIRE(again);
  CHECK(contents(*again) == std::vector<std::string>{"one", "two"});
}

TEST_CASE("the final push of a failure carries the error with the messages") {
  StatusBatcher batcher("s", kInterval, kHeartbeat);
  batcher.add_line("partial output", "t");
  const auto last = batcher.final_status(exv1::EXECUTION_FAILED, "exit status 3\noops", "c");
  CHECK(last.phase() == exv1::EXECUTION_FAILED);
  CHECK(last.error() == "exit status 3\noops");
  CHECK(contents(last) == std::vector<std::string>{"partial output"});
}

TEST_CASE("output that is not UTF-8 is pushed with replacement characters, valid text unchanged") {
  CHECK(valid_utf8("plain ascii") == "plain ascii");
  CHECK(valid_utf8("gr\xC3\xBC\xC3\x9F dich \xE2\x82\xAC \xF0\x9F\x98\x80") ==
        "gr\xC3\xBC\xC3\x9F dich \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHECK(valid_utf8("bad \xFF byte") == "bad \xEF\xBF\xBD byte");
  CHECK(valid_utf8("cut \xE2\x82") == "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(valid_utf8("overlong \xC0\xAF") == "overlong \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(valid_utf8("surrogate \xED\xA0\x80") == "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  StatusBatcher batcher("s", kInterval, kHeartbeat);
  batcher.add_line("\xFE", "t");
  const auto push = batcher.take(t0);
  REQUIRE(push);
  CHECK(push->messages(0).content() == "\xEF\xBF\xBD");
}
