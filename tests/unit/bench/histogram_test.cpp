#include "bench/histogram.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

using aexd::bench::Histogram;

TEST_CASE("an empty histogram reports zero for every statistic") {
  Histogram h;
  CHECK(h.count() == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.mean() == 0.0);
  CHECK(h.percentile(50) == 0);
}

TEST_CASE("small values are counted exactly, so their percentiles are exact") {
  Histogram h;
  for (uint64_t v = 1; v <= 200; ++v) h.record(v);
  CHECK(h.count() == 200);
  CHECK(h.min() == 1);
  CHECK(h.max() == 200);
  CHECK(h.mean() == doctest::Approx(100.5));
  CHECK(h.percentile(50) == 100);
  CHECK(h.percentile(90) == 180);
  CHECK(h.percentile(99) == 198);
  CHECK(h.percentile(99.9) == 200);
  CHECK(h.percentile(100) == 200);
}

TEST_CASE("99.9 percent of a thousand values is the 999th, despite floating-point rounding") {
  Histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);
  const uint64_t p = h.percentile(99.9);
  CHECK(p >= 999'000);
  CHECK(p < 1'000'000);
}

TEST_CASE("large values land in a bucket whose bounds are within 1/128 of the value") {
  for (uint64_t v : {uint64_t{256}, uint64_t{1000}, uint64_t{123'456'789}, uint64_t{1} << 40,
                     std::numeric_limits<uint64_t>::max()}) {
    const size_t i = Histogram::index_of(v);
    CAPTURE(v);
    CHECK(Histogram::lowest_in_bucket(i) <= v);
    CHECK(Histogram::highest_in_bucket(i) >= v);
    CHECK(static_cast<double>(Histogram::highest_in_bucket(i) - Histogram::lowest_in_bucket(i)) <=
          static_cast<double>(v) / 128.0);
  }
}

TEST_CASE("buckets tile the value range without gaps or overlaps") {
  for (size_t i = 0; i + 1 < Histogram::bucket_count(); ++i) {
    REQUIRE(Histogram::highest_in_bucket(i) + 1 == Histogram::lowest_in_bucket(i + 1));
    REQUIRE(Histogram::index_of(Histogram::lowest_in_bucket(i)) == i);
    REQUIRE(Histogram::index_of(Histogram::highest_in_bucket(i)) == i);
  }
}

TEST_CASE("percentiles of a wide latency spread stay within the bucket precision") {
  Histogram h;
  // 1 us .. 10 ms in 1 us steps: the p-th percentile is p% of 10 ms.
  for (uint64_t v = 1; v <= 10'000; ++v) h.record(v * 1000);
  for (double p : {50.0, 90.0, 99.0}) {
    const double exact = p / 100.0 * 10'000'000.0;
    CAPTURE(p);
    CHECK(static_cast<double>(h.percentile(p)) >= exact);
    CHECK(static_cast<double>(h.percentile(p)) <= exact * (1.0 + 1.0 / 128.0));
  }
  CHECK(h.min() == 1000);
  CHECK(h.max() == 10'000'000);
}

TEST_CASE("a percentile never exceeds the largest recorded value") {
  Histogram h;
  h.record(1'000'001);
  CHECK(h.percentile(50) == 1'000'001);
}

TEST_CASE("merging two histograms gives the same statistics as recording everything in one") {
  Histogram a, b, all;
  for (uint64_t v = 1; v <= 5000; ++v) {
    (v % 3 ? a : b).record(v * 37);
    all.record(v * 37);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.min() == all.min());
  CHECK(a.max() == all.max());
  CHECK(a.mean() == doctest::Approx(all.mean()));
  for (double p : {10.0, 50.0, 90.0, 99.0, 99.9}) CHECK(a.percentile(p) == all.percentile(p));
}

TEST_CASE("merging an empty histogram changes nothing") {
  Histogram a, empty;
  a.record(42);
  a.merge(empty);
  CHECK(a.count() == 1);
  CHECK(a.min() == 42);
  CHECK(a.max() == 42);
}
