#include "auth/session_cache.hpp"

#include <gtest/gtest.h>

namespace parley::auth {
namespace {

SessionCache::Entry entry(storage::SessionId session, storage::UserId user = 7, UnixMillis used = 1000) {
  return SessionCache::Entry{user, session, used};
}

TEST(SessionCacheTest, FindsWhatWasInsertedAndForgetsItExactly) {
  SessionCache cache(8);
  EXPECT_FALSE(cache.find("hash-1"));
  ASSERT_TRUE(cache.insert(cache.epoch(), "hash-1", entry(1)));
  ASSERT_TRUE(cache.insert(cache.epoch(), "hash-2", entry(2)));
  auto found = cache.find("hash-1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->session_id, 1);
  EXPECT_EQ(found->user_id, 7);
  EXPECT_TRUE(cache.holds(1));

  cache.forget({1});
  EXPECT_FALSE(cache.find("hash-1"));
  EXPECT_FALSE(cache.holds(1));
  EXPECT_TRUE(cache.find("hash-2"));  // only what was named
  EXPECT_EQ(cache.size(), 1U);
}

// The race the epoch closes: a miss reads the session, a deletion commits
// and forgets, then the reader caches what it read. That entry must not be
// kept, or the deleted session would be accepted from memory.
TEST(SessionCacheTest, AReadThatBeganBeforeADeletionIsNotCached) {
  SessionCache cache(8);
  auto before_read = cache.epoch();
  cache.forget({1});  // committed while the read was running
  EXPECT_FALSE(cache.insert(before_read, "hash-1", entry(1)));
  EXPECT_FALSE(cache.find("hash-1"));
  EXPECT_FALSE(cache.holds(1));
  // A read that began after it is cached.
  EXPECT_TRUE(cache.insert(cache.epoch(), "hash-1", entry(1)));
  EXPECT_TRUE(cache.find("hash-1"));
}

TEST(SessionCacheTest, EvictsTheLeastRecentlyUsedBeyondItsCapacity) {
  SessionCache cache(2);
  cache.insert(cache.epoch(), "a", entry(1));
  cache.insert(cache.epoch(), "b", entry(2));
  ASSERT_TRUE(cache.find("a"));  // now b is the least recent
  cache.insert(cache.epoch(), "c", entry(3));
  EXPECT_EQ(cache.size(), 2U);
  EXPECT_TRUE(cache.find("a"));
  EXPECT_FALSE(cache.find("b"));
  EXPECT_FALSE(cache.holds(2));
  EXPECT_TRUE(cache.find("c"));
}

TEST(SessionCacheTest, UsesMoveTheLastUsedTimeForwardOnly) {
  SessionCache cache(4);
  cache.insert(cache.epoch(), "a", entry(1, 7, 1000));
  cache.used(1, 5000);
  EXPECT_EQ(cache.find("a")->last_used, 5000);
  cache.used(1, 3000);
  EXPECT_EQ(cache.find("a")->last_used, 5000);
  cache.used(99, 9000);  // not cached: nothing to do
  EXPECT_EQ(cache.size(), 1U);
  // Inserting again (two misses at once) keeps the newer time.
  cache.insert(cache.epoch(), "a", entry(1, 7, 2000));
  EXPECT_EQ(cache.find("a")->last_used, 5000);
  EXPECT_EQ(cache.size(), 1U);
}

}  // namespace
}  // namespace parley::auth
