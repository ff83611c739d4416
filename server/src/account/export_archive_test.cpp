#include "account/export_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace parley::account {
namespace {

namespace fs = std::filesystem;

constexpr const char* kId = "AbCdEfGhIjKlMnOpQrSt-_";

TEST(ArchiveMediaName, KeepsOnlyASafeExtension) {
  EXPECT_EQ(archive_media_name(kId, "photo.JPG"), std::string("media/") + kId + ".jpg");
  EXPECT_EQ(archive_media_name(kId, "archive.tar.gz"), std::string("media/") + kId + ".gz");
  EXPECT_EQ(archive_media_name(kId, "README"), std::string("media/") + kId);
  EXPECT_EQ(archive_media_name(kId, "trailing."), std::string("media/") + kId);
  EXPECT_EQ(archive_media_name(kId, "evil.j/../../x"), std::string("media/") + kId);
  EXPECT_EQ(archive_media_name(kId, "evil.pdf\u202Eexe"), std::string("media/") + kId);
  EXPECT_EQ(archive_media_name(kId, "x.abcdefghijklmnopq"), std::string("media/") + kId);  // 17 characters
  EXPECT_EQ(archive_media_name(kId, "x.abcdefghijklmnop"), std::string("media/") + kId + ".abcdefghijklmnop");
}

TEST(ArchiveMediaName, RefusesAnythingButAMediaId) {
  for (const char* id : {"", "../../../../etc/passwd", "AbCdEfGhIjKlMnOpQrSt/_", "AbCdEfGhIjKlMnOpQrSt-", "..",
                         "AbCdEfGhIjKlMnOpQrSt-_x"}) {
    EXPECT_THROW((void)archive_media_name(id, "a.txt"), std::invalid_argument) << id;
  }
}

class ArchiveWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "parley-archive-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  static std::map<std::string, std::string> entries(const fs::path& path) {
    std::map<std::string, std::string> result;
    struct archive* a = archive_read_new();
    archive_read_support_format_zip(a);
    EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 65536), ARCHIVE_OK);
    struct archive_entry* entry = nullptr;
    while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
      std::string content;
      char buffer[4096];
      la_ssize_t n = 0;
      while ((n = archive_read_data(a, buffer, sizeof buffer)) > 0) content.append(buffer, static_cast<std::size_t>(n));
      result[archive_entry_pathname(entry)] = content;
    }
    archive_read_free(a);
    return result;
  }

  fs::path dir_;
};

TEST_F(ArchiveWriterTest, WritesEntriesAndAManifestOfTheirDigests) {
  fs::path source = dir_ / "big";
  std::string big;
  for (int i = 0; i < 300000; ++i) big += static_cast<char>('a' + i % 26);
  big += std::string(3 << 20, 'z');  // several 1 MiB copy chunks
  std::ofstream(source, std::ios::binary) << big;

  fs::path path = dir_ / "out.zip";
  ArchiveWriter writer(path, 1700000000);
  writer.add_bytes("a.json", "{\"x\":1}");
  writer.add_bytes("empty.json", "");
  writer.add_file("media/big.bin", source);
  auto result = writer.finish(boost::json::object{{"format", "test"}});

  EXPECT_EQ(result.size, static_cast<std::int64_t>(fs::file_size(path)));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);

  auto read = entries(path);
  ASSERT_EQ(read.size(), 4U);
  EXPECT_EQ(read["a.json"], "{\"x\":1}");
  EXPECT_EQ(read["empty.json"], "");
  EXPECT_EQ(read["media/big.bin"], big);
  auto manifest = boost::json::parse(read["manifest.json"]).as_object();
  EXPECT_EQ(manifest.at("format").as_string(), "test");
  const auto& list = manifest.at("entries").as_array();
  ASSERT_EQ(list.size(), 3U);
  EXPECT_EQ(list[0].at("name").as_string(), "a.json");
  // SHA-256 of {"x":1} and of nothing.
  EXPECT_EQ(list[0].at("sha256").as_string(), "5041bf1f713df204784353e82f6a4a535931cb64f1f4b4a5aeaffcb720918b22");
  EXPECT_EQ(list[1].at("sha256").as_string(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(list[2].at("size").as_int64(), static_cast<std::int64_t>(big.size()));
  EXPECT_EQ(writer.entries().size(), 3U);
}

TEST_F(ArchiveWriterTest, AnUnfinishedArchiveIsRemovedAndAnExistingFileIsNeverOverwritten) {
  fs::path path = dir_ / "out.zip";
  {
    ArchiveWriter writer(path, 0);
    writer.add_bytes("a.json", "{}");
    EXPECT_TRUE(fs::exists(path));
  }
  EXPECT_FALSE(fs::exists(path));

  std::ofstream(path) << "keep me";
  EXPECT_THROW(ArchiveWriter(path, 0), std::runtime_error);
  EXPECT_EQ(slurp(path), "keep me");
}

TEST_F(ArchiveWriterTest, AFileShorterThanAnnouncedIsAnError) {
  fs::path source = dir_ / "short";
  std::ofstream(source) << "abc";
  int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ArchiveWriter writer(dir_ / "out.zip", 0);
  EXPECT_THROW(writer.add_fd("short", fd, 10), std::runtime_error);
  ::close(fd);
}

}  // namespace
}  // namespace parley::account
