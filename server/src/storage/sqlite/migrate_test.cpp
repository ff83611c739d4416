#include "storage/sqlite/migrate.hpp"

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "storage/sqlite/database.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::storage::sqlite {
namespace {

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("parley-migrate-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
  }
  void TearDown() override {
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }

  int version(Connection& db) {
    Statement& q = db.prepare("PRAGMA user_version");
    q.step();
    int v = static_cast<int>(q.int64(0));
    db.release_statements();
    return v;
  }

  bool table_exists(Connection& db, const std::string& name) {
    Statement& q = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    q.bind(1, name);
    bool found = q.step();
    db.release_statements();
    return found;
  }

  std::filesystem::path path_;
};

TEST_F(MigrateTest, AppliesPendingMigrationsInOrderOnce) {
  Connection db(path_);
  std::vector<Migration> list{{1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"},
                              {2, "0002_b.sql", "CREATE TABLE b (y INTEGER);"}};
  EXPECT_EQ(migrate(db, {list[0]}), 1);
  EXPECT_TRUE(table_exists(db, "a"));
  EXPECT_FALSE(table_exists(db, "b"));
  EXPECT_EQ(migrate(db, list), 2);
  EXPECT_TRUE(table_exists(db, "b"));
  EXPECT_EQ(migrate(db, list), 2);  // nothing left to do; no error
  EXPECT_EQ(version(db), 2);
}

TEST_F(MigrateTest, AFailingMigrationChangesNothing) {
  Connection db(path_);
  std::vector<Migration> list{{1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"},
                              {2, "0002_bad.sql", "CREATE TABLE b (y INTEGER); THIS IS NOT SQL;"}};
  EXPECT_THROW(migrate(db, list), StorageError);
  EXPECT_EQ(version(db), 0);
  EXPECT_FALSE(table_exists(db, "a"));
  EXPECT_FALSE(table_exists(db, "b"));
}

TEST_F(MigrateTest, RefusesADatabaseNewerThanTheBinary) {
  Connection db(path_);
  db.exec("PRAGMA user_version = 7");
  std::vector<Migration> list{{1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"}};
  EXPECT_THROW(migrate(db, list), StorageError);
  EXPECT_FALSE(table_exists(db, "a"));
}

TEST_F(MigrateTest, ShippedMigrationsApplyToAFreshDatabase) {
  SqliteStore store(path_, StorageOptions{});
  EXPECT_EQ(store.schema_version(), sqlite_migrations().back().version);
  EXPECT_TRUE(store.ping());
  Connection db(path_);
  for (auto table : {"users", "sessions", "invitations", "contacts", "blocks", "conversation_mutes"}) {
    EXPECT_TRUE(table_exists(db, table)) << table;
  }
}

// A database of schema 2 (before message versions were kept) upgrades to the
// shipped schema: events name their messages, a message deleted before the
// upgrade loses the content its stored events still held, reactions learn
// when they were added, and the versions the stored edits show are kept, so
// that an ex-member sees messages as they were when the membership ended
// (or not at all, where that content was lost before the upgrade).
TEST_F(MigrateTest, AVersion2DatabaseUpgradesWithItsHistoryForExMembersAndDeletionsPurged) {
  {
    Connection db(path_);
    db.exec("PRAGMA foreign_keys = ON");
    const auto& shipped = sqlite_migrations();
    ASSERT_EQ(migrate(db, {shipped[0], shipped[1]}), 2);
    // alice (1) owns group 1 with carol (3); bob (2) was in it until 6.
    db.exec(R"sql(
      INSERT INTO users (id, username, password_hash, display_name, created_at)
        VALUES (1, 'alice', 'x', 'Alice', 0), (2, 'bob', 'x', 'Bob', 0), (3, 'carol', 'x', 'Carol', 0);
      INSERT INTO conversations (id, kind, name, created_by, created_at, last_seq, last_pos)
        VALUES (1, 1, 'team', 1, 0, 3, 6);
      INSERT INTO members VALUES (1, 1, 2, 0, 0, 0, 0), (1, 3, 0, 0, 0, 0, 0);
      INSERT INTO past_memberships VALUES (1, 2, 0, 6);
      INSERT INTO messages (id, conversation_id, seq, pos, sender_id, client_id, body, created_at, edited_at, deleted_at)
        VALUES (10, 1, 1, 2, 1, 'c10', 'v3-10', 0, 90, NULL),
               (13, 1, 2, 3, 1, 'c13', 'v3-13 SECRET', 0, 100, NULL),
               (11, 1, 3, 6, 1, 'c11', '', 0, 120, 130);
      INSERT INTO reactions VALUES (13, 3, 'A', 5), (13, 1, 'B', 11);
      INSERT INTO events (pos, conversation_id, user_id, payload, created_at) VALUES
        (1, 1, NULL, '{"type":"conversation.created","conversation":{"id":1}}', 0),
        (4, 1, NULL, '{"type":"message.edited","conversation_id":1,"message":{"id":13,"text":"v2-13","mentions":[3],"edited_at":40,"reactions":[]}}', 0),
        (5, 1, NULL, '{"type":"reaction.added","conversation_id":1,"message_id":13,"user_id":3,"emoji":"A"}', 0),
        (7, 1, 2, '{"type":"member.removed","conversation_id":1,"user_id":2,"by":1}', 0),
        (8, 1, NULL, '{"type":"message.edited","conversation_id":1,"message":{"id":10,"text":"v2-10","mentions":[],"edited_at":80,"reactions":[]}}', 0),
        (9, 1, NULL, '{"type":"message.edited","conversation_id":1,"message":{"id":10,"text":"v3-10","mentions":[],"edited_at":90,"reactions":[]}}', 0),
        (10, 1, NULL, '{"type":"message.edited","conversation_id":1,"message":{"id":13,"text":"v3-13 SECRET","mentions":[],"edited_at":100,"reactions":[]}}', 0),
        (11, 1, NULL, '{"type":"reaction.added","conversation_id":1,"message_id":13,"user_id":1,"emoji":"B"}', 0),
        (12, 1, NULL, '{"type":"message.edited","conversation_id":1,"message":{"id":11,"text":"SECRET deleted","mentions":[],"edited_at":120,"reactions":[]}}', 0),
        (13, 1, NULL, '{"type":"message.deleted","conversation_id":1,"message_id":11,"seq":3,"by":1}', 0);
      UPDATE stream_state SET last_pos = 13;
    )sql");
  }

  SqliteStore store(path_, StorageOptions{});
  EXPECT_EQ(store.schema_version(), sqlite_migrations().back().version);
  auto bob = store.read([](Transaction& tx) { return tx.stream_since(2, 0, 100); });
  std::vector<Position> positions;
  for (const auto& item : bob) {
    positions.push_back(item.pos);
    std::string text = item.message ? item.message->body : *item.payload;
    EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
  }
  // Message 10 (2) is left out: its content at 6 was overwritten before the
  // upgrade. The deleted message's stored edit (12) is gone.
  EXPECT_EQ(positions, (std::vector<Position>{1, 3, 4, 5, 6, 7}));
  ASSERT_EQ(bob.size(), 6U);
  ASSERT_TRUE(bob[1].message.has_value());
  const Message& m13 = *bob[1].message;
  EXPECT_EQ(m13.body, "v2-13");
  EXPECT_EQ(m13.edited_at, std::optional<UnixMillis>(40));
  EXPECT_EQ(m13.mentions, (std::vector<UserId>{3}));
  ASSERT_EQ(m13.reactions.size(), 1U);  // B came after the removal
  EXPECT_EQ(m13.reactions[0], (std::pair<std::string, UserId>{"A", 3}));
  ASSERT_TRUE(bob[4].message.has_value());
  EXPECT_TRUE(bob[4].message->deleted_at.has_value());
  EXPECT_EQ(bob[4].message->body, "");
  EXPECT_FALSE(bob[4].message->edited_at.has_value());

  // A member sees the messages as they are now; the deleted one's stored
  // edit is gone for everyone, its deletion stays.
  auto carol = store.read([](Transaction& tx) { return tx.stream_since(3, 0, 100); });
  std::map<Position, std::string> current;
  for (const auto& item : carol) current[item.pos] = item.message ? item.message->body : *item.payload;
  EXPECT_EQ(current.count(12), 0U);
  EXPECT_EQ(current.count(13), 1U);
  EXPECT_EQ(current[2], "v3-10");
  EXPECT_EQ(current[3], "v3-13 SECRET");
}

// Migration 0012 (search indexed per batch) on a database with indexed
// messages: they stay found, an edit or deletion of one still removes its
// words; messages added while the server was stopped (no trigger indexes
// them now) are indexed when the store opens; and a row taking the id of
// the newest indexed row after it was deleted is indexed too.
TEST_F(MigrateTest, Version11DatabaseKeepsItsSearchIndexThroughMigration12) {
  auto found = [&](Connection& db, const std::string& match) {
    Statement& q = db.prepare("SELECT rowid FROM message_search WHERE message_search MATCH ?1 ORDER BY rowid");
    q.bind(1, match);
    std::vector<std::int64_t> ids;
    while (q.step()) ids.push_back(q.int64(0));
    db.release_statements();
    return ids;
  };
  auto indexed_through = [&](Connection& db) {
    Statement& q = db.prepare("SELECT indexed_through FROM stream_state");
    q.step();
    auto v = q.int64(0);
    db.release_statements();
    return v;
  };
  const auto& shipped = sqlite_migrations();
  ASSERT_GE(shipped.size(), 12U);
  {
    Connection db(path_);
    db.exec("PRAGMA foreign_keys = ON");
    ASSERT_EQ(migrate(db, std::vector<Migration>(shipped.begin(), shipped.begin() + 11)), 11);
    db.exec(R"sql(
      INSERT INTO users (id, username, password_hash, display_name, created_at) VALUES (1, 'alice', 'x', 'Alice', 0);
      INSERT INTO conversations (id, kind, name, created_by, created_at, last_seq, last_pos)
        VALUES (1, 1, 'team', 1, 0, 3, 3);
      INSERT INTO messages (id, conversation_id, seq, pos, sender_id, client_id, body, created_at)
        VALUES (1, 1, 1, 1, 1, 'c1', 'apple pie', 0), (2, 1, 2, 2, 1, 'c2', 'banana split', 0),
               (3, 1, 3, 3, 1, 'c3', 'καλημέρα cherry', 0);
      UPDATE stream_state SET last_pos = 3;
    )sql");
    ASSERT_EQ(found(db, "apple"), (std::vector<std::int64_t>{1}));  // 0008's trigger indexed them
    ASSERT_EQ(migrate(db, shipped), shipped.back().version);
    EXPECT_EQ(indexed_through(db), 3);
    EXPECT_EQ(found(db, "apple"), (std::vector<std::int64_t>{1}));
    EXPECT_EQ(found(db, "καλημερα"), (std::vector<std::int64_t>{3}));  // folded as 0008 folded it
    // Indexed rows: an edit replaces their words, a deletion removes them.
    db.exec("UPDATE messages SET body = 'grape juice', edited_at = 1 WHERE id = 1");
    db.exec("UPDATE messages SET body = '', deleted_at = 2 WHERE id = 2");
    EXPECT_EQ(found(db, "apple"), (std::vector<std::int64_t>{}));
    EXPECT_EQ(found(db, "grape"), (std::vector<std::int64_t>{1}));
    EXPECT_EQ(found(db, "banana"), (std::vector<std::int64_t>{}));
    // The newest indexed row goes: the mark goes back, its 'delete' done.
    db.exec("DELETE FROM messages WHERE id = 3");
    EXPECT_EQ(found(db, "cherry"), (std::vector<std::int64_t>{}));
    EXPECT_EQ(indexed_through(db), 2);
    // Added while the server is stopped, one taking the freed id: not
    // indexed by any trigger.
    db.exec(R"sql(
      INSERT INTO messages (id, conversation_id, seq, pos, sender_id, client_id, body, created_at)
        VALUES (3, 1, 4, 4, 1, 'c4', 'damson jam', 0), (4, 1, 5, 5, 1, 'c5', 'elderberry wine', 0);
    )sql");
    EXPECT_EQ(found(db, "damson"), (std::vector<std::int64_t>{}));
    // An edit of a row not yet indexed gives FTS5 no 'delete' it cannot match.
    db.exec("UPDATE messages SET body = 'fig roll', edited_at = 3 WHERE id = 4");
  }
  {
    SqliteStore store(path_, StorageOptions{});  // indexes what is not yet indexed
  }
  Connection db(path_);
  EXPECT_EQ(indexed_through(db), 4);
  EXPECT_EQ(found(db, "damson"), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(found(db, "fig"), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(found(db, "elderberry"), (std::vector<std::int64_t>{}));
  EXPECT_EQ(found(db, "grape"), (std::vector<std::int64_t>{1}));
  // The index holds exactly what the messages table says.
  db.exec("INSERT INTO message_search (message_search) VALUES ('integrity-check')");
}

// Migration 0013 drops the index on (conversation_id, pos) of a database
// made by schema 12; its messages stay and are read by seq.
TEST_F(MigrateTest, Migration13DropsThePositionIndexAndKeepsTheMessages) {
  auto index_exists = [](Connection& db, const std::string& name) {
    Statement& q = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1");
    q.bind(1, name);
    bool found = q.step();
    db.release_statements();
    return found;
  };
  const auto& shipped = sqlite_migrations();
  ASSERT_GE(shipped.size(), 13U);
  {
    Connection db(path_);
    db.exec("PRAGMA foreign_keys = ON");
    ASSERT_EQ(migrate(db, std::vector<Migration>(shipped.begin(), shipped.begin() + 12)), 12);
    db.exec(R"sql(
      INSERT INTO users (id, username, password_hash, display_name, created_at)
        VALUES (1, 'alice', 'x', 'Alice', 0), (2, 'bob', 'x', 'Bob', 0);
      INSERT INTO conversations (id, kind, name, created_by, created_at, last_seq, last_pos)
        VALUES (1, 0, '', 1, 0, 2, 5);
      INSERT INTO members (conversation_id, user_id, role, joined_at, joined_pos)
        VALUES (1, 1, 0, 0, 0), (1, 2, 0, 0, 0);
      INSERT INTO messages (id, conversation_id, seq, pos, sender_id, client_id, body, created_at)
        VALUES (1, 1, 1, 3, 1, 'c1', 'one', 0), (2, 1, 2, 5, 2, 'c2', 'two', 0);
      UPDATE stream_state SET last_pos = 5;
    )sql");
    ASSERT_TRUE(index_exists(db, "messages_by_conversation_pos"));
    ASSERT_EQ(migrate(db, shipped), shipped.back().version);
    EXPECT_FALSE(index_exists(db, "messages_by_conversation_pos"));
  }
  SqliteStore store(path_, StorageOptions{});
  auto items = store.read([](Transaction& tx) { return tx.stream_since(2, 3, 100); });
  ASSERT_EQ(items.size(), 1U);
  ASSERT_TRUE(items[0].message.has_value());
  EXPECT_EQ(items[0].message->body, "two");
  EXPECT_EQ(store.read([](Transaction& tx) { return tx.current_position(); }), 5);
}

TEST_F(MigrateTest, StoreRollsBackWhenTheTransactionBodyThrows) {
  SqliteStore store(path_, StorageOptions{});
  EXPECT_THROW(store.write_blocking([](Transaction& tx) {
    tx.insert_user(NewUser{"zed", "hash", "Zed", 1});
    throw std::runtime_error("abort");
  }),
               std::runtime_error);
  EXPECT_FALSE(store.read([](Transaction& tx) { return tx.user_by_username("zed"); }).has_value());
  auto user = store.write_blocking([](Transaction& tx) { return tx.insert_user(NewUser{"zed", "hash", "Zed", 1}); });
  ASSERT_TRUE(user.has_value());
  auto duplicate = store.write_blocking([](Transaction& tx) { return tx.insert_user(NewUser{"zed", "h2", "Z", 2}); });
  EXPECT_FALSE(duplicate.has_value());
}

}  // namespace
}  // namespace parley::storage::sqlite
