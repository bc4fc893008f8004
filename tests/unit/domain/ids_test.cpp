#include "domain/ids.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace aexd;

namespace {

constexpr std::string_view kCrockford = "0123456789abcdefghjkmnpqrstvwxyz";

// The 48-bit millisecond timestamp held by a ULID's first 10 characters.
uint64_t time_of(std::string_view ulid) {
  uint64_t ms = 0;
  for (char c : ulid.substr(0, 10)) ms = ms * 32 + kCrockford.find(c);
  return ms;
}

}  // namespace

TEST_CASE("a generated ULID is 26 lowercase Crockford base32 characters starting with 0-7") {
  UlidGenerator generator;
  for (int i = 0; i < 100; ++i) {
    const std::string ulid = generator.next();
    CAPTURE(ulid);
    REQUIRE(ulid.size() == 26);
    CHECK(ulid[0] >= '0');
    CHECK(ulid[0] <= '7');
    CHECK(std::all_of(ulid.begin(), ulid.end(), [](char c) { return kCrockford.find(c) != std::string_view::npos; }));
    CHECK(is_ulid(ulid));
  }
}

TEST_CASE("a ULID carries its millisecond timestamp in the first 10 characters") {
  UlidGenerator generator;
  CHECK(time_of(generator.next_at(1'700'000'000'123)) == 1'700'000'000'123);
  CHECK(generator.next_at(0xffffffffffff).substr(0, 10) == "7zzzzzzzzz");
}

TEST_CASE("is_ulid rejects wrong length, upper case, letters outside Crockford and a first char above 7") {
  const std::string good = UlidGenerator().next_at(1'700'000'000'000);
  REQUIRE(is_ulid(good));
  std::string upper = good;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
  std::string above_7 = good;
  above_7[0] = '8';
  for (const std::string& bad :
       {std::string(), good.substr(1), good + "0", upper, above_7, good.substr(0, 25) + "i", good.substr(0, 25) + "l",
        good.substr(0, 25) + "o", good.substr(0, 25) + "u", good.substr(0, 25) + "-"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_ulid(bad));
  }
}

TEST_CASE("new_id is the prefix, a hyphen and a ULID") {
  for (auto prefix : {kAgentPrefix, kInstancePrefix, kSessionPrefix, kExecutionPrefix}) {
    const std::string id = new_id(prefix);
    CAPTURE(id);
    CHECK(id.substr(0, prefix.size()) == prefix);
    CHECK(id[prefix.size()] == '-');
    CHECK(is_ulid(id.substr(prefix.size() + 1)));
    CHECK(is_id(id, prefix));
  }
}

TEST_CASE("is_id rejects another prefix, a missing hyphen and a malformed ULID") {
  const std::string id = new_id(kExecutionPrefix);
  const std::string ulid = id.substr(4);
  CHECK_FALSE(is_id(id, kSessionPrefix));
  CHECK_FALSE(is_id("aex" + ulid, kExecutionPrefix));
  CHECK_FALSE(is_id("aex_" + ulid, kExecutionPrefix));
  CHECK_FALSE(is_id("aex-" + ulid.substr(1), kExecutionPrefix));
  CHECK_FALSE(is_id("aex-" + ulid + "0", kExecutionPrefix));
  CHECK_FALSE(is_id("aex-9" + ulid.substr(1), kExecutionPrefix));
  CHECK_FALSE(is_id("", kExecutionPrefix));
  CHECK_FALSE(is_id(ulid, kExecutionPrefix));
}

TEST_CASE("ULIDs within one millisecond are strictly increasing and keep that millisecond") {
  UlidGenerator generator;
  std::string previous = generator.next_at(5'000);
  for (int i = 0; i < 10'000; ++i) {
    const std::string next = generator.next_at(5'000);
    REQUIRE(next > previous);
    REQUIRE(time_of(next) == 5'000);
    previous = next;
  }
}

TEST_CASE("a ULID of a later millisecond is greater than every ULID of an earlier one") {
  UlidGenerator generator;
  std::string last_of_first_ms;
  for (int i = 0; i < 1'000; ++i) last_of_first_ms = generator.next_at(5'000);
  const std::string next = generator.next_at(5'001);
  CHECK(next > last_of_first_ms);
  CHECK(time_of(next) == 5'001);
}

TEST_CASE("a clock stepping backwards still yields increasing ULIDs") {
  UlidGenerator generator;
  const std::string before = generator.next_at(9'000);
  const std::string after_step_back = generator.next_at(4'000);
  CHECK(after_step_back > before);
  // The id keeps the latest time seen, so id order stays creation order.
  CHECK(time_of(after_step_back) == 9'000);
  CHECK(generator.next_at(8'999) > after_step_back);
}

TEST_CASE("ULIDs from several threads sharing one generator are unique and increase within each thread") {
  UlidGenerator generator;
  constexpr int kThreads = 4, kPerThread = 5'000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&generator, &out = made[t]] {
      out.reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) out.push_back(generator.next());
    });
  for (auto& thread : threads) thread.join();

  std::set<std::string> all;
  for (const auto& ids : made) {
    CHECK(std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) == ids.end());
    all.insert(ids.begin(), ids.end());
  }
  CHECK(all.size() == size_t{kThreads} * kPerThread);
}

TEST_CASE("ids generated one after another by new_id sort in creation order") {
  std::vector<std::string> ids;
  for (int i = 0; i < 2'000; ++i) ids.push_back(new_id(kExecutionPrefix));
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
}
