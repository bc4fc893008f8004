#include "watch/execution_cache.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace aexd;
using model::ExecutionChange;

namespace {

std::shared_ptr<const model::Snapshot> state(uint64_t revision, const std::string& text = "state") {
  return model::make_snapshot(revision, exv1::EXECUTION_IN_PROGRESS, text + std::to_string(revision));
}

std::string text_of(const std::shared_ptr<const model::Snapshot>& s) {
  return std::string(reinterpret_cast<const char*>(s->bytes.begin()), s->bytes.size());
}

// One shard, so the byte budget and recency order apply to every entry alike.
watch::ExecutionCache cache_for(size_t entries) {
  watch::ExecutionCache probe(1 << 20, 1);
  probe.apply({{"aex-0", state(1)}});
  return watch::ExecutionCache(probe.bytes() * entries + probe.bytes() / 2, 1);
}

}  // namespace

TEST_CASE("execution cache: a committed change is what find returns, newest first") {
  watch::ExecutionCache cache(1 << 20);
  CHECK_FALSE(cache.find("aex-1"));
  cache.apply({{"aex-1", state(1)}, {"aex-1", state(2)}});
  auto found = cache.find("aex-1");
  REQUIRE(found);
  CHECK(found->revision == 2);
  CHECK(text_of(found) == "state2");
}

TEST_CASE("execution cache: a deleted execution is no longer found") {
  watch::ExecutionCache cache(1 << 20);
  cache.apply({{"aex-1", state(1)}, {"aex-2", state(1)}});
  cache.apply({{"aex-1", nullptr}});
  CHECK_FALSE(cache.find("aex-1"));
  CHECK(cache.find("aex-2"));
}

TEST_CASE("execution cache: past its byte budget the least recently used entry goes first") {
  auto cache = cache_for(2);
  cache.apply({{"aex-1", state(1)}, {"aex-2", state(1)}});
  REQUIRE(cache.find("aex-1"));  // now aex-2 is the least recently used
  cache.apply({{"aex-3", state(1)}});
  CHECK(cache.find("aex-1"));
  CHECK_FALSE(cache.find("aex-2"));
  CHECK(cache.find("aex-3"));
}

TEST_CASE("execution cache: replacing an entry keeps the byte count of the new one only") {
  watch::ExecutionCache cache(1 << 20);
  cache.apply({{"aex-1", state(1)}});
  const size_t one = cache.bytes();
  for (uint64_t r = 2; r < 50; ++r) cache.apply({{"aex-1", state(r % 9 + 1)}});
  CHECK(cache.bytes() == one);
  cache.apply({{"aex-1", nullptr}});
  CHECK(cache.bytes() == 0);
}

TEST_CASE("execution cache: a reader's fill is refused when a commit was applied after its read began") {
  watch::ExecutionCache cache(1 << 20);
  const uint64_t before_read = cache.generation();
  cache.apply({{"aex-1", nullptr}});  // e.g. deleted while the reader was reading
  cache.fill("aex-1", state(3), before_read);
  CHECK_FALSE(cache.find("aex-1"));
}

TEST_CASE("execution cache: a reader's fill is kept when nothing was committed meanwhile") {
  watch::ExecutionCache cache(1 << 20);
  cache.fill("aex-1", state(3), cache.generation());
  auto found = cache.find("aex-1");
  REQUIRE(found);
  CHECK(found->revision == 3);
}

TEST_CASE("execution cache: a reader's fill never replaces an entry a commit put there") {
  watch::ExecutionCache cache(1 << 20);
  cache.apply({{"aex-1", state(5)}});
  cache.fill("aex-1", state(4), cache.generation());
  CHECK(cache.find("aex-1")->revision == 5);
}

TEST_CASE("execution cache: with a budget of zero nothing is kept") {
  watch::ExecutionCache cache(0);
  cache.apply({{"aex-1", state(1)}});
  cache.fill("aex-2", state(1), cache.generation());
  CHECK_FALSE(cache.find("aex-1"));
  CHECK_FALSE(cache.find("aex-2"));
  CHECK(cache.bytes() == 0);
}
