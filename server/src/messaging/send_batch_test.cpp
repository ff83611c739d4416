// messaging::send on the SQLite store's writer, several writes to one batch:
// membership, blocks and counters come from the writer's memory
// (storage/sqlite/writer_cache.hpp), and must follow every change made
// before them in the same batch, and forget every change rolled back.
#include <filesystem>
#include <future>
#include <mutex>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "messaging/messages.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "support/error_code_of.hpp"

namespace parley::messaging {
namespace {

using storage::ConversationId;
using storage::ConversationKind;
using storage::Role;
using storage::Transaction;
using storage::UserId;
using test::error_code_of;

class SendBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("parley-sendbatch-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Clean();
    store_ = std::make_unique<storage::sqlite::SqliteStore>(
        path_, StorageOptions{}, [this](bool write, std::size_t writes, std::chrono::duration<double>) {
          if (!write) return;
          std::lock_guard lock(mutex_);
          batch_sizes_.push_back(writes);
        });
    store_->write_blocking([&](Transaction& tx) {
      ann_ = tx.insert_user({"ann", "x", "Ann", 1})->id;
      bob_ = tx.insert_user({"bob", "x", "Bob", 1})->id;
      direct_ = tx.insert_conversation(ConversationKind::kDirect, "", "", "1:2", ann_, 1).id;
      tx.insert_member({direct_, ann_, Role::kMember, 1, tx.next_position(), 0, 0});
      tx.insert_member({direct_, bob_, Role::kMember, 1, tx.next_position(), 0, 0});
      group_ = tx.insert_conversation(ConversationKind::kGroup, "g", "", std::nullopt, ann_, 1).id;
      tx.insert_member({group_, ann_, Role::kOwner, 1, tx.next_position(), 0, 0});
      tx.insert_member({group_, bob_, Role::kMember, 1, tx.next_position(), 0, 0});
    });
  }
  void TearDown() override {
    store_.reset();
    Clean();
  }
  void Clean() {
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }

  // Runs `writes` in one batch: a first write, taken alone, holds the
  // writer until all of them are queued behind it, so that the writer then
  // takes them together. Returns
  // each write's outcome (nullptr: committed).
  std::vector<std::exception_ptr> RunInOneBatch(std::vector<std::function<void(Transaction&)>> writes) {
    std::promise<void> holding, queued, held;
    auto queued_future = queued.get_future().share();
    store_->submit_write(
        [&](Transaction&) {
          holding.set_value();
          queued_future.wait();
        },
        [&](std::exception_ptr) { held.set_value(); });
    holding.get_future().wait();  // the writer took the holding write alone
    std::vector<std::promise<std::exception_ptr>> outcomes(writes.size());
    for (std::size_t i = 0; i < writes.size(); ++i) {
      store_->submit_write(writes[i], [&outcomes, i](std::exception_ptr error) { outcomes[i].set_value(error); });
    }
    {
      std::lock_guard lock(mutex_);
      batch_sizes_.clear();
    }
    queued.set_value();
    held.get_future().wait();
    std::vector<std::exception_ptr> result;
    for (auto& outcome : outcomes) result.push_back(outcome.get_future().get());
    std::lock_guard lock(mutex_);
    // The holding write's batch was observed before or after the clear;
    // the writes themselves went in one.
    EXPECT_NE(std::find(batch_sizes_.begin(), batch_sizes_.end(), writes.size()), batch_sizes_.end());
    return result;
  }

  std::function<void(Transaction&)> Send(UserId sender, ConversationId conversation, std::string client_id,
                                         std::string text = "") {
    return [=](Transaction& tx) {
      SendRequest request;
      request.conversation_id = conversation;
      request.client_id = client_id;
      request.text = text.empty() ? "hello " + client_id : text;
      send(tx, sender, request);
    };
  }

  // The ids of the messages the search index finds for an FTS5 query, as a
  // reader sees the committed database.
  std::vector<storage::MessageId> Found(const std::string& match) {
    storage::sqlite::Connection db(path_);
    auto& query = db.prepare("SELECT rowid FROM message_search WHERE message_search MATCH ?1 ORDER BY rowid");
    query.bind(1, match);
    std::vector<storage::MessageId> ids;
    while (query.step()) ids.push_back(query.int64(0));
    db.release_statements();
    return ids;
  }

  storage::MessageId IdOf(UserId sender, const std::string& client_id) {
    return store_->read([&](Transaction& tx) { return tx.message_by_client_id(sender, client_id)->id; });
  }

  std::vector<storage::Seq> Seqs(ConversationId conversation) {
    return store_->read([&](Transaction& tx) {
      std::vector<storage::Seq> seqs;
      for (const auto& m : tx.messages_after(conversation, 0, 100)) seqs.push_back(m.seq);
      return seqs;
    });
  }

  std::filesystem::path path_;
  std::unique_ptr<storage::sqlite::SqliteStore> store_;
  std::mutex mutex_;
  std::vector<std::size_t> batch_sizes_;
  UserId ann_ = 0, bob_ = 0;
  ConversationId direct_ = 0, group_ = 0;
};

TEST_F(SendBatchTest, MembershipChangesTakeEffectOnTheNextSendOfTheBatch) {
  auto outcomes = RunInOneBatch({
      Send(bob_, group_, "b1"),
      [&](Transaction& tx) { tx.delete_member(group_, bob_); },
      Send(bob_, group_, "b2"),
      [&](Transaction& tx) { tx.insert_member({group_, bob_, Role::kMember, 2, tx.next_position(), 0, 0}); },
      Send(bob_, group_, "b3"),
  });
  EXPECT_EQ(error_code_of(outcomes[0]), std::nullopt);
  EXPECT_EQ(error_code_of(outcomes[2]), ErrorCode::kNotFound);
  EXPECT_EQ(error_code_of(outcomes[4]), std::nullopt);
  EXPECT_EQ(Seqs(group_), (std::vector<storage::Seq>{1, 2}));
}

TEST_F(SendBatchTest, BlocksTakeEffectOnTheNextSendOfTheBatch) {
  auto outcomes = RunInOneBatch({
      Send(bob_, direct_, "b1"),
      [&](Transaction& tx) { tx.insert_block(ann_, bob_, 5); },
      Send(bob_, direct_, "b2"),
      Send(ann_, direct_, "a1"),
      [&](Transaction& tx) { tx.insert_block(bob_, ann_, 5); },
      [&](Transaction& tx) { tx.delete_block(ann_, bob_); },
      Send(ann_, direct_, "a2"),  // bob's block still stands
      [&](Transaction& tx) { tx.delete_block(bob_, ann_); },
      Send(ann_, direct_, "a3"),
  });
  EXPECT_EQ(error_code_of(outcomes[0]), std::nullopt);
  EXPECT_EQ(error_code_of(outcomes[2]), ErrorCode::kBlocked);
  EXPECT_EQ(error_code_of(outcomes[3]), ErrorCode::kBlocked);
  EXPECT_EQ(error_code_of(outcomes[6]), ErrorCode::kBlocked);
  EXPECT_EQ(error_code_of(outcomes[8]), std::nullopt);
  EXPECT_EQ(Seqs(direct_), (std::vector<storage::Seq>{1, 2}));
}

TEST_F(SendBatchTest, ARolledBackWriteLeavesTheCacheAsItWas) {
  auto outcomes = RunInOneBatch({
      Send(ann_, group_, "a1"),
      // Removes bob and sends (taking a seq), then fails: all of it goes.
      [&](Transaction& tx) {
        tx.delete_member(group_, bob_);
        Send(ann_, group_, "a-lost")(tx);
        throw std::runtime_error("fails after the change");
      },
      Send(bob_, group_, "b1"),
      // Adds a block (loaded into the cache after) and fails.
      [&](Transaction& tx) {
        tx.insert_block(ann_, bob_, 5);
        EXPECT_TRUE(tx.block_between(bob_, ann_));
        throw std::runtime_error("fails after the change");
      },
      Send(bob_, direct_, "b2"),
      Send(ann_, group_, "a2"),
  });
  EXPECT_EQ(error_code_of(outcomes[1]), ErrorCode::kInternal);
  EXPECT_EQ(error_code_of(outcomes[2]), std::nullopt);
  EXPECT_EQ(error_code_of(outcomes[3]), ErrorCode::kInternal);
  EXPECT_EQ(error_code_of(outcomes[4]), std::nullopt);
  EXPECT_EQ(error_code_of(outcomes[5]), std::nullopt);
  // No gap where the rolled-back send took seq 2.
  EXPECT_EQ(Seqs(group_), (std::vector<storage::Seq>{1, 2, 3}));
}

TEST_F(SendBatchTest, CountersAndReadMarksAreCommittedWithTheBatch) {
  RunInOneBatch({Send(ann_, group_, "a1"), Send(bob_, group_, "b1"), Send(ann_, group_, "a2"),
                 [&](Transaction& tx) {
                   // Read mid-batch: the row shows what the batch counted.
                   EXPECT_EQ(tx.conversation_by_id(group_)->last_seq, 3);
                   EXPECT_EQ(tx.conversations_of(ann_).front().conversation.id, group_);
                 },
                 Send(ann_, group_, "a3")});
  store_->read([&](Transaction& tx) {
    auto conversation = tx.conversation_by_id(group_);
    EXPECT_EQ(conversation->last_seq, 4);
    EXPECT_EQ(conversation->last_pos, tx.messages_after(group_, 3, 1).front().pos);
    EXPECT_EQ(tx.member(group_, ann_)->read_seq, 4);
    EXPECT_EQ(tx.member(group_, bob_)->read_seq, 2);
  });
}

TEST_F(SendBatchTest, ARetryInTheSameBatchIsAnsweredWithTheFirst) {
  std::optional<SendResult> first, retry;
  auto request = [&](std::string text) {
    SendRequest r;
    r.conversation_id = group_;
    r.client_id = "same";
    r.text = std::move(text);
    return r;
  };
  auto outcomes = RunInOneBatch({
      [&](Transaction& tx) { first = send(tx, ann_, request("hello")); },
      [&](Transaction& tx) { retry = send(tx, ann_, request("hello")); },
      [&](Transaction& tx) { send(tx, ann_, request("another text")); },
  });
  EXPECT_EQ(error_code_of(outcomes[2]), ErrorCode::kConflict);
  ASSERT_TRUE(first && retry);
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->message.id, first->message.id);
  EXPECT_EQ(Seqs(group_), (std::vector<storage::Seq>{1}));
}

TEST_F(SendBatchTest, ARetryAfterLeavingIsStillAnsweredWithTheStoredMessage) {
  std::optional<SendResult> retry;
  auto outcomes = RunInOneBatch({
      Send(bob_, group_, "b1"),
      [&](Transaction& tx) { tx.delete_member(group_, bob_); },
      [&](Transaction& tx) {
        SendRequest request;
        request.conversation_id = group_;
        request.client_id = "b1";
        request.text = "hello b1";
        retry = send(tx, bob_, request);
      },
      Send(bob_, group_, "b2"),
  });
  EXPECT_EQ(error_code_of(outcomes[2]), std::nullopt);
  EXPECT_EQ(error_code_of(outcomes[3]), ErrorCode::kNotFound);
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->message.seq, 1);
  EXPECT_EQ(Seqs(group_), (std::vector<storage::Seq>{1}));
}

// Search indexes a batch's new messages just before its commit: each is
// found from that commit on, with the text it has then; edits and deletions
// in the batch (before it was indexed) and rolled-back writes leave no words.
TEST_F(SendBatchTest, SearchFindsABatchsMessagesAsCommitted) {
  auto outcomes = RunInOneBatch({
      Send(ann_, group_, "a1", "apple pie"),
      Send(ann_, group_, "a2", "banana split"),
      [&](Transaction& tx) {
        auto id = tx.message_by_client_id(ann_, "a2")->id;
        tx.edit_message(id, "cherry tart", {}, 5);
      },
      Send(ann_, group_, "a3", "damson jam"),
      [&](Transaction& tx) { tx.delete_message(tx.message_by_client_id(ann_, "a3")->id, 6); },
      [&](Transaction& tx) {
        Send(ann_, group_, "a-lost", "elderberry wine")(tx);
        throw std::runtime_error("fails after the send");
      },
      Send(bob_, group_, "b1", "fig roll"),
  });
  EXPECT_EQ(error_code_of(outcomes[5]), ErrorCode::kInternal);
  auto a1 = IdOf(ann_, "a1"), a2 = IdOf(ann_, "a2"), b1 = IdOf(bob_, "b1");
  EXPECT_EQ(Found("apple"), (std::vector<storage::MessageId>{a1}));
  EXPECT_EQ(Found("banana"), (std::vector<storage::MessageId>{}));
  EXPECT_EQ(Found("cherry"), (std::vector<storage::MessageId>{a2}));
  EXPECT_EQ(Found("damson"), (std::vector<storage::MessageId>{}));
  EXPECT_EQ(Found("elderberry"), (std::vector<storage::MessageId>{}));
  EXPECT_EQ(Found("fig"), (std::vector<storage::MessageId>{b1}));

  // Once indexed, an edit replaces the words and a deletion removes them.
  RunInOneBatch({[&](Transaction& tx) { tx.edit_message(a1, "grape juice", {}, 7); },
                 [&](Transaction& tx) { tx.delete_message(b1, 8); }, Send(bob_, group_, "b2", "apple crumble")});
  auto b2 = IdOf(bob_, "b2");
  EXPECT_EQ(Found("apple"), (std::vector<storage::MessageId>{b2}));
  EXPECT_EQ(Found("grape"), (std::vector<storage::MessageId>{a1}));
  EXPECT_EQ(Found("fig"), (std::vector<storage::MessageId>{}));
}

// A write's savepoint is opened by its first statement that changes
// anything: what came before only read, and what it changed is undone.
TEST_F(SendBatchTest, AWriteThatFailsIsUndoneWhetherOrNotItChangedAnything) {
  auto outcomes = RunInOneBatch({
      Send(ann_, group_, "a1"),
      [&](Transaction& tx) {
        EXPECT_TRUE(tx.member(group_, bob_).has_value());
        throw std::runtime_error("fails having only read");
      },
      [&](Transaction& tx) {
        EXPECT_TRUE(tx.user_by_id(bob_).has_value());
        tx.set_role(group_, bob_, Role::kAdmin);
        Send(bob_, group_, "b-lost")(tx);
        throw std::runtime_error("fails having written");
      },
      Send(bob_, group_, "b1"),
      [&](Transaction& tx) { EXPECT_EQ(tx.member(group_, bob_)->role, Role::kMember); },
  });
  EXPECT_EQ(error_code_of(outcomes[0]), std::nullopt);
  EXPECT_EQ(error_code_of(outcomes[1]), ErrorCode::kInternal);
  EXPECT_EQ(error_code_of(outcomes[2]), ErrorCode::kInternal);
  EXPECT_EQ(error_code_of(outcomes[3]), std::nullopt);
  EXPECT_EQ(error_code_of(outcomes[4]), std::nullopt);
  EXPECT_EQ(Seqs(group_), (std::vector<storage::Seq>{1, 2}));
  store_->read([&](Transaction& tx) {
    EXPECT_EQ(tx.member(group_, bob_)->role, Role::kMember);
    EXPECT_FALSE(tx.message_by_client_id(bob_, "b-lost").has_value());
  });
}

}  // namespace
}  // namespace parley::messaging
