#include "cluster/presence_table.hpp"

#include <gtest/gtest.h>

namespace parley::cluster {
namespace {

using namespace std::chrono_literals;
using Change = PresenceTable::Change;
using Kind = PresenceMessage::Kind;

TEST(PresenceTable, AUserIsOnlineWhileAnyNodeHasThem) {
  PresenceTable table("a", 10s);
  Clock::time_point now{};
  EXPECT_EQ(table.local(1, true), (Change{1, true}));
  EXPECT_EQ(table.remote({"b", Kind::kOnline, {1, 2}}, now), (std::vector<Change>{{2, true}}))
      << "user 1 was online already";
  EXPECT_EQ(table.local(1, false), std::nullopt) << "still on node b";
  EXPECT_TRUE(table.online(1));
  EXPECT_TRUE(table.online_elsewhere(1));
  EXPECT_EQ(table.remote({"b", Kind::kOffline, {1}}, now), (std::vector<Change>{{1, false}}));
  EXPECT_FALSE(table.online(1));
}

TEST(PresenceTable, SnapshotsReplaceWhatANodeSaidBefore) {
  PresenceTable table("a", 10s);
  Clock::time_point now{};
  table.remote({"b", Kind::kSnapshot, {1, 2}}, now);
  // A lost "offline 1" and a lost "online 3" are put right by the next
  // heartbeat's snapshot.
  auto changes = table.remote({"b", Kind::kSnapshot, {2, 3}}, now);
  EXPECT_EQ(changes, (std::vector<Change>{{1, false}, {3, true}}));
  EXPECT_EQ(table.remote({"b", Kind::kSnapshot, {2, 3}}, now), std::vector<Change>{}) << "nothing new";
}

TEST(PresenceTable, ADeadNodesUsersGoOfflineAfterTheTimeout) {
  PresenceTable table("a", 10s);
  Clock::time_point now{};
  table.local(5, true);
  table.remote({"b", Kind::kSnapshot, {1, 5}}, now);
  table.remote({"c", Kind::kSnapshot, {1, 2}}, now + 5s);
  EXPECT_EQ(table.expire(now + 9s), std::vector<Change>{});
  // b is silent from here on; c keeps beating.
  table.remote({"c", Kind::kSnapshot, {1, 2}}, now + 9s);
  EXPECT_EQ(table.expire(now + 10s), std::vector<Change>{}) << "1 is on c too, 5 is here";
  EXPECT_EQ(table.nodes(), 1U);
  EXPECT_EQ(table.expire(now + 19s), (std::vector<Change>{{1, false}, {2, false}}));
  EXPECT_TRUE(table.online(5));
}

TEST(PresenceTable, OwnAnnouncementsAreIgnoredAndReviveRestartsDeadlines) {
  PresenceTable table("a", 10s);
  Clock::time_point now{};
  EXPECT_EQ(table.remote({"a", Kind::kSnapshot, {1}}, now), std::vector<Change>{});
  EXPECT_FALSE(table.online(1));
  table.remote({"b", Kind::kSnapshot, {2}}, now);
  table.revive(now + 30s);  // the bus was down for 30 s
  EXPECT_EQ(table.expire(now + 31s), std::vector<Change>{});
  EXPECT_EQ(table.expire(now + 40s), (std::vector<Change>{{2, false}}));
}

}  // namespace
}  // namespace parley::cluster
