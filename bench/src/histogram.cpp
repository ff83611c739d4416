#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

#include <boost/json/array.hpp>

namespace parley::bench {

std::size_t Histogram::index_of(std::uint64_t value) {
  constexpr std::uint64_t kExact = 1U << kSubBucketBits;
  if (value < kExact) return static_cast<std::size_t>(value);
  int top_bit = std::bit_width(value) - 1;  // >= kSubBucketBits
  if (top_bit > kMaxExponent) return kBuckets - 1;
  int shift = top_bit - (kSubBucketBits - 1);
  auto mantissa = static_cast<std::size_t>(value >> shift);  // in [64, 128)
  return kExact + static_cast<std::size_t>(top_bit - kSubBucketBits) * 64 + (mantissa - 64);
}

std::uint64_t Histogram::lowest_of(std::size_t index) {
  constexpr std::size_t kExact = 1U << kSubBucketBits;
  if (index < kExact) return index;
  std::size_t k = index - kExact;
  int top_bit = static_cast<int>(k / 64) + kSubBucketBits;
  std::uint64_t mantissa = k % 64 + 64;
  return mantissa << (top_bit - (kSubBucketBits - 1));
}

std::uint64_t Histogram::highest_of(std::size_t index) {
  constexpr std::size_t kExact = 1U << kSubBucketBits;
  if (index < kExact) return index;
  int top_bit = static_cast<int>((index - kExact) / 64) + kSubBucketBits;
  return lowest_of(index) + (std::uint64_t{1} << (top_bit - (kSubBucketBits - 1))) - 1;
}

void Histogram::record(std::uint64_t value) {
  ++counts_[index_of(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += value;
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

std::uint64_t Histogram::percentile(double percent) const {
  if (count_ == 0) return 0;
  percent = std::clamp(percent, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highest_of(i), min(), max_);
  }
  return max_;
}

boost::json::object Histogram::summary() const {
  return boost::json::object{{"count", count_},
                             {"min", min()},
                             {"mean", std::round(mean() * 10) / 10},
                             {"p50", percentile(50)},
                             {"p90", percentile(90)},
                             {"p99", percentile(99)},
                             {"p999", percentile(99.9)},
                             {"max", max_}};
}

boost::json::object Histogram::to_json() const {
  boost::json::array buckets;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (counts_[i] != 0) buckets.push_back(boost::json::array{i, counts_[i]});
  }
  return boost::json::object{
      {"count", count_}, {"min", min()}, {"max", max_}, {"sum", sum_}, {"buckets", std::move(buckets)}};
}

Histogram Histogram::from_json(const boost::json::value& json) {
  try {
    const auto& object = json.as_object();
    Histogram histogram;
    for (const auto& bucket : object.at("buckets").as_array()) {
      const auto& pair = bucket.as_array();
      auto index = pair.at(0).to_number<std::size_t>();
      if (index >= kBuckets) throw std::invalid_argument("histogram bucket out of range");
      histogram.counts_[index] += pair.at(1).to_number<std::uint64_t>();
    }
    histogram.count_ = object.at("count").to_number<std::uint64_t>();
    histogram.max_ = object.at("max").to_number<std::uint64_t>();
    histogram.sum_ = object.at("sum").to_number<std::uint64_t>();
    histogram.min_ = histogram.count_ == 0 ? UINT64_MAX : object.at("min").to_number<std::uint64_t>();
    return histogram;
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("malformed histogram: ") + e.what());
  }
}

}  // namespace parley::bench
