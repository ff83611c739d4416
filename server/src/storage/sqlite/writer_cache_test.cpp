// The writer's cache (writer_cache.hpp): its journal puts back exactly what a
// rolled-back write changed, and what is pending for the batch.
#include "storage/sqlite/writer_cache.hpp"

#include <gtest/gtest.h>

namespace parley::storage::sqlite {
namespace {

WriterCache::Entry Group(ConversationId id, std::vector<UserId> members, Seq last_seq = 0) {
  WriterCache::Entry entry;
  entry.row.id = id;
  entry.row.last_seq = last_seq;
  for (auto user : members) entry.members.push_back({user, 0, false});
  return entry;
}

std::vector<UserId> Members(WriterCache::Entry* entry) {
  std::vector<UserId> ids;
  for (const auto& m : entry->members) ids.push_back(m.user);
  return ids;
}

TEST(WriterCacheTest, UndoOfAWriteForgetsWhatItLoaded) {
  WriterCache cache;
  cache.begin_write();
  cache.put(Group(7, {2, 1}, 5));
  ASSERT_NE(cache.find(7), nullptr);
  EXPECT_EQ(Members(cache.find(7)), (std::vector<UserId>{1, 2}));  // kept sorted
  cache.undo_write();
  EXPECT_EQ(cache.find(7), nullptr);
}

TEST(WriterCacheTest, UndoPutsBackCountersMarksAndMembersAsTheyWereBeforeTheWrite) {
  WriterCache cache;
  cache.begin_write();
  auto& entry = cache.put(Group(7, {1, 2}, 5));
  cache.advance(entry, 6, 100);
  cache.raise_read(entry, *entry.member(1), 6);
  cache.release_write();

  cache.begin_write();
  cache.advance(*cache.find(7), 7, 101);
  cache.raise_read(*cache.find(7), *cache.find(7)->member(1), 7);
  cache.raise_read(*cache.find(7), *cache.find(7)->member(2), 7);
  cache.change(7)->members.pop_back();  // user 2 leaves
  cache.change(7)->row.name = "renamed";
  cache.advance(*cache.find(7), 8, 102);
  cache.undo_write();

  auto* back = cache.find(7);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->row.last_seq, 6);
  EXPECT_EQ(back->row.last_pos, 100);
  EXPECT_EQ(back->row.name, "");
  EXPECT_TRUE(back->counters_pending);
  EXPECT_EQ(Members(back), (std::vector<UserId>{1, 2}));
  EXPECT_EQ(back->member(1)->read_seq, 6);
  EXPECT_TRUE(back->member(1)->read_pending);
  EXPECT_FALSE(back->member(2)->read_pending);
  auto counters = cache.pending_conversations();
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0]->row.last_seq, 6);
  auto reads = cache.pending_reads();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0], std::make_tuple(ConversationId{7}, UserId{1}, Seq{6}));
}

TEST(WriterCacheTest, CountersRolledBackToCleanAreNotWritten) {
  WriterCache cache;
  cache.begin_write();
  cache.put(Group(7, {1, 2}, 5));
  cache.release_write();
  cache.begin_write();
  cache.advance(*cache.find(7), 6, 100);
  cache.undo_write();
  EXPECT_FALSE(cache.find(7)->counters_pending);
  EXPECT_TRUE(cache.pending_conversations().empty());
}

TEST(WriterCacheTest, CommitLeavesNothingPendingAndClearForgetsAll) {
  WriterCache cache;
  cache.begin_write();
  auto& entry = cache.put(Group(7, {1, 2}));
  cache.advance(entry, 1, 10);
  cache.counters_written(entry);  // written mid-batch, then advanced again
  cache.advance(entry, 2, 11);
  cache.put_block(1, 2, true);
  cache.release_write();
  EXPECT_EQ(cache.pending_conversations().size(), 1u);  // listed once
  cache.committed();
  EXPECT_TRUE(cache.pending_conversations().empty());
  EXPECT_EQ(cache.find(7)->row.last_seq, 2);
  cache.clear();
  EXPECT_EQ(cache.find(7), nullptr);
  EXPECT_FALSE(cache.block_between(1, 2).has_value());
}

TEST(WriterCacheTest, BlocksAreUndirectedAndUndone) {
  WriterCache cache;
  cache.begin_write();
  cache.put_block(1, 2, false);
  cache.put_block(3, 1, true);
  cache.release_write();
  EXPECT_EQ(cache.block_between(2, 1), false);
  EXPECT_EQ(cache.block_between(1, 3), true);

  cache.begin_write();
  cache.forget_blocks_of(1);
  EXPECT_FALSE(cache.block_between(1, 2).has_value());
  EXPECT_FALSE(cache.block_between(1, 3).has_value());
  cache.undo_write();
  EXPECT_EQ(cache.block_between(1, 2), false);
  EXPECT_EQ(cache.block_between(1, 3), true);
}

TEST(WriterCacheTest, ADeletedAvatarLeavesTheCachedRows) {
  WriterCache cache;
  cache.begin_write();
  auto entry = Group(7, {1});
  entry.row.avatar_media_id = "m1";
  cache.put(std::move(entry));
  cache.forget_avatar("m1");
  EXPECT_FALSE(cache.find(7)->row.avatar_media_id.has_value());
}

}  // namespace
}  // namespace parley::storage::sqlite
