// Using media through the storage interface (migration 0006): who a file is
// shared with, attachments loaded and purged with their message, and the
// orphan list the triggers keep.
#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "storage/sqlite/attachment_queries.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::storage::sqlite {
namespace {

class SqliteAttachmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("parley-attach-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Clean();
    store_ = std::make_unique<SqliteStore>(path_, StorageOptions{});
    store_->write_blocking([&](Transaction& tx) {
      ann_ = tx.insert_user({"ann", "x", "Ann", 1})->id;
      bob_ = tx.insert_user({"bob", "x", "Bob", 1})->id;
      eve_ = tx.insert_user({"eve", "x", "Eve", 1})->id;
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
  void AddMedia(const std::string& id, UnixMillis created_at = 5) {
    store_->write_blocking([&](Transaction& tx) {
      tx.insert_media(Media{id, ann_, std::string(64, 'a'), 10, "image/png", id + ".png", 4, 3, created_at});
    });
  }
  MessageId Send(const std::string& client_id, std::vector<std::string> files) {
    return store_->write_blocking([&](Transaction& tx) {
      NewMessage message;
      message.conversation_id = group_;
      message.sender_id = ann_;
      message.client_id = client_id;
      message.body = "look";
      message.attachments = std::move(files);
      message.created_at = 10;
      return tx.insert_message(message, tx.next_position()).id;
    });
  }
  bool Shared(const std::string& id, UserId user) {
    return store_->read([&](Transaction& tx) { return tx.media_shared_with(id, user); });
  }
  std::vector<MediaId> Orphans() {
    return store_->read([&](Transaction& tx) { return tx.orphaned_media(now_millis() + 1000, 100); });
  }

  std::filesystem::path path_;
  std::unique_ptr<SqliteStore> store_;
  UserId ann_ = 0, bob_ = 0, eve_ = 0;
  ConversationId group_ = 0;
};

TEST_F(SqliteAttachmentsTest, AttachmentsComeWithTheMessageInOrderAndGoWithItsDeletion) {
  AddMedia("m1");
  AddMedia("m2");
  auto id = Send("c1", {"m2", "m1"});
  auto message = store_->read([&](Transaction& tx) { return *tx.message_by_id(id); });
  ASSERT_EQ(message.attachments.size(), 2u);
  EXPECT_EQ(message.attachments[0].media_id, "m2");
  EXPECT_EQ(message.attachments[0].name, "m2.png");
  EXPECT_EQ(message.attachments[0].width, 4);
  EXPECT_EQ(message.attachments[1].media_id, "m1");
  // A message without attachments has none (and loads none).
  auto plain = Send("c2", {});
  EXPECT_TRUE(store_->read([&](Transaction& tx) { return tx.message_by_id(plain)->attachments.empty(); }));

  store_->write_blocking([&](Transaction& tx) { tx.delete_message(id, 20); });
  store_->read([&](Transaction& tx) {
    EXPECT_TRUE(tx.message_by_id(id)->attachments.empty());
    EXPECT_EQ(tx.media_references("m1"), 0);
  });
}

TEST_F(SqliteAttachmentsTest, MembersAndFormerMembersReadWhatWasPostedWhileTheyWereMembers) {
  AddMedia("before");
  AddMedia("after");
  Send("c1", {"before"});
  EXPECT_TRUE(Shared("before", bob_));
  EXPECT_FALSE(Shared("before", eve_));  // never a member
  store_->write_blocking([&](Transaction& tx) { tx.delete_member(group_, bob_); });
  Send("c2", {"after"});
  EXPECT_TRUE(Shared("before", bob_));  // posted while a member: kept
  EXPECT_FALSE(Shared("after", bob_));  // posted after the removal
  // A member who joins later sees the whole history, as the history route shows it.
  store_->write_blocking([&](Transaction& tx) {
    tx.insert_member({group_, eve_, Role::kMember, 1, tx.next_position(), 0, 0});
  });
  EXPECT_TRUE(Shared("before", eve_));
  EXPECT_TRUE(Shared("after", eve_));
}

TEST_F(SqliteAttachmentsTest, ADeletedMessageNoLongerSharesItsFiles) {
  AddMedia("m1");
  auto id = Send("c1", {"m1"});
  ASSERT_TRUE(Shared("m1", bob_));
  store_->write_blocking([&](Transaction& tx) { tx.delete_message(id, 20); });
  EXPECT_FALSE(Shared("m1", bob_));
}

TEST_F(SqliteAttachmentsTest, AvatarsAreSharedWithWhoeverMaySeeTheProfileOrGroup) {
  AddMedia("face");
  AddMedia("logo");
  EXPECT_FALSE(Shared("face", eve_));
  store_->write_blocking([&](Transaction& tx) {
    ProfilePatch patch;
    patch.avatar_media_id = std::optional<std::string>("face");
    tx.update_user(ann_, patch);
    tx.set_conversation_avatar(group_, "logo");
  });
  EXPECT_TRUE(Shared("face", eve_));   // profiles are public to signed-in users
  EXPECT_TRUE(Shared("logo", bob_));   // a member of the group
  EXPECT_FALSE(Shared("logo", eve_));  // not a member
  EXPECT_EQ(store_->read([&](Transaction& tx) { return tx.conversation_by_id(group_)->avatar_media_id; }), "logo");
  // A file its owner deletes stops being an avatar anywhere.
  store_->write_blocking([&](Transaction& tx) {
    EXPECT_TRUE(tx.delete_media("face"));
    EXPECT_TRUE(tx.delete_media("logo"));
  });
  store_->read([&](Transaction& tx) {
    EXPECT_FALSE(tx.user_by_id(ann_)->avatar_media_id);
    EXPECT_FALSE(tx.conversation_by_id(group_)->avatar_media_id);
  });
}

TEST_F(SqliteAttachmentsTest, TheTriggersKeepTheOrphanListAndTheSweepDeletesOnlyOrphans) {
  AddMedia("kept");
  AddMedia("loose");
  AddMedia("face");
  EXPECT_EQ(Orphans().size(), 3u);  // fresh uploads: nothing refers to them yet
  auto id = Send("c1", {"kept"});
  store_->write_blocking([&](Transaction& tx) {
    ProfilePatch patch;
    patch.avatar_media_id = std::optional<std::string>("face");
    tx.update_user(ann_, patch);
  });
  EXPECT_EQ(Orphans(), std::vector<MediaId>{"loose"});

  auto far_future = now_millis() + 1000;
  store_->write_blocking([&](Transaction& tx) {
    EXPECT_FALSE(tx.delete_orphaned_media("kept", far_future));  // referenced
    EXPECT_FALSE(tx.delete_orphaned_media("loose", 5));          // not orphaned long enough
    EXPECT_TRUE(tx.delete_orphaned_media("loose", far_future));
  });
  store_->read([&](Transaction& tx) {
    EXPECT_FALSE(tx.media_by_id("loose"));
    EXPECT_TRUE(tx.media_by_id("kept"));
  });

  // Losing the last reference makes a file an orphan again, from now.
  auto before = now_millis();
  store_->write_blocking([&](Transaction& tx) {
    tx.delete_message(id, 20);
    ProfilePatch patch;
    patch.avatar_media_id = std::optional<std::string>();
    tx.update_user(ann_, patch);
  });
  auto orphans = Orphans();
  std::sort(orphans.begin(), orphans.end());
  EXPECT_EQ(orphans, (std::vector<MediaId>{"face", "kept"}));
  store_->read([&](Transaction& tx) { EXPECT_TRUE(tx.orphaned_media(before - 1000, 100).empty()); });
}

// The access check must stay cheap however large the tables grow: every
// table it reads is searched through an index, none scanned.
TEST_F(SqliteAttachmentsTest, WhoMayReadIsOneStatementThatScansNoTable) {
  Connection db(path_);
  Statement& plan = db.prepare("EXPLAIN QUERY PLAN " + std::string(kMediaSharedWithSql));
  plan.bind(1, std::string_view("m1")).bind(2, bob_);
  std::vector<std::string> steps;
  while (plan.step()) steps.push_back(plan.text(3));
  ASSERT_FALSE(steps.empty());
  for (const auto& step : steps) {
    if (step.starts_with("SCAN")) {
      EXPECT_EQ(step, "SCAN CONSTANT ROW") << "a table is scanned";
    }
  }
  // Each source of access is searched by the media id or the reader.
  auto searched = [&](std::string_view what) {
    return std::any_of(steps.begin(), steps.end(),
                       [&](const std::string& step) { return step.find(what) != std::string::npos; });
  };
  EXPECT_TRUE(searched("users_by_avatar"));
  EXPECT_TRUE(searched("conversations_by_avatar"));
  EXPECT_TRUE(searched("message_attachments_by_media"));
  EXPECT_TRUE(searched("SEARCH p USING PRIMARY KEY (user_id=? AND conversation_id=?"));
}

}  // namespace
}  // namespace parley::storage::sqlite
