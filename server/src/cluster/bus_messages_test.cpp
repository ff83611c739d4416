#include "cluster/bus_messages.hpp"
#include "cluster/redis_client.hpp"

#include <gtest/gtest.h>

namespace parley::cluster {
namespace {

storage::Event event_at(storage::Position pos, std::vector<storage::UserId> to, std::string payload) {
  storage::Event e;
  e.pos = pos;
  e.recipients = std::move(to);
  e.payload = std::make_shared<const std::string>(std::move(payload));
  return e;
}

TEST(BusMessages, EventsRoundTripKeepsPayloadBytes) {
  EventBatch batch{7, 9, {}};
  // Quotes, backslashes, non-ASCII, a NUL and a byte that is not UTF-8: the
  // payload is copied as bytes, never escaped or parsed.
  batch.events.push_back(
      event_at(8, {1, 2}, std::string(R"({"type":"message.new","text":"é \"q\" \\"})") + std::string("\0\xff", 2)));
  auto decoded = decode_events(encode_events("node-a", batch));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->node, "node-a");
  ASSERT_EQ(decoded->batches.size(), 1U);
  EXPECT_EQ(decoded->batches[0].first, 7);
  EXPECT_EQ(decoded->batches[0].last, 9);
  ASSERT_EQ(decoded->batches[0].events.size(), 1U);
  EXPECT_EQ(decoded->batches[0].events[0].pos, 8);
  EXPECT_EQ(decoded->batches[0].events[0].recipients, (std::vector<storage::UserId>{1, 2}));
  EXPECT_EQ(*decoded->batches[0].events[0].payload, *batch.events[0].payload);
}

// The sender is read from the header alone, so a node can drop its own
// messages without decoding them; a malformed header names no one.
TEST(BusMessages, TheSenderIsReadFromTheHeader) {
  EventBatch batch{1, 2, {}};
  batch.events.push_back(event_at(2, {4}, R"({"type":"x"})"));
  auto encoded = encode_events("node-b", batch);
  EXPECT_EQ(events_sender(encoded), std::optional<std::string_view>("node-b"));
  // Only the header: commits that do not decode still name their sender.
  EXPECT_EQ(events_sender(std::string_view(encoded).substr(0, 2 + 6)), std::optional<std::string_view>("node-b"));
  EXPECT_FALSE(events_sender(std::string_view(encoded).substr(0, 2 + 5))) << "name cut short";
  EXPECT_FALSE(events_sender(""));
  auto version = encoded;
  version[0] = static_cast<char>(kEventsVersion + 1);
  EXPECT_FALSE(events_sender(version)) << "unknown version";
  auto unnamed = encoded;
  unnamed[1] = '\0';
  EXPECT_FALSE(events_sender(unnamed)) << "empty node name";
}

// The bytes of bus_messages.hpp's layout, written out: nodes of different
// builds must agree on them (and the fuzz corpus is built the same way).
TEST(BusMessages, TheEventsFramingIsAsDocumented) {
  EventBatch batch{7, 9, {}};
  batch.events.push_back(event_at(8, {1, 258}, "{}"));
  const std::string expected = std::string("\x02\x01n", 3) +             // version, node
                               std::string("\x07\0\0\0\0\0\0\0", 8) +    // first
                               std::string("\x09\0\0\0\0\0\0\0", 8) +    // last
                               std::string("\x01\0\0\0", 4) +            // one event
                               std::string("\x08\0\0\0\0\0\0\0", 8) +    // its position
                               std::string("\x02\0\0\0", 4) +            // two recipients
                               std::string("\x01\0\0\0\0\0\0\0", 8) +    // 1
                               std::string("\x02\x01\0\0\0\0\0\0", 8) +  // 258
                               std::string("\x02\0\0\0", 4) + "{}";      // the payload
  EXPECT_EQ(encode_events("n", batch), expected);
  auto negative = encode_events("n", EventBatch{1, 1, {event_at(1, {-2}, "")}});
  auto decoded = decode_events(negative);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->batches[0].events[0].recipients, std::vector<storage::UserId>{-2}) << "two's complement";
}

TEST(BusMessages, SeveralCommitsInOneMessage) {
  std::vector<EventBatch> batches{{1, 2, {}}, {3, 3, {}}, {4, 6, {}}};
  batches[0].events.push_back(event_at(1, {5}, "{}"));
  batches[0].events.push_back(event_at(2, {}, ""));  // no recipients, empty payload
  batches[2].events.push_back(event_at(6, {7, 8, 9}, R"({"a":1})"));
  auto decoded = decode_events(encode_events("n", batches));
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->batches.size(), 3U);
  EXPECT_EQ(decoded->batches[1].first, 3);
  EXPECT_TRUE(decoded->batches[1].events.empty()) << "a commit that left its position unused";
  ASSERT_EQ(decoded->batches[0].events.size(), 2U);
  EXPECT_EQ(*decoded->batches[0].events[1].payload, "");
  EXPECT_EQ(decoded->batches[2].events[0].recipients, (std::vector<storage::UserId>{7, 8, 9}));
}

TEST(BusMessages, MalformedEventsAreRejectedWhole) {
  EventBatch batch{1, 3, {}};
  batch.events.push_back(event_at(2, {4}, R"({"type":"x"})"));
  const auto good = encode_events("node", batch);
  ASSERT_TRUE(decode_events(good));

  EXPECT_FALSE(decode_events(""));
  EXPECT_FALSE(decode_events(R"({"v":1,"node":"a","first":1,"last":1,"events":[]})")) << "the old JSON form";
  auto version = good;
  version[0] = static_cast<char>(kEventsVersion + 1);
  EXPECT_FALSE(decode_events(version)) << "unknown version";
  // Cut anywhere: a length or a count runs past the end.
  for (std::size_t size = 0; size < good.size(); ++size) {
    EXPECT_FALSE(decode_events(std::string_view(good).substr(0, size))) << "cut at " << size;
  }
  EXPECT_FALSE(decode_events(good + "x")) << "trailing bytes";
  EXPECT_FALSE(decode_events(std::string(kMaxBusMessageBytes + 1, '\x02')));

  auto encoded = [](storage::Position first, storage::Position last, std::vector<storage::Event> events) {
    return encode_events("n", EventBatch{first, last, std::move(events)});
  };
  EXPECT_FALSE(decode_events(encoded(2, 1, {}))) << "last before first";
  EXPECT_FALSE(decode_events(encoded(0, 1, {}))) << "position 0";
  EXPECT_FALSE(decode_events(encoded(1, 2, {event_at(3, {}, "{}")}))) << "event outside the range";
  EXPECT_FALSE(decode_events(encoded(1, 3, {event_at(2, {}, "{}"), event_at(2, {}, "{}")})))
      << "positions not increasing";
  EXPECT_FALSE(decode_events(encode_events("n", std::vector<EventBatch>{{1, 3, {}}, {3, 4, {}}}))) << "commits overlap";
  EXPECT_FALSE(decode_events(encode_events("n", std::vector<EventBatch>{{5, 6, {}}, {1, 2, {}}})))
      << "commits out of order";

  // Counts that claim more than the message holds, without allocating them.
  auto lie = good;
  auto count_at = 2 + 4 + 8 + 8;  // version, node, first, last
  lie[count_at + 3] = '\x7f';     // u32 event count, little-endian: its high byte
  EXPECT_FALSE(decode_events(lie)) << "event count";
  lie = good;
  auto recipients_at = count_at + 4 + 8;
  lie[recipients_at + 3] = '\x7f';
  EXPECT_FALSE(decode_events(lie)) << "recipient count";
  lie = good;
  auto payload_at = recipients_at + 4 + 8;
  lie[payload_at + 3] = '\x7f';
  EXPECT_FALSE(decode_events(lie)) << "payload length";
  lie = good;
  lie[1] = '\0';
  EXPECT_FALSE(decode_events(lie)) << "empty node name";

  EXPECT_THROW((void)encode_events(std::string(kMaxNodeIdBytes + 1, 'n'), batch), std::length_error);
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
