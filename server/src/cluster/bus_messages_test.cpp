#include "cluster/bus_messages.hpp"
#include "cluster/redis_client.hpp"

#include <gtest/gtest.h>

namespace parley::cluster {
namespace {

TEST(BusMessages, EventsRoundTripKeepsPayloadBytes) {
  EventBatch batch{7, 9, {}};
  storage::Event e;
  e.pos = 8;
  e.recipients = {1, 2};
  e.payload = std::make_shared<const std::string>(R"({"type":"message.new","text":"é \"q\""})");
  batch.events.push_back(e);
  auto decoded = decode_events(encode_events("node-a", batch));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->node, "node-a");
  EXPECT_EQ(decoded->batch.first, 7);
  EXPECT_EQ(decoded->batch.last, 9);
  ASSERT_EQ(decoded->batch.events.size(), 1U);
  EXPECT_EQ(decoded->batch.events[0].pos, 8);
  EXPECT_EQ(decoded->batch.events[0].recipients, (std::vector<storage::UserId>{1, 2}));
  EXPECT_EQ(*decoded->batch.events[0].payload, *e.payload);
}

TEST(BusMessages, MalformedEventsAreRejected) {
  EXPECT_FALSE(decode_events("not json"));
  EXPECT_FALSE(decode_events(R"({"v":2,"node":"a","first":1,"last":1,"events":[]})")) << "unknown version";
  EXPECT_FALSE(decode_events(R"({"v":1,"node":"a","first":2,"last":1,"events":[]})")) << "last before first";
  EXPECT_FALSE(decode_events(R"({"v":1,"node":"a","first":1,"last":2,"events":[{"pos":3,"to":[],"payload":"{}"}]})"))
      << "event outside the range";
  EXPECT_FALSE(decode_events(
      R"({"v":1,"node":"a","first":1,"last":3,"events":[{"pos":2,"to":[],"payload":"{}"},{"pos":2,"to":[],"payload":"{}"}]})"))
      << "positions not increasing";
  EXPECT_FALSE(decode_events(R"({"v":1,"node":"a","first":1,"last":1,"events":[{"pos":1,"to":["x"],"payload":"{}"}]})"));
  EXPECT_FALSE(decode_events(std::string(kMaxBusMessageBytes + 1, ' ')));
}

TEST(BusMessages, PresenceEphemeralAndControlRoundTrip) {
  auto presence = decode_presence(encode_presence({"n1", PresenceMessage::Kind::kOffline, {3, 4}}));
  ASSERT_TRUE(presence);
  EXPECT_EQ(presence->kind, PresenceMessage::Kind::kOffline);
  EXPECT_EQ(presence->users, (std::vector<storage::UserId>{3, 4}));
  EXPECT_FALSE(decode_presence(R"({"v":1,"node":"n1","kind":"away","users":[]})"));

  auto typing = decode_ephemeral(encode_ephemeral({"n2", {5}, 6, R"({"type":"typing"})"}));
  ASSERT_TRUE(typing);
  EXPECT_EQ(typing->except, 6);
  EXPECT_EQ(typing->frame, R"({"type":"typing"})");
  auto no_except = decode_ephemeral(encode_ephemeral({"n2", {5}, std::nullopt, "{}"}));
  ASSERT_TRUE(no_except);
  EXPECT_FALSE(no_except->except);

  auto revoked = decode_sessions_revoked(encode_sessions_revoked({"n3", {10, 11}}));
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->sessions, (std::vector<storage::SessionId>{10, 11}));
  EXPECT_FALSE(decode_sessions_revoked(R"({"v":1,"node":"n3","kind":"other","sessions":[]})"));

  EXPECT_EQ(decode_presence_rules_changed(encode_presence_rules_changed("n4")), "n4");
  EXPECT_FALSE(decode_presence_rules_changed(encode_sessions_revoked({"n3", {10}})));
  EXPECT_FALSE(decode_sessions_revoked(encode_presence_rules_changed("n4")));
  EXPECT_FALSE(decode_presence_rules_changed(R"({"v":1,"kind":"presence_rules_changed"})"));
}

TEST(RedisEndpoint, ParsesUrls) {
  auto a = RedisEndpoint::parse("redis://127.0.0.1:6380");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6380);
  auto b = RedisEndpoint::parse("redis://:s3cret@redis.internal/2");
  EXPECT_EQ(b.host, "redis.internal");
  EXPECT_EQ(b.port, 6379);
  EXPECT_EQ(b.password, "s3cret");
  EXPECT_EQ(b.db, 2);
  EXPECT_EQ(b.describe(), "redis.internal:6379");
  EXPECT_THROW(RedisEndpoint::parse("http://x"), std::invalid_argument);
  EXPECT_THROW(RedisEndpoint::parse("redis://x:0"), std::invalid_argument);
  EXPECT_THROW(RedisEndpoint::parse("redis://x:70000"), std::invalid_argument);
  EXPECT_THROW(RedisEndpoint::parse("redis://:pw@"), std::invalid_argument);
  EXPECT_THROW(RedisEndpoint::parse("redis://x/db"), std::invalid_argument);
}

}  // namespace
}  // namespace parley::cluster
