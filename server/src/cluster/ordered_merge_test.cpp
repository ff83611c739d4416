#include "cluster/ordered_merge.hpp"

#include <map>
#include <stdexcept>

#include <gtest/gtest.h>

namespace parley::cluster {
namespace {

using namespace std::chrono_literals;
using storage::Position;

storage::Event event_at(Position pos) {
  storage::Event e;
  e.pos = pos;
  e.recipients = {1};
  e.payload = std::make_shared<const std::string>("{\"n\":" + std::to_string(pos) + "}");
  return e;
}

EventBatch batch(Position first, Position last) {
  EventBatch b{first, last, {}};
  for (Position p = first; p <= last; ++p) b.events.push_back(event_at(p));
  return b;
}

// A database of committed events, and what the merge delivered.
struct Fixture {
  std::map<Position, storage::Event> database;
  std::vector<Position> delivered;
  std::vector<std::pair<Position, Position>> reads;
  bool database_down = false;
  Clock::time_point now{};
  OrderedMerge merge;

  explicit Fixture(Position start = 0, MergeOptions options = {})
      : merge(
            start,
            [this](Position after, Position upto) {
              if (database_down) throw std::runtime_error("database unreachable");
              reads.emplace_back(after, upto);
              std::vector<storage::Event> out;
              for (auto it = database.upper_bound(after); it != database.end() && it->first <= upto; ++it) {
                out.push_back(it->second);
              }
              return out;
            },
            [this](std::vector<storage::Event> events) {
              for (const auto& e : events) delivered.push_back(e.pos);
            },
            options) {}

  // Commits [first, last] to the database and returns its batch.
  EventBatch commit(Position first, Position last) {
    auto b = batch(first, last);
    for (const auto& e : b.events) database[e.pos] = e;
    return b;
  }
  void advance(std::chrono::milliseconds d) {
    now += d;
    merge.tick(now);
  }
};

std::vector<Position> range(Position first, Position last) {
  std::vector<Position> out;
  for (Position p = first; p <= last; ++p) out.push_back(p);
  return out;
}

TEST(OrderedMerge, DeliversBatchesInOrderAsTheyCome) {
  Fixture f;
  f.merge.add(f.commit(1, 3), f.now);
  f.merge.add(f.commit(4, 4), f.now);
  EXPECT_EQ(f.delivered, range(1, 4));
  EXPECT_EQ(f.merge.delivered(), 4);
  EXPECT_FALSE(f.merge.next_deadline());
  EXPECT_TRUE(f.reads.empty());
}

TEST(OrderedMerge, HoldsBackABatchUntilTheLowerOnesArrive) {
  Fixture f;
  auto first = f.commit(1, 2);
  auto second = f.commit(3, 5);
  auto third = f.commit(6, 6);
  f.merge.add(third, f.now);
  f.merge.add(second, f.now);
  EXPECT_TRUE(f.delivered.empty());
  EXPECT_EQ(f.merge.held(), 2U);
  ASSERT_TRUE(f.merge.next_deadline());
  f.merge.add(first, f.now + 10ms);
  EXPECT_EQ(f.delivered, range(1, 6));
  EXPECT_FALSE(f.merge.next_deadline());
  EXPECT_TRUE(f.reads.empty()) << "a late batch within the wait costs no database read";
}

TEST(OrderedMerge, DropsDuplicatesWholeAndPartial) {
  Fixture f;
  auto a = f.commit(1, 3);
  f.merge.add(a, f.now);
  f.merge.add(a, f.now);  // this node's own batch echoed by Redis
  f.merge.add(f.commit(4, 5), f.now);
  EXPECT_EQ(f.delivered, range(1, 5));
  EXPECT_EQ(f.merge.stats().duplicate_batches, 1U);
  // The same held batch twice: delivered once.
  auto c = f.commit(7, 8);
  f.merge.add(c, f.now);
  f.merge.add(c, f.now);
  f.merge.add(f.commit(6, 6), f.now);
  EXPECT_EQ(f.delivered, range(1, 8));
}

TEST(OrderedMerge, FillsALostBatchFromTheDatabaseAfterTheWait) {
  MergeOptions options;
  options.gap_wait = 200ms;
  Fixture f(0, options);
  f.merge.add(f.commit(1, 1), f.now);
  f.commit(2, 4);  // committed elsewhere, its message lost
  f.merge.add(f.commit(5, 6), f.now);
  EXPECT_EQ(f.delivered, range(1, 1));
  f.advance(199ms);
  EXPECT_EQ(f.delivered, range(1, 1)) << "no fill before the wait is over";
  f.advance(1ms);
  EXPECT_EQ(f.delivered, range(1, 6));
  ASSERT_EQ(f.reads.size(), 1U);
  EXPECT_EQ(f.reads[0], std::make_pair(Position{1}, Position{4})) << "only the gap is read, the held batch is not";
  EXPECT_EQ(f.merge.stats().filled_events, 3U);
  // The lost batch arriving after all: a duplicate.
  f.merge.add(batch(2, 4), f.now);
  EXPECT_EQ(f.delivered, range(1, 6));
}

// Under steady load some batch is always in flight, so there is always a
// gap; each batch arriving within the wait of becoming the first missing
// one is never read from the database, however long the run of gaps.
TEST(OrderedMerge, ASteadyRunOfLateBatchesIsNotReadFromTheDatabase) {
  MergeOptions options;
  options.gap_wait = 200ms;
  Fixture f(0, options);
  // Every 100 ms another node's batch arrives 150 ms after this node's
  // later one: positions 2k+1 (theirs) trail 2k+2 (ours).
  std::vector<EventBatch> in_flight;
  for (Position k = 0; k < 30; ++k) {
    in_flight.push_back(f.commit(2 * k + 1, 2 * k + 1));
    f.merge.add(f.commit(2 * k + 2, 2 * k + 2), f.now);
    f.advance(50ms);
    if (in_flight.size() == 2) {
      f.merge.add(in_flight.front(), f.now);
      in_flight.erase(in_flight.begin());
    }
    f.advance(50ms);
  }
  EXPECT_TRUE(f.reads.empty()) << f.reads.size() << " database reads, the first after " << f.reads.front().first;
  EXPECT_EQ(f.merge.stats().fills, 0U);
  f.merge.add(in_flight.front(), f.now);
  EXPECT_EQ(f.delivered, range(1, 60));
}

TEST(OrderedMerge, ALostLastBatchIsFoundThroughTheHorizon) {
  Fixture f;
  f.merge.add(f.commit(1, 2), f.now);
  f.commit(3, 3);  // lost, and nothing follows it
  f.advance(10s);
  EXPECT_EQ(f.delivered, range(1, 2)) << "nothing known beyond 2 yet";
  f.merge.horizon(3, f.now);  // a poll of the database's position
  f.advance(200ms);
  EXPECT_EQ(f.delivered, range(1, 3));
}

TEST(OrderedMerge, PositionsWithoutEventsAreCovered) {
  Fixture f;
  // A batch whose positions 2 and 3 were taken by writes rolled back.
  EventBatch b{1, 4, {}};
  b.events.push_back(f.commit(1, 1).events[0]);
  b.events.push_back(f.commit(4, 4).events[0]);
  f.merge.add(b, f.now);
  f.merge.add(f.commit(5, 5), f.now);
  EXPECT_EQ(f.delivered, (std::vector<Position>{1, 4, 5}));
  EXPECT_FALSE(f.merge.next_deadline());
}

TEST(OrderedMerge, WhileRedisIsDownPollingKeepsDeliveryGoingInOrder) {
  Fixture f;
  f.merge.add(f.commit(1, 1), f.now);
  // Redis down: other nodes commit 2..2500, this node only polls.
  f.commit(2, 2500);
  // This node's own commit arrives locally while the gap is open.
  f.merge.add(f.commit(2501, 2502), f.now);
  f.merge.horizon(2500, f.now);
  f.advance(200ms);
  EXPECT_EQ(f.delivered, range(1, 2502));
  // In chunks of at most fill_chunk positions.
  ASSERT_EQ(f.reads.size(), 3U);
  for (auto [after, upto] : f.reads) EXPECT_LE(upto - after, 1000);
}

TEST(OrderedMerge, ADatabaseFailureIsRetriedWithNothingSkipped) {
  Fixture f;
  f.commit(1, 2);
  f.merge.add(f.commit(3, 3), f.now);
  f.database_down = true;
  f.advance(200ms);
  EXPECT_TRUE(f.delivered.empty());
  EXPECT_EQ(f.merge.stats().fill_failures, 1U);
  f.database_down = false;
  f.advance(100ms);
  EXPECT_TRUE(f.delivered.empty()) << "the retry waits again";
  f.advance(100ms);
  EXPECT_EQ(f.delivered, range(1, 3));
}

TEST(OrderedMerge, TooManyHeldBatchesFillAtOnce) {
  MergeOptions options;
  options.max_held = 3;
  Fixture f(0, options);
  f.commit(1, 1);
  for (Position p = 2; p <= 5; ++p) f.merge.add(f.commit(p, p), f.now);
  EXPECT_EQ(f.delivered, range(1, 5));
  EXPECT_EQ(f.merge.held(), 0U);
}

TEST(OrderedMerge, StartsAfterTheGivenPosition) {
  Fixture f(100);
  f.merge.add(batch(90, 100), f.now);
  f.merge.add(f.commit(101, 101), f.now);
  EXPECT_EQ(f.delivered, range(101, 101));
}

// Random interleavings of three nodes' batches, with losses and
// duplicates: every position delivered once, in order.
TEST(OrderedMerge, RandomLossReorderAndDuplicationDeliverEverythingOnceInOrder) {
  std::uint64_t seed = 12345;
  auto next = [&] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  for (int round = 0; round < 50; ++round) {
    Fixture f;
    std::vector<EventBatch> batches;
    Position pos = 1;
    for (int i = 0; i < 200; ++i) {
      Position size = 1 + static_cast<Position>(next() % 4);
      batches.push_back(f.commit(pos, pos + size - 1));
      pos += size;
    }
    // Reorder within a window of 5, lose 5%, duplicate 5%.
    for (std::size_t i = 0; i + 1 < batches.size(); ++i) {
      std::size_t j = i + next() % std::min<std::size_t>(5, batches.size() - i);
      std::swap(batches[i], batches[j]);
    }
    for (const auto& b : batches) {
      auto r = next() % 100;
      if (r < 5) continue;
      f.merge.add(b, f.now);
      if (r >= 95) f.merge.add(b, f.now);
      f.advance(std::chrono::milliseconds(next() % 50));
    }
    f.merge.horizon(pos - 1, f.now);
    f.advance(1s);
    ASSERT_EQ(f.delivered, range(1, pos - 1)) << "round " << round;
  }
}

}  // namespace
}  // namespace parley::cluster
