// What a cluster node reads and is told about ranges of the event stream,
// against a real PostgreSQL (the CTest fixture `postgres`):
// events_between (every event of a range with its recipients as of its
// position) and the committed batches' ranges handed to the event sink,
// positions without events included.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <tuple>

#include "storage/postgres/pg_store.hpp"
#include "support/pg_database.hpp"

namespace parley::storage::postgres {
namespace {

using test::PgTestDatabase;

Event stored_event(std::optional<ConversationId> conversation, std::optional<UserId> user, Position pos) {
  Event event;
  event.pos = pos;
  event.conversation_id = conversation;
  event.user_id = user;
  event.payload = std::make_shared<const std::string>(R"({"type":"test"})");
  return event;
}

NewMessage text_message(ConversationId conversation, UserId sender, std::string client_id) {
  NewMessage m;
  m.conversation_id = conversation;
  m.sender_id = sender;
  m.client_id = std::move(client_id);
  m.body = "hello";
  m.created_at = 2;
  return m;
}

std::vector<UserId> sorted(std::vector<UserId> users) {
  std::sort(users.begin(), users.end());
  return users;
}

struct People {
  UserId alice = 0;
  UserId bob = 0;
  UserId carol = 0;
  ConversationId group = 0;
  Position created = 0;
};

// Alice and Bob in a group; Carol not yet.
People make_people(Store& store) {
  return store.write_blocking([](Transaction& tx) {
    People p;
    p.alice = tx.insert_user({"alice", "x", "Alice", 1})->id;
    p.bob = tx.insert_user({"bob", "x", "Bob", 1})->id;
    p.carol = tx.insert_user({"carol", "x", "Carol", 1})->id;
    p.group = tx.insert_conversation(ConversationKind::kGroup, "g", "", std::nullopt, p.alice, 1).id;
    p.created = tx.next_position();
    tx.insert_member({p.group, p.alice, Role::kOwner, 1, p.created, 0, 0});
    tx.insert_member({p.group, p.bob, Role::kMember, 1, p.created, 0, 0});
    tx.emit(stored_event(p.group, std::nullopt, p.created), Transaction::Keep::kStore);
    return p;
  });
}

TEST(PgEventRange, EveryEventOfARangeWithItsRecipientsAtItsPosition) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  auto p = make_people(store);
  auto first = store.write_blocking(
      [&](Transaction& tx) { return tx.insert_message(text_message(p.group, p.alice, "m1"), tx.next_position()); });
  // Carol joins: the event is addressed to her as well.
  Position joined = store.write_blocking([&](Transaction& tx) {
    Position pos = tx.next_position();
    tx.insert_member({p.group, p.carol, Role::kMember, 1, pos, 0, 0});
    tx.emit(stored_event(p.group, p.carol, pos), Transaction::Keep::kStore);
    return pos;
  });
  auto second = store.write_blocking(
      [&](Transaction& tx) { return tx.insert_message(text_message(p.group, p.bob, "m2"), tx.next_position()); });
  // Carol is removed: she gets the removal, then nothing of the group.
  Position removed = store.write_blocking([&](Transaction& tx) {
    Position pos = tx.next_position();
    tx.emit(stored_event(p.group, p.carol, pos), Transaction::Keep::kStore);
    tx.delete_member(p.group, p.carol);
    return pos;
  });
  Position own = store.write_blocking([&](Transaction& tx) {
    Position pos = tx.next_position();
    tx.emit(stored_event(std::nullopt, p.bob, pos), Transaction::Keep::kStore);
    return pos;
  });
  // A position taken and left without an event.
  store.write_blocking([&](Transaction& tx) { (void)tx.next_position(); });
  auto third = store.write_blocking(
      [&](Transaction& tx) { return tx.insert_message(text_message(p.group, p.alice, "m3"), tx.next_position()); });

  auto events = store.read([&](Transaction& tx) { return tx.events_between(p.created, third.pos); });
  std::vector<Position> positions;
  for (const auto& e : events) positions.push_back(e.pos);
  EXPECT_EQ(positions, (std::vector<Position>{first.pos, joined, second.pos, removed, own, third.pos}));
  ASSERT_EQ(events.size(), 6U);
  const std::vector<UserId> two{p.alice, p.bob};
  const std::vector<UserId> three{p.alice, p.bob, p.carol};
  EXPECT_EQ(sorted(events[0].recipients), sorted(two));
  EXPECT_EQ(sorted(events[1].recipients), sorted(three)) << "the joining event reaches the one who joins";
  EXPECT_EQ(sorted(events[2].recipients), sorted(three));
  EXPECT_EQ(sorted(events[3].recipients), sorted(three)) << "the removal reaches the one removed";
  EXPECT_EQ(events[4].recipients, std::vector<UserId>{p.bob});
  EXPECT_EQ(sorted(events[5].recipients), sorted(two)) << "nothing after the removal reaches her";
  // Messages carry the message (their payload is built when delivered);
  // stored events their payload.
  ASSERT_TRUE(events[0].message);
  EXPECT_EQ(events[0].message->client_id, "m1");
  EXPECT_EQ(events[0].message->id, first.id);
  EXPECT_FALSE(events[0].payload);
  ASSERT_TRUE(events[1].payload);
  EXPECT_EQ(*events[1].payload, R"({"type":"test"})");
  EXPECT_EQ(events[1].conversation_id, p.group);
  EXPECT_EQ(events[4].user_id, p.bob);

  // Bounds are exclusive below, inclusive above.
  auto one = store.read([&](Transaction& tx) { return tx.events_between(first.pos, joined); });
  ASSERT_EQ(one.size(), 1U);
  EXPECT_EQ(one[0].pos, joined);
  EXPECT_TRUE(store.read([&](Transaction& tx) { return tx.events_between(third.pos, third.pos); }).empty());
}

// Records each committed batch's range and how many events it had.
class RangeSink final : public EventSink {
 public:
  void publish(std::vector<Event>) override { ADD_FAILURE() << "publish() instead of publish_range()"; }
  void publish_range(Position after, Position upto, std::vector<Event> events) override {
    std::lock_guard lock(mutex_);
    ranges_.emplace_back(after, upto, events.size());
  }
  std::vector<std::tuple<Position, Position, std::size_t>> ranges() {
    std::lock_guard lock(mutex_);
    return ranges_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::tuple<Position, Position, std::size_t>> ranges_;
};

// A batch whose positions hold no event still reaches the sink with its
// range: other nodes must learn that the position is empty.
TEST(PgEventRange, ABatchWithoutEventsHandsOnItsRange) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  RangeSink sink;
  store.set_event_sink(&sink);
  auto p = make_people(store);
  // A send (its event left out here), then its retry: the retry takes a
  // position and stores nothing there.
  auto sent = store.write_blocking([&](Transaction& tx) {
    return tx.insert_message_if_new(text_message(p.group, p.alice, "once"), tx.next_position());
  });
  ASSERT_TRUE(sent);
  Position retried = store.write_blocking([&](Transaction& tx) {
    Position pos = tx.next_position();
    EXPECT_FALSE(tx.insert_message_if_new(text_message(p.group, p.alice, "once"), pos));
    return pos;
  });
  // A write that takes no position is no batch to hand on.
  store.write_blocking([&](Transaction& tx) { (void)tx.current_position(); });
  auto ranges = sink.ranges();
  ASSERT_EQ(ranges.size(), 3U);
  EXPECT_EQ(ranges[0], std::make_tuple(p.created - 1, p.created, std::size_t{1}));
  EXPECT_EQ(ranges[1], std::make_tuple(sent->pos - 1, sent->pos, std::size_t{0}));
  EXPECT_EQ(ranges[2], std::make_tuple(retried - 1, retried, std::size_t{0}));
}

}  // namespace
}  // namespace parley::storage::postgres
