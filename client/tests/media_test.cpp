// Files: upload with progress through resumable uploads, download into the
// cache, the cache's size limit (least recently used first), and cached
// files served without the network.
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace parley::test {
namespace {

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(random() & 0xff);
  return bytes;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Bob's device keeps a small media cache.
class MediaTest : public TwoDeviceTest {
 protected:
  MediaTest() : TwoDeviceTest({}, {}, small_cache()) {}
  static AccountOptions small_cache() {
    AccountOptions options;
    options.media_cache_limit_bytes = 100'000;
    return options;
  }
};

TEST_F(MediaTest, UploadsWithProgressAndTheCacheKeepsToItsLimitLeastRecentlyUsedFirst) {

  // Three files of 40 kB and one of 600 kB (three upload parts).
  std::vector<std::string> contents;
  for (unsigned i = 0; i < 3; ++i) contents.push_back(random_bytes(40'000, i));
  contents.push_back(random_bytes(600'000, 9));
  for (std::size_t i = 0; i < contents.size(); ++i) {
    const auto path = dir / ("file" + std::to_string(i) + ".bin");
    std::ofstream(path, std::ios::binary) << contents[i];
    std::vector<Progress> progress;
    std::mutex mutex;
    auto sent = await_result<std::string>([&](auto done) {
      alice_account->send_file(direct, path, i == 0 ? "the first file" : "", [&](Progress p) {
        std::lock_guard lock(mutex);
        progress.push_back(p);
      }, done);
    });
    ASSERT_TRUE(sent) << sent.error().message;
    std::lock_guard lock(mutex);
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back().done, static_cast<std::int64_t>(contents[i].size()));
    EXPECT_EQ(progress.back().total, static_cast<std::int64_t>(contents[i].size()));
    if (i == 3) {
      EXPECT_GE(progress.size(), 3u);  // one report per part
    }
  }
  ASSERT_TRUE(bob_recorder->wait_until([&] { return bob_account->history(direct).messages.size() == 4; }));
  const auto messages = bob_account->history(direct).messages;
  EXPECT_EQ(messages[0].text, "the first file");
  std::vector<MediaId> ids;
  for (const auto& message : messages) {
    ASSERT_EQ(message.attachments.size(), 1u);
    ids.push_back(message.attachments[0].id);
  }

  const auto download = [&](std::size_t i) {
    return await_result<std::filesystem::path>([&](auto done) {
      bob_account->download(ids[i], Account::Variant::original, nullptr, done);
    });
  };
  for (std::size_t i = 0; i < 3; ++i) {
    auto path = download(i);
    ASSERT_TRUE(path) << path.error().message;
    EXPECT_EQ(read_all(path.value()), contents[i]);
  }
  // 3 × 40 kB does not fit in 100 kB: the least recently used went.
  EXPECT_LE(bob_account->media_cache_bytes(), 100'000);
  EXPECT_FALSE(bob_account->cached_media(ids[0], Account::Variant::original));
  EXPECT_TRUE(bob_account->cached_media(ids[1], Account::Variant::original));
  // Using the second makes the third the oldest: fetching the first again evicts the third.
  ASSERT_TRUE(bob_account->cached_media(ids[1], Account::Variant::original));
  ASSERT_TRUE(download(0));
  EXPECT_TRUE(bob_account->cached_media(ids[0], Account::Variant::original));
  EXPECT_TRUE(bob_account->cached_media(ids[1], Account::Variant::original));
  EXPECT_FALSE(bob_account->cached_media(ids[2], Account::Variant::original));
  // A file over the whole limit is handed over but not kept.
  auto big = download(3);
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(read_all(big.value()), contents[3]);
  EXPECT_FALSE(bob_account->cached_media(ids[3], Account::Variant::original));
  EXPECT_LE(bob_account->media_cache_bytes(), 100'000);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "bob" / "media")) {
    if (entry.path().extension() == ".original") ++files;
  }
  EXPECT_EQ(files, 2u);

  // Without the server: cached files are served, others fail cleanly.
  server.kill9();
  auto cached = download(1);
  ASSERT_TRUE(cached) << cached.error().message;
  EXPECT_EQ(read_all(cached.value()), contents[1]);
  auto missing = download(2);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::network);
  // A media id that is not one never reaches the file system.
  auto bad = await_result<std::filesystem::path>([&](auto done) {
    bob_account->download("../../etc/passwd-xxxxxx", Account::Variant::original, nullptr, done);
  });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace parley::test
