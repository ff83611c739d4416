#include "ws/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace parley::ws {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiterTest, AllowsTheBurstThenTheRate) {
  auto t0 = RateLimiter::Clock::now();
  RateLimiter limiter(10, 5, t0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.allow(t0)) << i;
  EXPECT_FALSE(limiter.allow(t0));
  EXPECT_TRUE(limiter.allow(t0 + 100ms));  // one token per 100 ms
  EXPECT_FALSE(limiter.allow(t0 + 100ms));
  EXPECT_TRUE(limiter.allow(t0 + 10s));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.allow(t0 + 10s)) << i;  // refilled to the burst, not beyond
  EXPECT_FALSE(limiter.allow(t0 + 10s));
}

}  // namespace
}  // namespace parley::ws
