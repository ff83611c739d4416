// A log-linear latency histogram in the manner of HdrHistogram: values below
// 128 are counted exactly, larger ones in buckets whose width is 1/64 of
// their power of two, so every reported value is within 1.6% of a recorded
// one. Values are unsigned integers in any unit (the benchmark records
// microseconds); the largest distinguishable value is 2^40.
//
// Fixed size (about 18 KiB), no allocation after construction, no locking:
// each thread records into its own histogram and the results are merged.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace parley::bench {

class Histogram {
 public:
  // Counts one value. Values past the largest bucket land in it (max() still
  // reports the true value).
  void record(std::uint64_t value);

  // Adds every count of `other`.
  void merge(const Histogram& other);

  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  [[nodiscard]] std::uint64_t max() const { return max_; }
  [[nodiscard]] double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

  // The value at or below which `percent` (0-100] of the recorded values
  // lie: the upper edge of the bucket holding that rank, capped at max().
  // 0 for an empty histogram.
  [[nodiscard]] std::uint64_t percentile(double percent) const;

  // {"count","min","mean","p50","p90","p99","p999","max"}: what a report shows.
  [[nodiscard]] boost::json::object summary() const;

  // Every non-empty bucket, for merging histograms of other processes:
  // {"count","min","max","sum","buckets":[[index,count],...]}.
  [[nodiscard]] boost::json::object to_json() const;
  // The inverse of to_json(). Throws std::invalid_argument on a malformed
  // document.
  [[nodiscard]] static Histogram from_json(const boost::json::value& json);

  // Bucket arithmetic, public for the unit test.
  [[nodiscard]] static std::size_t index_of(std::uint64_t value);
  [[nodiscard]] static std::uint64_t lowest_of(std::size_t index);
  [[nodiscard]] static std::uint64_t highest_of(std::size_t index);

  static constexpr int kSubBucketBits = 7;               // 128 exact values, then 64 per power of two
  static constexpr int kMaxExponent = 40;                // 2^40 µs is 12 days
  static constexpr std::size_t kBuckets = (1U << kSubBucketBits) + (kMaxExponent - kSubBucketBits + 1) * 64;

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
};

}  // namespace parley::bench
