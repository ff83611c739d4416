#include "histogram.hpp"

#include <gtest/gtest.h>

#include "stats.hpp"

namespace parley::bench {
namespace {

// Within the histogram's promised precision (1/64 of the value).
void expect_near_value(std::uint64_t actual, double expected) {
  EXPECT_NEAR(static_cast<double>(actual), expected, expected / 64 + 1) << "expected about " << expected;
}

TEST(Histogram, BucketsCoverEveryValueOnce) {
  for (std::uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 129ULL, 255ULL, 256ULL, 1000ULL, 65535ULL, 1ULL << 30,
                          (1ULL << 40) - 1}) {
    auto i = Histogram::index_of(v);
    EXPECT_LE(Histogram::lowest_of(i), v) << v;
    EXPECT_GE(Histogram::highest_of(i), v) << v;
    if (i + 1 < Histogram::kBuckets) {
      EXPECT_EQ(Histogram::highest_of(i) + 1, Histogram::lowest_of(i + 1)) << v;
    }
  }
  EXPECT_EQ(Histogram::index_of(1ULL << 50), Histogram::kBuckets - 1);
}

TEST(Histogram, PercentilesOfAUniformDistribution) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 100000U);
  EXPECT_EQ(h.min(), 1U);
  EXPECT_EQ(h.max(), 100000U);
  EXPECT_NEAR(h.mean(), 50000.5, 0.01);
  expect_near_value(h.percentile(50), 50000);
  expect_near_value(h.percentile(90), 90000);
  expect_near_value(h.percentile(99), 99000);
  expect_near_value(h.percentile(99.9), 99900);
  EXPECT_EQ(h.percentile(100), 100000U);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (int i = 0; i < 99; ++i) h.record(10);
  h.record(100);
  EXPECT_EQ(h.percentile(50), 10U);
  EXPECT_EQ(h.percentile(99), 10U);
  EXPECT_EQ(h.percentile(99.9), 100U);
  EXPECT_EQ(Histogram().percentile(50), 0U);
}

TEST(Histogram, MergeAndJsonRoundTrip) {
  Histogram a, b;
  for (std::uint64_t v = 1; v <= 1000; ++v) a.record(v);
  for (std::uint64_t v = 1001; v <= 2000; ++v) b.record(v * 1000);
  a.merge(b);
  auto copy = Histogram::from_json(a.to_json());
  EXPECT_EQ(copy.count(), 2000U);
  EXPECT_EQ(copy.min(), 1U);
  EXPECT_EQ(copy.max(), 2000000U);
  EXPECT_EQ(copy.percentile(50), a.percentile(50));
  expect_near_value(copy.percentile(75), 1500000);
  EXPECT_THROW((void)Histogram::from_json(boost::json::value(42)), std::invalid_argument);
}

TEST(Stats, JsonRoundTrip) {
  Stats s;
  s.delivered = 7;
  s.delivery.record(1234);
  s.error("server error: rate_limited", "sample");
  auto copy = Stats::from_json(s.to_json());
  EXPECT_EQ(copy.delivered, 7U);
  EXPECT_EQ(copy.delivery.count(), 1U);
  EXPECT_EQ(copy.errors.at("server error: rate_limited"), 1U);
  copy.merge(s);
  EXPECT_EQ(copy.delivered, 14U);
  EXPECT_EQ(copy.error_samples.size(), 2U);
}

}  // namespace
}  // namespace parley::bench
