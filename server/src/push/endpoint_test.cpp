#include "push/endpoint.hpp"

#include <gtest/gtest.h>

namespace parley::push {
namespace {

std::string refusal(std::string_view url) {
  std::string reason;
  EXPECT_FALSE(parse_endpoint(url, &reason).has_value()) << url;
  return reason;
}

TEST(PushEndpointTest, ParsesHttpsEndpoints) {
  auto e = parse_endpoint("https://fcm.googleapis.com/fcm/send/abc:def?x=1", nullptr);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "fcm.googleapis.com");
  EXPECT_EQ(e->port, 443);
  EXPECT_EQ(e->target, "/fcm/send/abc:def?x=1");
  EXPECT_EQ(e->origin, "https://fcm.googleapis.com");
  auto p = parse_endpoint("https://Push.Example:8443", nullptr);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "push.example");
  EXPECT_EQ(p->target, "/");
  EXPECT_EQ(p->origin, "https://push.example:8443");
  auto v6 = parse_endpoint("https://[2001:4860::1]/p", nullptr);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "2001:4860::1");
  EXPECT_EQ(v6->origin, "https://[2001:4860::1]");
}

TEST(PushEndpointTest, RefusesWhatIsNotAPlainHttpsUrl) {
  EXPECT_EQ(refusal("http://push.example/x"), "must be an https URL");
  EXPECT_EQ(refusal("ftp://push.example/x"), "must be an https URL");
  EXPECT_EQ(refusal("push.example/x"), "is not an absolute URL");
  EXPECT_EQ(refusal("https://user:pw@push.example/x"), "must not carry user information");
  EXPECT_EQ(refusal("https://push.example/x#frag"), "must not have a fragment");
  EXPECT_EQ(refusal("https://push.example:0/x"), "has an invalid port");
  EXPECT_EQ(refusal("https:///x"), "has no host");
  EXPECT_EQ(refusal("https://push.example/" + std::string(kMaxEndpointLength, 'a')), "is longer than 1024 characters");
}

TEST(PushEndpointTest, ClassifiesNonPublicAddresses) {
  for (const char* text : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                           "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1",
                           "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2001:db8::1", "ff02::1"}) {
    EXPECT_TRUE(is_non_public(boost::asio::ip::make_address(text))) << text;
  }
  for (const char* text : {"8.8.8.8", "172.32.0.1", "142.250.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(is_non_public(boost::asio::ip::make_address(text))) << text;
  }
  EXPECT_TRUE(is_obviously_private_host("localhost"));
  EXPECT_TRUE(is_obviously_private_host("db.localhost"));
  EXPECT_TRUE(is_obviously_private_host("127.0.0.1"));
  EXPECT_FALSE(is_obviously_private_host("push.example"));
}

}  // namespace
}  // namespace parley::push
