// stream_since reads a conversation's messages by seq, between the seqs its
// positions bound (messages has no index on positions since migration
// 0013): the messages it returns must be exactly those whose positions fall
// in each membership's range, whatever the gaps in seqs and positions.
#include <algorithm>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "storage/sqlite/database.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::storage::sqlite {
namespace {

struct Row {
  ConversationId conversation;
  Seq seq;
  Position pos;
};

class StreamSinceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("parley-stream-since-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Remove();
    SqliteStore store(path_, StorageOptions{});  // the shipped schema
  }
  void TearDown() override { Remove(); }
  void Remove() {
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }

  std::filesystem::path path_;
};

// Bob (2) is a member of conversations 1 (from the start) and 2 (joined at
// position 300), was a member of 3 from 50 to 400, and never of 4. 1,500
// messages spread over the four, with gaps in seqs (failed sends) and in
// positions (other events), some conversations quiet for long stretches.
TEST_F(StreamSinceTest, ReturnsExactlyTheMessagesAfterThePositionWithinEachMembership) {
  std::vector<Row> rows;
  {
    Connection db(path_);
    db.exec(R"sql(
      INSERT INTO users (id, username, password_hash, display_name, created_at)
        VALUES (1, 'alice', 'x', 'Alice', 0), (2, 'bob', 'x', 'Bob', 0);
      INSERT INTO conversations (id, kind, name, created_by, created_at) VALUES
        (1, 1, 'a', 1, 0), (2, 1, 'b', 1, 0), (3, 1, 'c', 1, 0), (4, 1, 'd', 1, 0);
      INSERT INTO members (conversation_id, user_id, role, joined_at, joined_pos) VALUES
        (1, 1, 2, 0, 0), (2, 1, 2, 0, 0), (3, 1, 2, 0, 0), (4, 1, 2, 0, 0), (1, 2, 0, 0, 0), (2, 2, 0, 0, 300);
      INSERT INTO past_memberships (conversation_id, user_id, joined_pos, left_pos) VALUES (3, 2, 50, 400);
    )sql");
    std::mt19937 rng(7);
    Seq seqs[5] = {0, 0, 0, 0, 0};
    Position pos = 0;
    db.exec("BEGIN");
    Statement& insert = db.prepare(
        "INSERT INTO messages (conversation_id, seq, pos, sender_id, client_id, body, created_at) "
        "VALUES (?1, ?2, ?3, 1, ?4, 'x', 0)");
    for (int i = 0; i < 1500; ++i) {
      // Conversation 4 only in bursts; 3 only in the first half.
      ConversationId c = 1 + static_cast<ConversationId>(rng() % (i < 750 ? 4 : 3));
      if (c == 3 && i >= 750) c = 1;
      if (c == 4 && (i / 100) % 3 != 0) c = 2;
      seqs[c] += 1 + (rng() % 10 == 0);  // a seq a failed send took
      pos += 1 + (rng() % 4 == 0);       // a position another event took
      insert.bind(1, c).bind(2, seqs[c]).bind(3, pos).bind(4, fmt::format("c{}", i)).run();
      insert.reset();
      rows.push_back({c, seqs[c], pos});
    }
    db.release_statements();
    db.exec(fmt::format("UPDATE stream_state SET last_pos = {}", pos));
    db.exec("COMMIT");
  }
  auto expected = [&](Position after, std::size_t limit) {
    std::vector<Position> found;
    for (const Row& r : rows) {
      bool seen = (r.conversation == 1 && r.pos > after) ||
                  (r.conversation == 2 && r.pos > std::max<Position>(after, 300)) ||
                  (r.conversation == 3 && r.pos > std::max<Position>(after, 50) && r.pos <= 400);
      if (seen) found.push_back(r.pos);
    }
    if (found.size() > limit) found.resize(limit);
    return found;
  };
  SqliteStore store(path_, StorageOptions{});
  Position last = rows.back().pos;
  int checked = 0;
  for (Position after = 0; after <= last + 1; after += 13) {
    for (std::size_t limit : {std::size_t{1}, std::size_t{7}, std::size_t{5000}}) {
      auto items = store.read([&](Transaction& tx) { return tx.stream_since(2, after, limit); });
      std::vector<Position> got;
      for (const auto& item : items) {
        ASSERT_TRUE(item.message.has_value()) << "no events were stored";
        EXPECT_EQ(item.message->pos, item.pos);
        got.push_back(item.pos);
      }
      ASSERT_EQ(got, expected(after, limit)) << "after " << after << ", limit " << limit;
      ++checked;
    }
  }
  EXPECT_GT(checked, 300);
}

// Resuming at the position of a conversation's very first or very last
// message, and in a conversation with a single message.
TEST_F(StreamSinceTest, BoundariesAtTheFirstAndTheLastMessage) {
  {
    Connection db(path_);
    db.exec(R"sql(
      INSERT INTO users (id, username, password_hash, display_name, created_at)
        VALUES (1, 'alice', 'x', 'Alice', 0), (2, 'bob', 'x', 'Bob', 0);
      INSERT INTO conversations (id, kind, name, created_by, created_at) VALUES (1, 1, 'a', 1, 0), (2, 1, 'b', 1, 0);
      INSERT INTO members (conversation_id, user_id, role, joined_at, joined_pos) VALUES
        (1, 1, 2, 0, 0), (1, 2, 0, 0, 0), (2, 1, 2, 0, 0), (2, 2, 0, 0, 0);
      INSERT INTO messages (conversation_id, seq, pos, sender_id, client_id, body, created_at) VALUES
        (1, 1, 10, 1, 'a', 'x', 0), (1, 2, 20, 1, 'b', 'x', 0), (1, 5, 30, 1, 'c', 'x', 0), (2, 1, 25, 1, 'd', 'x', 0);
      UPDATE stream_state SET last_pos = 30;
    )sql");
  }
  SqliteStore store(path_, StorageOptions{});
  auto positions = [&](Position after) {
    auto items = store.read([&](Transaction& tx) { return tx.stream_since(2, after, 100); });
    std::vector<Position> got;
    for (const auto& item : items) got.push_back(item.pos);
    return got;
  };
  EXPECT_EQ(positions(0), (std::vector<Position>{10, 20, 25, 30}));
  EXPECT_EQ(positions(9), (std::vector<Position>{10, 20, 25, 30}));
  EXPECT_EQ(positions(10), (std::vector<Position>{20, 25, 30}));
  EXPECT_EQ(positions(24), (std::vector<Position>{25, 30}));
  EXPECT_EQ(positions(25), (std::vector<Position>{30}));
  EXPECT_EQ(positions(29), (std::vector<Position>{30}));
  EXPECT_EQ(positions(30), (std::vector<Position>{}));
  EXPECT_EQ(positions(31), (std::vector<Position>{}));
}

// The store keeps a resume's first messages by id and checks that they are
// the first by position; rows whose ids disagree with their positions (put
// there by other means than the writer) still come in position order.
TEST_F(StreamSinceTest, RowsWhoseIdsDisagreeWithTheirPositionsStillComeFirstByPosition) {
  {
    Connection db(path_);
    db.exec(R"sql(
      INSERT INTO users (id, username, password_hash, display_name, created_at)
        VALUES (1, 'alice', 'x', 'Alice', 0), (2, 'bob', 'x', 'Bob', 0);
      INSERT INTO conversations (id, kind, name, created_by, created_at) VALUES (1, 1, 'a', 1, 0), (2, 1, 'b', 1, 0),
        (3, 1, 'c', 1, 0);
      INSERT INTO members (conversation_id, user_id, role, joined_at, joined_pos) VALUES
        (1, 1, 2, 0, 0), (1, 2, 0, 0, 0), (2, 1, 2, 0, 0), (2, 2, 0, 0, 0), (3, 1, 2, 0, 0), (3, 2, 0, 0, 0);
      -- Conversation 1's first message has the largest id: the first three
      -- ids are two later messages of 1 and the first of 2.
      INSERT INTO messages (id, conversation_id, seq, pos, sender_id, client_id, body, created_at) VALUES
        (60, 1, 1, 10, 1, 'a', 'x', 0), (1, 1, 2, 20, 1, 'b', 'x', 0), (2, 1, 3, 30, 1, 'c', 'x', 0),
        (3, 2, 1, 15, 1, 'd', 'x', 0), (4, 2, 2, 35, 1, 'e', 'x', 0),
      -- Conversation 3's ids come after every other but its positions first.
        (70, 3, 1, 5, 1, 'f', 'x', 0), (71, 3, 2, 6, 1, 'g', 'x', 0);
      UPDATE stream_state SET last_pos = 35;
    )sql");
  }
  SqliteStore store(path_, StorageOptions{});
  auto positions = [&](Position after, std::size_t limit) {
    auto items = store.read([&](Transaction& tx) { return tx.stream_since(2, after, limit); });
    std::vector<Position> got;
    for (const auto& item : items) got.push_back(item.pos);
    return got;
  };
  EXPECT_EQ(positions(0, 3), (std::vector<Position>{5, 6, 10}));
  EXPECT_EQ(positions(6, 3), (std::vector<Position>{10, 15, 20}));
  EXPECT_EQ(positions(6, 100), (std::vector<Position>{10, 15, 20, 30, 35}));
}

// Bob left conversation 1 at 25 and was added again at 40: the messages of
// his first membership come as they were when it ended, those of the second
// as they are, none from between; with and without a limit that cuts.
TEST_F(StreamSinceTest, TwoMembershipsOfOneConversationEachWithItsOwnEnd) {
  {
    Connection db(path_);
    db.exec(R"sql(
      INSERT INTO users (id, username, password_hash, display_name, created_at)
        VALUES (1, 'alice', 'x', 'Alice', 0), (2, 'bob', 'x', 'Bob', 0);
      INSERT INTO conversations (id, kind, name, created_by, created_at) VALUES (1, 1, 'a', 1, 0);
      INSERT INTO members (conversation_id, user_id, role, joined_at, joined_pos) VALUES (1, 1, 2, 0, 0), (1, 2, 0, 0, 40);
      INSERT INTO past_memberships (conversation_id, user_id, joined_pos, left_pos) VALUES (1, 2, 0, 25);
      INSERT INTO messages (id, conversation_id, seq, pos, sender_id, client_id, body, created_at, edited_at) VALUES
        (1, 1, 1, 10, 1, 'a', 'one', 0, NULL), (2, 1, 2, 20, 1, 'b', 'two, edited', 0, 30),
        (3, 1, 3, 30, 1, 'c', 'three', 0, NULL), (4, 1, 4, 45, 1, 'd', 'four', 0, 48),
        (5, 1, 5, 50, 1, 'e', 'five', 0, NULL);
      -- What messages 2 and 4 said until their edits at 30 and 48.
      INSERT INTO message_versions (message_id, through_pos, body, mentions, edited_at) VALUES
        (2, 29, 'two', '[]', NULL), (4, 47, 'four before its edit', '[]', NULL);
      UPDATE stream_state SET last_pos = 50;
    )sql");
  }
  SqliteStore store(path_, StorageOptions{});
  auto bodies = [&](Position after, std::size_t limit) {
    auto items = store.read([&](Transaction& tx) { return tx.stream_since(2, after, limit); });
    std::vector<std::string> got;
    for (const auto& item : items) got.push_back(item.message ? item.message->body : "event");
    return got;
  };
  EXPECT_EQ(bodies(0, 100), (std::vector<std::string>{"one", "two", "four", "five"}));
  EXPECT_EQ(bodies(0, 3), (std::vector<std::string>{"one", "two", "four"}));
  EXPECT_EQ(bodies(15, 2), (std::vector<std::string>{"two", "four"}));
  EXPECT_EQ(bodies(25, 100), (std::vector<std::string>{"four", "five"}));
}

}  // namespace
}  // namespace parley::storage::sqlite
