// Histogram: an HDR-style log-linear latency histogram for aexbench. Values below 2^(kSubBits+1)
// are counted exactly; above that each power of two is split into 2^kSubBits buckets, so any
// reported percentile is within 1/2^kSubBits (< 0.8%) of a recorded value. Not thread-safe:
// each worker records into its own and they are merged at the end.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace aexd::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 7;

  Histogram() : counts_(bucket_count(), 0) {}

  void record(uint64_t value) {
    ++counts_[index_of(value)];
    ++count_;
    sum_ += value;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  void merge(const Histogram& other) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }

  /// The smallest value v such that at least `percent`% of the recorded values are <= v, rounded up
  /// to the top of its bucket (as HDR does) but never past the largest recorded value.
  uint64_t percentile(double percent) const {
    if (count_ == 0) return 0;
    // Multiply before dividing and forgive rounding noise, so 99.9% of 1000 is rank 999, not 1000.
    const double wanted = std::clamp(percent, 0.0, 100.0) * static_cast<double>(count_) / 100.0;
    const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(wanted - 1e-6)));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(highest_in_bucket(i), min(), max_);
    }
    return max_;
  }

  /// Bucket arithmetic, public so the tests can check the precision promise directly.
  static size_t index_of(uint64_t value) {
    const int width = std::bit_width(value);
    const int shift = std::max(0, width - kSubBits - 1);
    return (static_cast<size_t>(shift) << kSubBits) + static_cast<size_t>(value >> shift);
  }
  static uint64_t lowest_in_bucket(size_t index) {
    if (index < (size_t{1} << (kSubBits + 1))) return index;
    const int shift = static_cast<int>(index >> kSubBits) - 1;
    const uint64_t top = index - (static_cast<size_t>(shift) << kSubBits);
    return top << shift;
  }
  static uint64_t highest_in_bucket(size_t index) {
    if (index + 1 == bucket_count()) return std::numeric_limits<uint64_t>::max();
    return lowest_in_bucket(index + 1) - 1;
  }
  static size_t bucket_count() { return index_of(std::numeric_limits<uint64_t>::max()) + 1; }

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace aexd::bench
