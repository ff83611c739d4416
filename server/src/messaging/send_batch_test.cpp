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
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::messaging {
namespace {

using storage::ConversationId;
using storage::ConversationKind;
using storage::Role;
using storage::Transaction;
using storage::UserId;

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

  std::function<void(Transaction&)> Send(UserId sender, ConversationId conversation, std::string client_id) {
    return [=](Transaction& tx) {
      SendRequest request;
      request.conversation_id = conversation;
      request.client_id = client_id;
      request.text = "hello " + client_id;
      send(tx, sender, request);
    };
  }

  static std::optional<ErrorCode> Code(const std::exception_ptr& error) {
    if (!error) return std::nullopt;
    try {
      std::rethrow_exception(error);
    } catch (const ApiError& e) {
      return e.code();
    } catch (...) {
      return ErrorCode::kInternal;
    }
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
  EXPECT_EQ(Code(outcomes[0]), std::nullopt);
  EXPECT_EQ(Code(outcomes[2]), ErrorCode::kNotFound);
  EXPECT_EQ(Code(outcomes[4]), std::nullopt);
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
  EXPECT_EQ(Code(outcomes[0]), std::nullopt);
  EXPECT_EQ(Code(outcomes[2]), ErrorCode::kBlocked);
  EXPECT_EQ(Code(outcomes[3]), ErrorCode::kBlocked);
  EXPECT_EQ(Code(outcomes[6]), ErrorCode::kBlocked);
  EXPECT_EQ(Code(outcomes[8]), std::nullopt);
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
  EXPECT_EQ(Code(outcomes[1]), ErrorCode::kInternal);
  EXPECT_EQ(Code(outcomes[2]), std::nullopt);
  EXPECT_EQ(Code(outcomes[3]), ErrorCode::kInternal);
  EXPECT_EQ(Code(outcomes[4]), std::nullopt);
  EXPECT_EQ(Code(outcomes[5]), std::nullopt);
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
  EXPECT_EQ(Code(outcomes[2]), ErrorCode::kConflict);
  ASSERT_TRUE(first && retry);
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->message.id, first->message.id);
  EXPECT_EQ(Seqs(group_), (std::vector<storage::Seq>{1}));
}

}  // namespace
}  // namespace parley::messaging
