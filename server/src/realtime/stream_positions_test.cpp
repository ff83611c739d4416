#include "realtime/stream_positions.hpp"

#include <gtest/gtest.h>

namespace parley::realtime {
namespace {

storage::Event event(storage::Position pos, std::vector<storage::UserId> recipients) {
  storage::Event e;
  e.pos = pos;
  e.recipients = std::move(recipients);
  return e;
}

TEST(StreamPositionsTest, AnswersNothingUntilTheStartingPositionIsKnown) {
  StreamPositions positions;
  EXPECT_FALSE(positions.nothing_since(1, 0));
  positions.published({event(5, {1})});
  EXPECT_FALSE(positions.nothing_since(1, 5));
}

TEST(StreamPositionsTest, AUserWithNothingAfterTheirPositionNeedsNoRead) {
  StreamPositions positions;
  positions.start_at(10);
  // Nobody had anything after 10 at start-up.
  EXPECT_TRUE(positions.nothing_since(1, 10));
  EXPECT_FALSE(positions.nothing_since(1, 9));  // may have had 10
  positions.published({event(11, {1, 2}), event(12, {2})});
  EXPECT_FALSE(positions.nothing_since(1, 10));  // 11 is theirs
  EXPECT_TRUE(positions.nothing_since(1, 11));
  EXPECT_TRUE(positions.nothing_since(1, 12));  // 12 is not theirs
  EXPECT_FALSE(positions.nothing_since(2, 11));
  EXPECT_TRUE(positions.nothing_since(2, 12));
  EXPECT_TRUE(positions.nothing_since(3, 10));  // nothing at all since start-up
  // A position past what was published (an ack can precede its event's
  // delivery): read the stream.
  EXPECT_FALSE(positions.nothing_since(1, 13));
}

TEST(StreamPositionsTest, EventsAddressedToAUserCountForThem) {
  StreamPositions positions;
  positions.start_at(0);
  auto e = event(1, {});
  e.user_id = 4;
  positions.published({e});
  EXPECT_FALSE(positions.nothing_since(4, 0));
  EXPECT_TRUE(positions.nothing_since(4, 1));
}

TEST(StreamPositionsTest, PastItsCapacityItForgetsUsersButStaysExact) {
  StreamPositions positions(2);
  positions.start_at(0);
  positions.published({event(1, {1}), event(2, {2})});
  positions.published({event(3, {3})});  // a third user: the map is emptied, the floor raised to 3
  EXPECT_FALSE(positions.nothing_since(1, 1));  // 1 could have had anything up to 3
  EXPECT_FALSE(positions.nothing_since(3, 2));
  EXPECT_TRUE(positions.nothing_since(1, 3));
  EXPECT_TRUE(positions.nothing_since(3, 3));
}

// A cluster's gap read delivers (a, b] to the users connected here only:
// another user's newest position is unknown, so a resume from before b
// must read the database, not be answered "nothing since" from memory
// (which would skip whatever that user had in the gap).
TEST(StreamPositionsTest, AGapFilledForSomeUsersIsReadFromTheDatabaseForOthers) {
  StreamPositions positions;
  positions.start_at(10);
  positions.published({event(11, {1, 2})});
  positions.incomplete_through(15);
  // Filled for user 1 only; user 2 may have had 12..15 too.
  positions.published({event(13, {1})});
  EXPECT_FALSE(positions.nothing_since(2, 11));
  EXPECT_FALSE(positions.nothing_since(3, 10));
  EXPECT_FALSE(positions.nothing_since(1, 13));  // 14 or 15 may be theirs as well
  EXPECT_FALSE(positions.nothing_since(2, 15));  // not yet published up to 15
  positions.published({event(15, {1})});
  EXPECT_TRUE(positions.nothing_since(2, 15));
  EXPECT_TRUE(positions.nothing_since(1, 15));
  // From then on, exact again.
  positions.published({event(16, {2})});
  EXPECT_FALSE(positions.nothing_since(2, 15));
  EXPECT_TRUE(positions.nothing_since(2, 16));
  EXPECT_TRUE(positions.nothing_since(1, 15));
}

}  // namespace
}  // namespace parley::realtime
