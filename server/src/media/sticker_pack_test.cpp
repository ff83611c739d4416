#include "media/sticker_pack.hpp"

#include <gtest/gtest.h>

#include "media/test_images.hpp"

namespace parley::media {
namespace {

using testing::TempDir;

// A folder with two valid stickers; each test writes its own pack.toml.
class StickerPackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::save(testing::make_image(128, 128, 4), dir_ / "a.png");
    testing::save(testing::make_image(64, 64, 4), dir_ / "b.webp");
  }

  void manifest(const std::string& text) { testing::write_bytes(dir_ / "pack.toml", text); }

  // The error load_sticker_pack reports, or "" when it loads.
  std::string error() {
    try {
      (void)load_sticker_pack(dir_.path());
      return "";
    } catch (const StickerPackError& e) {
      return e.what();
    }
  }

  TempDir dir_;
};

const std::string kHeader = "name = \"my-pack\"\ntitle = \"My pack\"\n";
const std::string kA = "[[sticker]]\nfile = \"a.png\"\nemoji = \"\xf0\x9f\x98\x80\"\n";
const std::string kB = "[[sticker]]\nfile = \"b.webp\"\nemoji = \"\xf0\x9f\x91\x8d\"\n";

std::string sticker(const std::string& file, const std::string& emoji = "\xf0\x9f\x98\x80") {
  return "[[sticker]]\nfile = \"" + file + "\"\nemoji = \"" + emoji + "\"\n";
}

TEST_F(StickerPackTest, LoadsAValidPack) {
  manifest(kHeader + kA + kB);
  const StickerPack pack = load_sticker_pack(dir_.path());
  EXPECT_EQ(pack.name, "my-pack");
  EXPECT_EQ(pack.title, "My pack");
  ASSERT_EQ(pack.items.size(), 2u);
  EXPECT_EQ(pack.items[0].file, dir_ / "a.png");
  EXPECT_EQ(pack.items[0].emoji, "\xf0\x9f\x98\x80");
  EXPECT_EQ(pack.items[1].file, dir_ / "b.webp");
}

TEST_F(StickerPackTest, RefusesHostileManifests) {
  struct Case {
    std::string manifest;
    std::string error;  // a part of the expected message
  };
  const std::vector<Case> cases = {
      {"name = \"x\"\ntitle = ", "pack.toml"},  // TOML syntax error
      {"title = \"T\"\n" + kA, "'name'"},
      {"name = \"Bad Name\"\ntitle = \"T\"\n" + kA, "'name'"},
      {"name = \"../x\"\ntitle = \"T\"\n" + kA, "'name'"},
      {"name = \"-x\"\ntitle = \"T\"\n" + kA, "'name'"},
      {"name = \"" + std::string(65, 'a') + "\"\ntitle = \"T\"\n" + kA, "'name'"},
      {"name = 7\ntitle = \"T\"\n" + kA, "'name'"},
      {"name = \"p\"\ntitle = \"\"\n" + kA, "'title'"},
      {"name = \"p\"\ntitle = \"" + std::string(65, 't') + "\"\n" + kA, "'title'"},
      {"name = \"p\"\ntitle = \"evil\\u202Eexe\"\n" + kA, "'title'"},
      {"name = \"p\"\ntitle = \"bell\\u0007\"\n" + kA, "'title'"},
      {kHeader + "admin = true\n" + kA, "unknown key 'admin'"},
      {kHeader, "no [[sticker]]"},
      {kHeader + "sticker = [\"a.png\"]\n", "not a table"},
      {kHeader + "[[sticker]]\nfile = \"a.png\"\nemoji = \"\xf0\x9f\x98\x80\"\npath = \"/etc\"\n",
       "unknown key 'path'"},
      {kHeader + sticker("../a.png"), "plain file name"},
      {kHeader + sticker("/etc/passwd"), "plain file name"},
      {kHeader + sticker("sub/a.png"), "plain file name"},
      {kHeader + sticker("..\\\\a.png"), "plain file name"},
      {kHeader + sticker(".hidden.png"), "plain file name"},
      {kHeader + sticker("a.svg"), "plain file name"},
      {kHeader + sticker("a.png\\u0000.txt"), "plain file name"},
      {kHeader + sticker("missing.png"), "does not exist"},
      {kHeader + kA + kA, "listed twice"},
      {kHeader + sticker("a.png", ""), "'emoji'"},
      {kHeader + sticker("a.png", "smile"), "'emoji'"},
      {kHeader + sticker("a.png", "\xf0\x9f\x98\x80 "), "'emoji'"},
      {kHeader + sticker("a.png",
                         "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                         "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"),
       "'emoji'"},
  };
  for (const Case& c : cases) {
    manifest(c.manifest);
    const std::string message = error();
    EXPECT_NE(message.find(c.error), std::string::npos) << "manifest:\n" << c.manifest << "\ngot: " << message;
  }
}

TEST_F(StickerPackTest, RefusesSymlinksAndNonFiles) {
  testing::write_bytes(dir_.path().parent_path() / (dir_.path().filename().string() + "-outside.png"),
                       testing::read_bytes(dir_ / "a.png"));
  std::filesystem::create_symlink(dir_.path().parent_path() / (dir_.path().filename().string() + "-outside.png"),
                                  dir_ / "link.png");
  std::filesystem::create_directory(dir_ / "folder.png");
  manifest(kHeader + sticker("link.png"));
  EXPECT_NE(error().find("symlinks are refused"), std::string::npos);
  manifest(kHeader + sticker("folder.png"));
  EXPECT_NE(error().find("not a regular file"), std::string::npos);
  std::filesystem::remove(dir_.path().parent_path() / (dir_.path().filename().string() + "-outside.png"));

  // The manifest itself may not be a symlink either.
  testing::write_bytes(dir_ / "real.toml", kHeader + kA);
  std::filesystem::remove(dir_ / "pack.toml");
  std::filesystem::create_symlink(dir_ / "real.toml", dir_ / "pack.toml");
  EXPECT_NE(error().find("symlinks are refused"), std::string::npos);
}

TEST_F(StickerPackTest, RefusesBadImages) {
  testing::write_bytes(dir_ / "text.png", "not an image at all\n");
  testing::write_bytes(dir_ / "bomb.png", testing::png_claiming(100000, 100000));
  testing::save(testing::make_image(2000, 10, 4), dir_ / "wide.png");
  testing::save(testing::make_image(64, 64), dir_ / "photo.jpg");
  std::filesystem::copy_file(dir_ / "photo.jpg", dir_ / "photo.png");  // a JPEG named .png
  testing::write_bytes(dir_ / "huge.png", std::string(kMaxStickerBytes + 1, 'x'));

  manifest(kHeader + sticker("text.png"));
  EXPECT_NE(error().find("not an image"), std::string::npos) << error();
  manifest(kHeader + sticker("bomb.png"));
  EXPECT_NE(error().find("too many pixels"), std::string::npos) << error();
  manifest(kHeader + sticker("wide.png"));
  EXPECT_NE(error().find("larger than 1024"), std::string::npos) << error();
  manifest(kHeader + sticker("photo.png"));
  EXPECT_NE(error().find("not a PNG or WebP"), std::string::npos) << error();
  manifest(kHeader + sticker("huge.png"));
  EXPECT_NE(error().find("larger than 512 KiB"), std::string::npos) << error();
}

TEST_F(StickerPackTest, RefusesTooManyStickersAndHugeManifests) {
  std::string many = kHeader;
  for (std::size_t i = 0; i <= kMaxStickers; ++i) {
    const std::string name = "s" + std::to_string(i) + ".png";
    std::filesystem::copy_file(dir_ / "a.png", dir_ / name);
    many += sticker(name);
  }
  manifest(many);
  EXPECT_NE(error().find("more than 120"), std::string::npos) << error();

  manifest(kHeader + kA + "# " + std::string(kMaxManifestBytes, 'x') + "\n");
  EXPECT_NE(error().find("larger than 64 KiB"), std::string::npos) << error();
}

TEST_F(StickerPackTest, MissingManifestOrFolder) {
  EXPECT_NE(error().find("missing"), std::string::npos);
  EXPECT_THROW((void)load_sticker_pack(dir_ / "nowhere"), StickerPackError);
}

TEST(DefaultStickerPack, ShipsAValidPack) {
  const StickerPack pack = load_sticker_pack(std::filesystem::path(PARLEY_SOURCE_DIR) / "server/stickers/default");
  EXPECT_EQ(pack.name, "parley-default");
  EXPECT_EQ(pack.items.size(), 12u);
}

}  // namespace
}  // namespace parley::media
