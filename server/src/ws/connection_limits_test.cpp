#include "ws/connection_limits.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace parley::ws {
namespace {

WebSocketOptions small_limits() {
  WebSocketOptions options;
  options.max_connections_per_user = 3;
  options.max_connections_per_address = 2;
  // Slow refill: a test's few milliseconds add no whole token.
  options.frames_per_second = 1;
  options.frame_burst = 4;
  options.user_frames_per_second = 1;
  options.user_frame_burst = 6;
  return options;
}

TEST(ConnectionLimitsTest, CapsConnectionsPerAddressUntilOneCloses) {
  ConnectionLimits limits(small_limits());
  auto a = limits.admit_address("10.0.0.1");
  auto b = limits.admit_address("10.0.0.1");
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(limits.admit_address("10.0.0.1"));
  EXPECT_TRUE(limits.admit_address("10.0.0.2"));
  a.reset();
  EXPECT_TRUE(limits.admit_address("10.0.0.1"));
}

TEST(ConnectionLimitsTest, IPv6AddressesCountPerSlash64) {
  ConnectionLimits limits(small_limits());
  auto a = limits.admit_address("2001:db8:1:2::1");
  auto b = limits.admit_address("2001:db8:1:2:ffff::9");
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(limits.admit_address("2001:db8:1:2:abcd:1:2:3")) << "the same /64";
  EXPECT_TRUE(limits.admit_address("2001:db8:1:3::1")) << "another /64";
  auto c = limits.admit_address("::ffff:192.0.2.1");
  auto d = limits.admit_address("192.0.2.1");
  ASSERT_TRUE(c && d);
  EXPECT_FALSE(limits.admit_address("192.0.2.1")) << "IPv4 written as IPv4-mapped IPv6 is the same address";
  EXPECT_TRUE(limits.admit_address("192.0.2.2"));
}

TEST(ConnectionLimitsTest, NoAddressCapWhenZero) {
  auto options = small_limits();
  options.max_connections_per_address = 0;
  ConnectionLimits limits(options);
  std::vector<ConnectionLimits::AddressTicket> held;
  for (int i = 0; i < 100; ++i) {
    auto ticket = limits.admit_address("10.0.0.1");
    ASSERT_TRUE(ticket);
    held.push_back(std::move(*ticket));
  }
}

TEST(ConnectionLimitsTest, CapsConnectionsPerUserAcrossSessions) {
  ConnectionLimits limits(small_limits());
  std::vector<ConnectionLimits::UserTicket> held;
  for (int i = 0; i < 3; ++i) {
    auto ticket = limits.admit_user(7, 100 + i);
    ASSERT_TRUE(ticket) << i;
    held.push_back(std::move(*ticket));
  }
  EXPECT_FALSE(limits.admit_user(7, 200));
  EXPECT_TRUE(limits.admit_user(8, 300)) << "another user";
  EXPECT_EQ(limits.user_connections(7), 3U);
  held.pop_back();
  EXPECT_EQ(limits.user_connections(7), 2U);
  EXPECT_TRUE(limits.admit_user(7, 200));
  held.clear();
  EXPECT_EQ(limits.user_connections(7), 0U);
}

TEST(ConnectionLimitsTest, ASessionsConnectionsShareOneBudget) {
  ConnectionLimits limits(small_limits());
  auto a = limits.admit_user(7, 1);
  auto b = limits.admit_user(7, 1);
  int allowed = 0;
  for (int i = 0; i < 3; ++i) allowed += a->allow_frame() + b->allow_frame();
  EXPECT_EQ(allowed, 4) << "the session's burst, not two of them";
}

TEST(ConnectionLimitsTest, AUsersSessionsShareOneBudget) {
  ConnectionLimits limits(small_limits());
  auto a = limits.admit_user(7, 1);
  auto b = limits.admit_user(7, 2);
  auto other = limits.admit_user(8, 3);
  int allowed = 0;
  for (int i = 0; i < 4; ++i) allowed += a->allow_frame() + b->allow_frame();
  EXPECT_EQ(allowed, 6) << "the user's burst, although each session stayed within its own";
  EXPECT_TRUE(other->allow_frame()) << "other users are not affected";
}

TEST(ConnectionLimitsTest, TicketsOutliveTheLimits) {
  std::optional<ConnectionLimits::UserTicket> user;
  std::optional<ConnectionLimits::AddressTicket> address;
  {
    ConnectionLimits limits(small_limits());
    user = limits.admit_user(1, 1);
    address = limits.admit_address("::1");
  }
  EXPECT_TRUE(user->allow_frame());
  user.reset();
  address.reset();
}

}  // namespace
}  // namespace parley::ws
