#include "auth/login_throttle.hpp"

#include <gtest/gtest.h>

namespace parley::auth {
namespace {

using namespace std::chrono_literals;
using Clock = LoginThrottle::Clock;

AuthOptions options() {
  AuthOptions o;
  o.login_failures_per_pair = 3;
  o.login_failures_per_address = 5;
  o.login_failures_per_account = 8;
  o.login_delay_base = 1s;
  o.login_delay_max = 60s;
  o.login_failure_window = 600s;
  o.login_throttle_max_entries = 100;
  return o;
}

LoginAttempt from(std::string_view account, std::string_view address, std::string_view device = {}) {
  return LoginAttempt{account, address, device};
}

TEST(LoginThrottleTest, PairIsDelayedWithExponentialBackoffUpToTheCap) {
  LoginThrottle throttle(options());
  auto t = Clock::time_point{} + 1000s;
  auto amy = from("amy", "10.0.0.1");
  throttle.record_failure(amy, t);
  throttle.record_failure(amy, t);
  EXPECT_FALSE(throttle.retry_after(amy, t));  // two mistakes cost nothing
  std::vector<std::chrono::seconds> waits;
  for (int i = 0; i < 9; ++i) {
    throttle.record_failure(amy, t);
    auto wait = throttle.retry_after(amy, t);
    ASSERT_TRUE(wait);
    waits.push_back(*wait);
    t += *wait;  // the client waits exactly as told...
    EXPECT_FALSE(throttle.retry_after(amy, t));  // ...and is let in
  }
  EXPECT_EQ(waits, (std::vector<std::chrono::seconds>{1s, 2s, 4s, 8s, 16s, 32s, 60s, 60s, 60s}));
}

TEST(LoginThrottleTest, DelaysDecayAfterTheWindowWithoutFailures) {
  LoginThrottle throttle(options());
  auto t = Clock::time_point{} + 1000s;
  auto amy = from("amy", "10.0.0.1");
  for (int i = 0; i < 6; ++i) throttle.record_failure(amy, t);
  EXPECT_EQ(throttle.retry_after(amy, t), 8s);
  t += 600s;  // a quiet window: the count is forgotten
  throttle.record_failure(amy, t);
  EXPECT_FALSE(throttle.retry_after(amy, t));
}

TEST(LoginThrottleTest, OneAddressIsDelayedAcrossAccounts) {
  LoginThrottle throttle(options());
  auto t = Clock::time_point{} + 1000s;
  for (int i = 0; i < 5; ++i) throttle.record_failure(from("user" + std::to_string(i), "10.0.0.1"), t);
  EXPECT_TRUE(throttle.retry_after(from("fresh", "10.0.0.1"), t));
  EXPECT_FALSE(throttle.retry_after(from("fresh", "10.0.0.2"), t));
}

TEST(LoginThrottleTest, Ipv6AddressesCountByTheirSlash64) {
  LoginThrottle throttle(options());
  auto t = Clock::time_point{} + 1000s;
  for (int i = 0; i < 5; ++i) {
    std::string address = "2001:db8:1:2::" + std::to_string(i + 1);
    throttle.record_failure(from("user" + std::to_string(i), address), t);
  }
  EXPECT_TRUE(throttle.retry_after(from("fresh", "2001:db8:1:2::99"), t));
  EXPECT_FALSE(throttle.retry_after(from("fresh", "2001:db8:1:3::1"), t));
}

TEST(LoginThrottleTest, DistributedGuessingDelaysUnknownDevicesButNotKnownOnes) {
  LoginThrottle throttle(options());
  auto t = Clock::time_point{} + 1000s;
  // Eight addresses, one failure each: no pair or address is over its limit.
  for (int i = 0; i < 8; ++i) throttle.record_failure(from("amy", "10.0.1." + std::to_string(i)), t);
  EXPECT_TRUE(throttle.retry_after(from("amy", "10.0.2.1"), t));  // a new device waits
  EXPECT_FALSE(throttle.retry_after(from("amy", "10.0.2.1", "device-a"), t));  // amy's phone does not
  EXPECT_FALSE(throttle.retry_after(from("bob", "10.0.2.1"), t));
}

TEST(LoginThrottleTest, KnownDeviceIsUnaffectedEvenFromTheAttackersAddress) {
  LoginThrottle throttle(options());
  auto t = Clock::time_point{} + 1000s;
  for (int i = 0; i < 20; ++i) throttle.record_failure(from("amy", "10.0.0.1"), t);
  EXPECT_TRUE(throttle.retry_after(from("amy", "10.0.0.1"), t));
  EXPECT_FALSE(throttle.retry_after(from("amy", "10.0.0.1", "device-a"), t));
}

TEST(LoginThrottleTest, KnownDeviceIsThrottledOnItsOwn) {
  LoginThrottle throttle(options());
  auto t = Clock::time_point{} + 1000s;
  // A stolen device token is no licence to guess.
  for (int i = 0; i < 3; ++i) throttle.record_failure(from("amy", "10.0.0.1", "device-a"), t);
  EXPECT_TRUE(throttle.retry_after(from("amy", "10.0.0.9", "device-a"), t));
  EXPECT_FALSE(throttle.retry_after(from("amy", "10.0.0.9", "device-b"), t));
  // Its failures count against nothing else.
  EXPECT_FALSE(throttle.retry_after(from("amy", "10.0.0.1"), t));
}

TEST(LoginThrottleTest, SuccessClearsThePairButNotTheAddressOrAccount) {
  LoginThrottle throttle(options());
  auto t = Clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) throttle.record_failure(from("bea", "10.0.0.1"), t);
  EXPECT_TRUE(throttle.retry_after(from("bea", "10.0.0.1"), t));
  throttle.record_success(from("bea", "10.0.0.1"));
  EXPECT_FALSE(throttle.retry_after(from("bea", "10.0.0.1"), t));
  throttle.record_failure(from("x", "10.0.0.1"), t);
  throttle.record_failure(from("y", "10.0.0.1"), t);
  EXPECT_TRUE(throttle.retry_after(from("bea", "10.0.0.1"), t));  // 5 failures from this address
}

TEST(LoginThrottleTest, EvictionDropsColdKeysAndKeepsAHotAttackersCounters) {
  auto o = options();
  o.login_throttle_max_entries = 16;
  LoginThrottle throttle(o);
  auto t = Clock::time_point{} + 1000s;
  auto cold = from("cal", "10.8.0.1");
  for (int i = 0; i < 3; ++i) throttle.record_failure(cold, t);
  ASSERT_TRUE(throttle.retry_after(cold, t));
  auto attacker = from("amy", "10.0.0.1");
  for (int i = 0; i < 3; ++i) throttle.record_failure(attacker, t);
  ASSERT_TRUE(throttle.retry_after(attacker, t));
  // A flood of new keys (3 per failure) from elsewhere, while the attacker
  // keeps trying (each attempt touches its keys).
  for (int i = 0; i < 200; ++i) {
    throttle.record_failure(from("victim" + std::to_string(i), "10.9.0." + std::to_string(i % 250)), t);
    EXPECT_TRUE(throttle.retry_after(attacker, t)) << i;
    EXPECT_LE(throttle.size(), 16U);
  }
  // Not wiped: the table stays full of the newest keys, the attacker's among them.
  EXPECT_EQ(throttle.size(), 16U);
  EXPECT_TRUE(throttle.retry_after(attacker, t));
  // What was evicted is the key nobody touched for longest.
  EXPECT_FALSE(throttle.retry_after(cold, t));
}

}  // namespace
}  // namespace parley::auth
