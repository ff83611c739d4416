#include "http/client_address.hpp"

#include <gtest/gtest.h>

#include "core/config.hpp"

namespace parley::http {
namespace {

const auto kXff = ForwardedHeader::kXForwardedFor;
const auto kForwarded = ForwardedHeader::kForwarded;

TrustedProxies proxies() { return TrustedProxies::parse({"10.0.0.0/8", "192.168.1.7", "fd00::/8"}); }

TEST(ClientAddressTest, PeerIsTheClientWhenNoProxyIsTrusted) {
  EXPECT_EQ(client_address("10.0.0.1", {"1.2.3.4"}, kXff, TrustedProxies{}), "10.0.0.1");
}

TEST(ClientAddressTest, HeaderFromAnUntrustedPeerIsIgnored) {
  EXPECT_EQ(client_address("203.0.113.9", {"1.2.3.4"}, kXff, proxies()), "203.0.113.9");
}

TEST(ClientAddressTest, TrustedPeerGivesTheRightMostUntrustedAddress) {
  // The client wrote "6.6.6.6" itself; the proxies appended the rest.
  EXPECT_EQ(client_address("10.0.0.1", {"6.6.6.6, 198.51.100.2, 10.1.1.1"}, kXff, proxies()), "198.51.100.2");
  EXPECT_EQ(client_address("192.168.1.7", {"198.51.100.2"}, kXff, proxies()), "198.51.100.2");
}

TEST(ClientAddressTest, SeveralHeaderInstancesFormOneChain) {
  EXPECT_EQ(client_address("10.0.0.1", {"6.6.6.6", "198.51.100.3"}, kXff, proxies()), "198.51.100.3");
}

TEST(ClientAddressTest, AllTrustedGivesTheLeftMost) {
  EXPECT_EQ(client_address("10.0.0.1", {"10.2.2.2, 10.3.3.3"}, kXff, proxies()), "10.2.2.2");
}

TEST(ClientAddressTest, NoHeaderFromATrustedProxyGivesThePeer) {
  EXPECT_EQ(client_address("10.0.0.1", {}, kXff, proxies()), "10.0.0.1");
}

TEST(ClientAddressTest, GarbageEndsTheWalkAtTheLastTrustedHop) {
  EXPECT_EQ(client_address("10.0.0.1", {"1.2.3.4, not-an-address"}, kXff, proxies()), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", {"1.2.3.4, not-an-address, 10.4.4.4"}, kXff, proxies()), "10.4.4.4");
}

TEST(ClientAddressTest, PortsAndBracketsAreStripped) {
  EXPECT_EQ(client_address("10.0.0.1", {"198.51.100.2:5555"}, kXff, proxies()), "198.51.100.2");
  EXPECT_EQ(client_address("10.0.0.1", {"[2001:db8::1]:443"}, kXff, proxies()), "2001:db8::1");
  EXPECT_EQ(client_address("10.0.0.1", {"2001:db8::1"}, kXff, proxies()), "2001:db8::1");
}

TEST(ClientAddressTest, ForwardedHeaderIsParsedPerRfc7239) {
  EXPECT_EQ(client_address("10.0.0.1", {R"(for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https)"}, kForwarded,
                           proxies()),
            "2001:db8:cafe::17");
  EXPECT_EQ(client_address("10.0.0.1", {"for=198.51.100.2;by=10.0.0.1, For=10.9.9.9"}, kForwarded, proxies()),
            "198.51.100.2");
  // "unknown" and obfuscated identifiers are no addresses.
  EXPECT_EQ(client_address("10.0.0.1", {"for=unknown"}, kForwarded, proxies()), "10.0.0.1");
  EXPECT_EQ(client_address("10.0.0.1", {"for=_hidden"}, kForwarded, proxies()), "10.0.0.1");
}

TEST(ClientAddressTest, MappedIpv6PeerMatchesIpv4Rules) {
  EXPECT_EQ(client_address("::ffff:10.0.0.1", {"198.51.100.2"}, kXff, proxies()), "198.51.100.2");
}

TEST(ClientAddressTest, Ipv6PeerInATrustedBlock) {
  EXPECT_EQ(client_address("fd12::1", {"198.51.100.2"}, kXff, proxies()), "198.51.100.2");
  EXPECT_EQ(client_address("fe80::1", {"198.51.100.2"}, kXff, proxies()), "fe80::1");
}

TEST(ClientAddressTest, UnknownPeerStaysUnknown) {
  EXPECT_EQ(client_address("unknown", {"1.2.3.4"}, kXff, proxies()), "unknown");
}

TEST(TrustedProxiesTest, ParsesAddressesAndBlocks) {
  auto trusted = TrustedProxies::parse({"127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"});
  auto has = [&](const char* text) { return trusted.contains(boost::asio::ip::make_address(text)); };
  EXPECT_TRUE(has("127.0.0.1"));
  EXPECT_FALSE(has("127.0.0.2"));
  EXPECT_TRUE(has("10.255.0.1"));
  EXPECT_FALSE(has("11.0.0.1"));
  EXPECT_TRUE(has("::1"));
  EXPECT_TRUE(has("fdff::1"));
  EXPECT_FALSE(has("fe00::1"));
}

TEST(TrustedProxiesTest, RefusesGarbageAndHostBits) {
  EXPECT_THROW((void)TrustedProxies::parse({"proxy.local"}), ConfigError);
  EXPECT_THROW((void)TrustedProxies::parse({"10.0.0.0/33"}), ConfigError);
  EXPECT_THROW((void)TrustedProxies::parse({"10.1.2.3/8"}), ConfigError);
  EXPECT_THROW((void)TrustedProxies::parse({""}), ConfigError);
  EXPECT_THROW((void)parse_forwarded_header("X-Real-IP"), ConfigError);
  EXPECT_EQ(parse_forwarded_header("Forwarded"), ForwardedHeader::kForwarded);
}

}  // namespace
}  // namespace parley::http
