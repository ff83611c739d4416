// Importing sticker packs into a real SQLite store and a local blob store:
// hostile packs are refused whole (nothing recorded, no blob left), a good
// pack's bytes are stored as given, re-imports update in place, and the
// default pack is installed once.
#include "stickers/sticker_import.hpp"

#include <gtest/gtest.h>

#include "media/sticker_pack.hpp"
#include "media/test_images.hpp"
#include "stickers/default_pack.hpp"
#include "storage/blob_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::stickers {
namespace {

namespace fs = std::filesystem;
using media::testing::TempDir;
using storage::Transaction;

const std::string kSmile = "\xf0\x9f\x98\x80";

std::string sticker(const std::string& file, const std::string& emoji = kSmile) {
  return "[[sticker]]\nfile = \"" + file + "\"\nemoji = \"" + emoji + "\"\n";
}

class StickerImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    media::testing::save(media::testing::make_image(128, 128, 4), pack_ / "a.png");
    media::testing::save(media::testing::make_image(64, 32, 4), pack_ / "b.webp");
    store_ = std::make_unique<storage::sqlite::SqliteStore>(data_ / "parley.db", StorageOptions{});
    blobs_ = storage::make_local_blob_store(data_ / "media");
  }

  void manifest(const std::string& stickers, const std::string& name = "my-pack") {
    media::testing::write_bytes(pack_ / "pack.toml", "name = \"" + name + "\"\ntitle = \"My pack\"\n" + stickers);
  }

  // The error the import reports, or "" when it succeeds.
  std::string import_error() {
    try {
      (void)import_sticker_pack(*store_, *blobs_, pack_.path());
      return "";
    } catch (const media::StickerPackError& e) {
      return e.what();
    }
  }

  // Regular files under the blob store (blobs and staging).
  std::size_t blob_files() {
    std::size_t n = 0;
    for (const auto& entry : fs::recursive_directory_iterator(data_ / "media")) n += entry.is_regular_file() ? 1 : 0;
    return n;
  }

  std::size_t pack_rows() {
    return store_->read([](Transaction& tx) { return tx.sticker_pack_by_name("my-pack").has_value() ? 1U : 0U; });
  }

  TempDir data_;
  TempDir pack_;
  std::unique_ptr<storage::sqlite::SqliteStore> store_;
  std::unique_ptr<storage::BlobStore> blobs_;
};

TEST_F(StickerImportTest, StoresTheImagesAsGivenAndRecordsThePack) {
  manifest(sticker("a.png") + sticker("b.webp", "\xf0\x9f\x91\x8d"));
  auto result = import_sticker_pack(*store_, *blobs_, pack_.path());
  EXPECT_FALSE(result.updated);
  EXPECT_EQ(result.stickers, 2U);
  auto stickers = store_->read([&](Transaction& tx) { return tx.stickers_of(result.pack.id); });
  ASSERT_EQ(stickers.size(), 2U);
  EXPECT_EQ(stickers[0].content_type, "image/png");
  EXPECT_EQ(stickers[0].width, 128);
  EXPECT_EQ(stickers[1].content_type, "image/webp");
  EXPECT_EQ(stickers[1].width, 64);
  EXPECT_EQ(stickers[1].height, 32);
  EXPECT_EQ(stickers[1].emoji, "\xf0\x9f\x91\x8d");
  auto blob = blobs_->local_path(stickers[0].sha256);
  ASSERT_TRUE(blob);
  EXPECT_EQ(media::testing::read_bytes(*blob), media::testing::read_bytes(pack_ / "a.png"));
  // The images count as references: the blob sweeper keeps them.
  EXPECT_TRUE(store_->read([&](Transaction& tx) { return tx.blob_referenced(stickers[0].sha256); }));
}

TEST_F(StickerImportTest, HostilePacksAreRefusedWholeAndLeaveNothing) {
  // Each case: what to do to the folder, the manifest, a part of the error.
  struct Case {
    std::string what;
    std::function<void()> prepare;
    std::string stickers;
    std::string error;
  };
  const fs::path outside = data_ / "outside.png";
  media::testing::save(media::testing::make_image(16, 16, 4), outside);
  std::string many;
  for (int i = 0; i <= 120; ++i) many += sticker("a.png");
  const std::vector<Case> cases = {
      {"path escape", [] {}, sticker("a.png") + sticker("../outside.png"), "sticker 2: 'file' must be a plain"},
      {"absolute path", [] {}, sticker("a.png") + sticker(outside.string()), "sticker 2: 'file' must be a plain"},
      {"symlink", [&] { fs::create_symlink(outside, pack_ / "link.png"); }, sticker("a.png") + sticker("link.png"),
       "symlinks are refused"},
      {"not an image", [&] { media::testing::write_bytes(pack_ / "text.png", "<svg onload=alert(1)>"); },
       sticker("a.png") + sticker("text.png"), "text.png"},
      {"decompression bomb",
       [&] { media::testing::write_bytes(pack_ / "bomb.png", media::testing::png_claiming(100000, 100000)); },
       sticker("a.png") + sticker("bomb.png"), "'bomb.png': "},
      {"too many items", [] {}, many, "more than 120 stickers"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    c.prepare();
    manifest(c.stickers);
    std::string error = import_error();
    EXPECT_NE(error.find(c.error), std::string::npos) << error;
    EXPECT_EQ(pack_rows(), 0U);
    EXPECT_EQ(blob_files(), 0U);
  }
}

TEST_F(StickerImportTest, ReimportUpdatesInPlaceAndKeepsStickersThatMessagesCarry) {
  manifest(sticker("a.png") + sticker("b.webp"));
  auto first = import_sticker_pack(*store_, *blobs_, pack_.path());
  auto old = store_->read([&](Transaction& tx) { return tx.stickers_of(first.pack.id); });
  ASSERT_EQ(old.size(), 2U);
  // A message carries the first sticker.
  store_->write_blocking([&](Transaction& tx) {
    auto user = tx.insert_user({"ann", "x", "Ann", 1})->id;
    auto conversation = tx.insert_conversation(storage::ConversationKind::kGroup, "g", "", std::nullopt, user, 1);
    storage::NewMessage message;
    message.conversation_id = conversation.id;
    message.sender_id = user;
    message.client_id = "c1";
    message.sticker_id = old[0].id;
    (void)tx.insert_message(message, tx.next_position());
  });
  ASSERT_TRUE(store_->write_blocking([](Transaction& tx) { return tx.remove_sticker_pack("my-pack", 5); }));

  manifest(sticker("b.webp"));
  auto second = import_sticker_pack(*store_, *blobs_, pack_.path());
  EXPECT_TRUE(second.updated);
  EXPECT_EQ(second.pack.id, first.pack.id);
  EXPECT_FALSE(second.pack.removed_at);
  auto now = store_->read([&](Transaction& tx) { return tx.stickers_of(first.pack.id); });
  ASSERT_EQ(now.size(), 1U);
  EXPECT_EQ(now[0].content_type, "image/webp");
  auto kept = store_->read([&](Transaction& tx) { return tx.sticker_by_id(old[0].id); });
  ASSERT_TRUE(kept);  // a message carries it: kept, but not available
  EXPECT_FALSE(kept->available);
  EXPECT_FALSE(store_->read([&](Transaction& tx) { return tx.sticker_by_id(old[1].id); }));
}

TEST_F(StickerImportTest, TheDefaultPackIsInstalledOnceAndStaysRemoved) {
  // What an install that crashed midway left behind goes too.
  fs::create_directories(data_ / "tmp" / "default-stickers-abc123");
  media::testing::write_bytes(data_ / "tmp" / "default-stickers-abc123" / "pack.toml", "x");
  EXPECT_TRUE(install_default_pack(*store_, *blobs_, data_ / "tmp"));
  EXPECT_TRUE(fs::is_empty(data_ / "tmp"));
  auto packs = store_->read([](Transaction& tx) { return tx.sticker_packs(); });
  ASSERT_EQ(packs.size(), 1U);
  EXPECT_EQ(packs[0].pack.name, kDefaultPackName);
  EXPECT_EQ(packs[0].count, 12U);
  EXPECT_FALSE(install_default_pack(*store_, *blobs_, data_ / "tmp"));
  ASSERT_TRUE(store_->write_blocking([](Transaction& tx) { return tx.remove_sticker_pack(kDefaultPackName, 9); }));
  EXPECT_FALSE(install_default_pack(*store_, *blobs_, data_ / "tmp"));
  EXPECT_TRUE(store_->read([](Transaction& tx) { return tx.sticker_packs(); }).empty());
  // Nothing left in the scratch folder.
  EXPECT_TRUE(fs::is_empty(data_ / "tmp"));
}

TEST(DefaultStickerPackFiles, AreEmbeddedAndNamedAsTheConstantSays) {
  auto files = default_pack_files();
  ASSERT_FALSE(files.empty());
  TempDir dir;
  for (const auto& file : files) media::testing::write_bytes(dir / std::string(file.name), std::string(file.bytes));
  EXPECT_EQ(media::load_sticker_pack(dir.path()).name, kDefaultPackName);
}

}  // namespace
}  // namespace parley::stickers
