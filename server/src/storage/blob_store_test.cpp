#include "storage/blob_store.hpp"

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace parley::storage {
namespace {

namespace fs = std::filesystem;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("parley-blobs-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    store_ = make_local_blob_store(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  StagedFile Staged(const std::string& content) {
    StagedFile file = store_->stage();
    EXPECT_EQ(::write(file.fd(), content.data(), content.size()), static_cast<ssize_t>(content.size()));
    return file;
  }
  std::size_t FilesIn(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) n += entry.is_regular_file() ? 1 : 0;
    return n;
  }

  fs::path root_;
  std::unique_ptr<BlobStore> store_;
};

const std::string kSha(64, 'b');

TEST_F(BlobStoreTest, CommitStoresOnceAndOpensWhatWasWritten) {
  EXPECT_TRUE(store_->commit(Staged("hello"), kSha));
  EXPECT_FALSE(store_->commit(Staged("hello"), kSha));  // identical content: stored once
  EXPECT_EQ(FilesIn(root_ / "blobs"), 1u);
  EXPECT_EQ(FilesIn(root_ / "staging"), 0u);
  auto blob = store_->open(kSha);
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->size, 5);
  EXPECT_TRUE(fs::exists(root_ / "blobs" / "bb" / std::string(62, 'b')));
  EXPECT_TRUE(store_->remove(kSha));
  EXPECT_FALSE(store_->remove(kSha));
  EXPECT_FALSE(store_->open(kSha));
}

TEST_F(BlobStoreTest, NamesThatAreNotDigestsNeverReachTheFileSystem) {
  EXPECT_FALSE(store_->open("../../etc/passwd"));
  EXPECT_FALSE(store_->exists(std::string(64, 'G')));
  EXPECT_THROW(store_->commit(Staged("x"), "../x"), std::invalid_argument);
  EXPECT_EQ(FilesIn(root_ / "staging"), 0u);  // the refused file was discarded
  EXPECT_THROW(store_->open_upload("../x", true), std::invalid_argument);
}

TEST_F(BlobStoreTest, DiscardedAndLeftOverStagedFilesAreRemoved) {
  { StagedFile dropped = Staged("never committed"); }
  EXPECT_EQ(FilesIn(root_ / "staging"), 0u);
  StagedFile left = Staged("as after a crash");
  (void)left.release();  // as if the process died: nobody removes it
  EXPECT_EQ(FilesIn(root_ / "staging"), 1u);
  EXPECT_EQ(make_local_blob_store(root_)->clean_staging(), 1u);
  EXPECT_EQ(FilesIn(root_ / "staging"), 0u);
}

TEST_F(BlobStoreTest, UploadFilesBecomeBlobs) {
  auto fd = store_->open_upload("abc_DEF-1", true);
  ASSERT_TRUE(fd);
  ASSERT_EQ(::write(fd->get(), "part", 4), 4);
  EXPECT_EQ(store_->upload_ids(), std::vector<std::string>{"abc_DEF-1"});
  EXPECT_TRUE(store_->commit_upload("abc_DEF-1", kSha));
  EXPECT_TRUE(store_->upload_ids().empty());
  EXPECT_EQ(store_->open(kSha)->size, 4);
  EXPECT_FALSE(store_->open_upload("abc_DEF-1", false));
}

}  // namespace
}  // namespace parley::storage
