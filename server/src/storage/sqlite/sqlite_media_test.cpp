// The media tables through the storage interface: blob reference counts kept
// by the triggers, cascades, the attachment guard, quota sums and uploads.
#include <filesystem>

#include <gtest/gtest.h>

#include "storage/sqlite/database.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::storage::sqlite {
namespace {

class SqliteMediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("parley-media-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    Clean();
    store_ = std::make_unique<SqliteStore>(path_, StorageOptions{});
    user_ = store_->write_blocking([](Transaction& tx) { return tx.insert_user({"ann", "x", "Ann", 1})->id; });
  }
  void TearDown() override {
    store_.reset();
    Clean();
  }
  void Clean() {
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  Media MakeMedia(std::string id, std::string sha, std::int64_t size) {
    return Media{std::move(id), user_, std::move(sha), size, "text/plain", "a.txt", std::nullopt, std::nullopt, 5};
  }

  std::filesystem::path path_;
  std::unique_ptr<SqliteStore> store_;
  UserId user_ = 0;
};

TEST_F(SqliteMediaTest, BlobsAreCountedByTheRowsThatNameThem) {
  const std::string sha(64, 'a');
  store_->write_blocking([&](Transaction& tx) {
    tx.insert_media(MakeMedia("m1", sha, 10));
    tx.insert_media(MakeMedia("m2", sha, 10));
    tx.insert_media_thumbnail({"m1", 0, sha, 10, "image/webp", 1, 1, 5});
  });
  store_->read([&](Transaction& tx) {
    EXPECT_TRUE(tx.blob_referenced(sha));
    EXPECT_TRUE(tx.unreferenced_blobs(10).empty());
    EXPECT_EQ(tx.media_usage(user_), 20);
    auto m = tx.media_by_id("m1");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->sha256, sha);
    EXPECT_FALSE(m->width);
  });
  // Deleting m1 cascades to its thumbnail: both references go.
  store_->write_blocking([&](Transaction& tx) { EXPECT_TRUE(tx.delete_media("m1")); });
  store_->read([&](Transaction& tx) { EXPECT_TRUE(tx.blob_referenced(sha)); });
  store_->write_blocking([&](Transaction& tx) {
    EXPECT_FALSE(tx.delete_unreferenced_blob(sha));  // still used by m2
    EXPECT_TRUE(tx.delete_media("m2"));
  });
  store_->read([&](Transaction& tx) {
    EXPECT_FALSE(tx.blob_referenced(sha));
    EXPECT_EQ(tx.unreferenced_blobs(10), std::vector<std::string>{sha});
    EXPECT_EQ(tx.media_usage(user_), 0);
  });
  store_->write_blocking([&](Transaction& tx) { EXPECT_TRUE(tx.delete_unreferenced_blob(sha)); });
  store_->read([&](Transaction& tx) { EXPECT_TRUE(tx.unreferenced_blobs(10).empty()); });
}

TEST_F(SqliteMediaTest, UploadsReserveTheirSizeAndAdvanceOnlyFromTheStoredOffset) {
  store_->write_blocking([&](Transaction& tx) { tx.insert_upload({"u1", user_, "big.bin", 1000, 0, 1, 100}); });
  store_->read([&](Transaction& tx) { EXPECT_EQ(tx.media_usage(user_), 1000); });
  store_->write_blocking([&](Transaction& tx) {
    EXPECT_TRUE(tx.advance_upload("u1", 0, 400, 200));
    EXPECT_FALSE(tx.advance_upload("u1", 0, 500, 200));  // stale offset
  });
  store_->read([&](Transaction& tx) {
    EXPECT_EQ(tx.upload_by_id("u1")->received, 400);
    EXPECT_TRUE(tx.expired_uploads(150, 10).empty());
    EXPECT_EQ(tx.expired_uploads(201, 10).size(), 1u);
    EXPECT_EQ(tx.upload_ids(), std::vector<UploadId>{"u1"});
  });
  store_->write_blocking([&](Transaction& tx) { EXPECT_TRUE(tx.delete_upload("u1")); });
  store_->read([&](Transaction& tx) { EXPECT_EQ(tx.media_usage(user_), 0); });
}

}  // namespace
}  // namespace parley::storage::sqlite
