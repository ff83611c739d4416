#include "store/store.hpp"

#include <fstream>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/migrations.hpp"

namespace parley::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  std::filesystem::path dir;
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  static Message message(MessageId id, ConversationId conversation, std::int64_t seq, std::string text) {
    Message m;
    m.id = id;
    m.conversation_id = conversation;
    m.seq = seq;
    m.sender_id = 2;
    m.client_id = "c" + std::to_string(id);
    m.text = std::move(text);
    m.created_at = 1000 + id;
    return m;
  }

  static void add_conversation(Store& store, ConversationId id) {
    Store::Write write(store);
    Conversation c;
    c.id = id;
    c.kind = ConversationKind::group;
    c.name = "group " + std::to_string(id);
    c.created_at = 1;
    store.put_conversation(write, c);
    write.commit();
  }
};

TEST_F(StoreTest, EvictionKeepsTheFileUnderItsLimitOldestFirstAndHistoryReportsTheGap) {
  Store store(dir / "store.db", std::nullopt);
  add_conversation(store, 1);
  add_conversation(store, 2);
  const std::string filler(400, 'x');
  {
    Store::Write write(store);
    for (int i = 1; i <= 6000; ++i) {
      store.put_message(write, message(i, i % 2 + 1, (i + 1) / 2, "message " + std::to_string(i) + " " + filler));
    }
    write.commit();
  }
  const auto before = store.used_bytes();
  ASSERT_GT(before, 3 << 20);
  const std::int64_t limit = 1 << 20;
  const auto evicted = store.evict_history(limit, 50);
  EXPECT_GT(evicted, 0);
  EXPECT_LE(store.used_bytes(), limit);
  EXPECT_LE(static_cast<std::int64_t>(std::filesystem::file_size(dir / "store.db")), before);
  // The newest page of each conversation stays, and the page says older
  // history is on the server.
  for (ConversationId c : {1, 2}) {
    auto page = store.history(c, 0, 50, 1);
    ASSERT_EQ(page.messages.size(), 50u);
    EXPECT_EQ(page.messages.back().seq, 3000);
    auto oldest = store.history(c, page.messages.front().seq, 5000, 1);
    if (oldest.messages.empty()) {
      EXPECT_TRUE(page.more_on_server);
    } else {
      EXPECT_TRUE(oldest.more_on_server);
      EXPECT_GT(oldest.messages.front().seq, 1);
    }
  }
  // The evicted text is gone from the search index too.
  EXPECT_TRUE(store.search("\"message 1 \"", 10, std::nullopt).empty());
  EXPECT_FALSE(store.search("5999", 10, std::nullopt).empty());
}

TEST_F(StoreTest, EncryptedStoresKeepNoTextInClearAndNeedTheirKey) {
  std::array<std::uint8_t, 32> key{};
  key.fill(7);
  {
    Store store(dir / "store.db", key);
    add_conversation(store, 1);
    Store::Write write(store);
    store.put_message(write, message(1, 1, 1, "the secret rendezvous is at noon"));
    write.commit();
    ASSERT_EQ(store.message(1)->text, "the secret rendezvous is at noon");
    // Search decrypts and scans instead of keeping an index in clear.
    ASSERT_EQ(store.search("RENDEZVOUS", 10, std::nullopt).size(), 1u);
    EXPECT_EQ(store.search("RENDEZVOUS", 10, std::nullopt)[0].snippet, "the secret [rendezvous] is at noon");
  }
  // No byte of the text in the database or its WAL.
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), {}};
    EXPECT_EQ(bytes.find("rendezvous"), std::string::npos) << entry.path();
  }
  auto wrong = key;
  wrong[0] = 8;
  EXPECT_THROW(Store(dir / "store.db", wrong), StoreError);
  EXPECT_THROW(Store(dir / "store.db", std::nullopt), StoreError);
  Store again(dir / "store.db", key);
  EXPECT_EQ(again.message(1)->text, "the secret rendezvous is at noon");
}

TEST_F(StoreTest, APlainStoreRefusesAKey) {
  { Store store(dir / "store.db", std::nullopt); }
  std::array<std::uint8_t, 32> key{};
  EXPECT_THROW(Store(dir / "store.db", key), StoreError);
}

TEST_F(StoreTest, AStoreFromANewerVersionIsRefusedNotMisread) {
  { Store store(dir / "store.db", std::nullopt); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "store.db").c_str(), &db), SQLITE_OK);
  const auto sql = "PRAGMA user_version = " + std::to_string(schema_version() + 1);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THROW(Store(dir / "store.db", std::nullopt), StoreError);
}

TEST_F(StoreTest, HistoryStopsAtAGapAndAppendsPendingMessages) {
  Store store(dir / "store.db", std::nullopt);
  add_conversation(store, 1);
  {
    Store::Write write(store);
    for (int seq : {1, 2, 3, 7, 8, 9}) store.put_message(write, message(seq, 1, seq, "m" + std::to_string(seq)));
    OutboxEntry entry;
    entry.client_id = "pending-1";
    entry.conversation_id = 1;
    entry.text = "not sent yet";
    entry.created_at = 5;
    store.outbox_add(write, entry);
    write.commit();
  }
  auto page = store.history(1, 0, 50, 1);
  ASSERT_EQ(page.messages.size(), 4u);  // 7, 8, 9 and the pending one
  EXPECT_EQ(page.messages[0].seq, 7);
  EXPECT_TRUE(page.more_on_server);
  EXPECT_FALSE(page.more_in_store);
  EXPECT_EQ(page.messages[3].state, MessageState::pending);
  EXPECT_EQ(page.messages[3].text, "not sent yet");
  auto older = store.history(1, 7, 2, 1);
  ASSERT_EQ(older.messages.size(), 0u);
  EXPECT_TRUE(older.more_on_server);
  auto first = store.history(1, 4, 2, 1);
  ASSERT_EQ(first.messages.size(), 2u);
  EXPECT_TRUE(first.more_in_store);
}

}  // namespace
}  // namespace parley::store
