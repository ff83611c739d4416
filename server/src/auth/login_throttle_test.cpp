#include "auth/login_throttle.hpp"

#include <gtest/gtest.h>

namespace parley::auth {
namespace {

using namespace std::chrono_literals;

AuthOptions options() {
  AuthOptions o;
  o.login_failures_per_user = 3;
  o.login_failures_per_address = 5;
  o.login_failure_window = 60s;
  return o;
}

TEST(LoginThrottleTest, UsernameIsThrottledAfterLimitUntilWindowEnds) {
  LoginThrottle throttle(options());
  auto t0 = LoginThrottle::Clock::now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(throttle.retry_after("amy", "10.0.0.1", t0));
    throttle.record_failure("amy", "10.0.0.1", t0);
  }
  auto wait = throttle.retry_after("amy", "10.0.0.9", t0 + 10s);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 50s);
  EXPECT_FALSE(throttle.retry_after("amy", "10.0.0.9", t0 + 61s));
  EXPECT_FALSE(throttle.retry_after("other", "10.0.0.2", t0 + 10s));
}

TEST(LoginThrottleTest, AddressIsThrottledAcrossUsernames) {
  LoginThrottle throttle(options());
  auto t0 = LoginThrottle::Clock::now();
  for (int i = 0; i < 5; ++i) throttle.record_failure("user" + std::to_string(i), "10.0.0.1", t0);
  EXPECT_TRUE(throttle.retry_after("fresh", "10.0.0.1", t0));
  EXPECT_FALSE(throttle.retry_after("fresh", "10.0.0.2", t0));
}

TEST(LoginThrottleTest, SuccessClearsUsernameButNotAddress) {
  LoginThrottle throttle(options());
  auto t0 = LoginThrottle::Clock::now();
  for (int i = 0; i < 3; ++i) throttle.record_failure("bea", "10.0.0.1", t0);
  throttle.record_success("bea");
  EXPECT_FALSE(throttle.retry_after("bea", "10.0.0.2", t0));
  throttle.record_failure("x", "10.0.0.1", t0);
  throttle.record_failure("y", "10.0.0.1", t0);
  EXPECT_TRUE(throttle.retry_after("bea", "10.0.0.1", t0));  // 5 failures from this address
}

}  // namespace
}  // namespace parley::auth
