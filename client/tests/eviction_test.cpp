// The engine keeps the device store under its size limit as history
// arrives (the oldest goes first) and pages evicted history back from the
// server on demand; images arrive thumbnails first, served from the cache
// with the server gone.
#include <fstream>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"
#include "support/media_client.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

// About 3,000 bytes of distinct words (they also fill the FTS index).
std::string long_text(int i) {
  std::string text = "message " + std::to_string(i);
  for (int word = 0; text.size() < 3000; ++word) text += " w" + std::to_string(i * 1000 + word);
  return text;
}

TEST(EvictionTest, LiveHistoryOverTheLimitEvictsTheOldestAndPagingFetchesItAgain) {
  // A rate limit above the test's pace: 300 sends in a row.
  ServerProcess server(ServerOptions{"[websocket]\nframes_per_second = 2000\nframe_burst = 2000\n"
                                     "user_frames_per_second = 2000\nuser_frame_burst = 2000\n",
                                     {}});
  AliceAndBob users(server);
  auto& [http, alice, bob, direct] = users;
  TempDir dir;
  Runtime runtime;
  auto recorder = std::make_shared<Recorder>();
  AccountOptions small;
  small.store_limit_bytes = 1 << 20;  // the smallest limit the engine takes
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder, small);

  // 300 messages of 3,000 bytes (with the FTS index, well over 1 MiB),
  // applied live by the engine one by one.
  WsClient ws(server.port());
  ws.hello(bob.token);
  constexpr int kMessages = 300;
  for (int i = 1; i <= kMessages; ++i) {
    send_text_ok(ws, direct, long_text(i));
  }
  ASSERT_TRUE(recorder->wait_until([&] {
    auto page = account->history(direct, 0, 1);
    return !page.messages.empty() && page.messages.back().seq == kMessages;
  }, 60s));

  // The oldest are gone from the device, the newest are there.
  EXPECT_TRUE(account->history(direct, 2, 1).messages.empty()) << "message 1 was not evicted";
  std::int64_t oldest_kept = kMessages;
  while (oldest_kept > 1) {
    auto page = account->history(direct, oldest_kept, 50);
    if (page.messages.empty() || page.messages.back().seq != oldest_kept - 1) break;
    oldest_kept = page.messages.front().seq;
  }
  EXPECT_GT(oldest_kept, 1);
  EXPECT_LT(oldest_kept, kMessages - 49);  // at least the newest 50 kept
  auto gap = account->history(direct, oldest_kept, 50);
  EXPECT_TRUE(gap.more_on_server);

  // Opening that history again fetches it from the server.
  std::int64_t before = oldest_kept;
  while (before > 1) {
    auto page = await_result<HistoryPage>([&](auto done) { account->load_older(direct, before, done); });
    ASSERT_TRUE(page) << page.error().message;
    ASSERT_FALSE(page.value().messages.empty());
    before = page.value().messages.front().seq;
  }
  auto first = account->history(direct, 2, 1);
  ASSERT_EQ(first.messages.size(), 1u);
  EXPECT_EQ(first.messages.front().seq, 1);
  EXPECT_EQ(first.messages.front().text.substr(0, 10), "message 1 ");

  // The next batch of events enforces the limit again (the change
  // notification comes after the eviction).
  send_text_ok(ws, direct, "one more");
  EXPECT_TRUE(recorder->wait_until([&] {
    auto newest = account->history(direct, 0, 1).messages;
    return !newest.empty() && newest.back().text == "one more" && account->history(direct, 2, 1).messages.empty();
  })) << "the paged-back history was kept over the limit";
}

using ThumbnailTest = TwoDeviceTest;

TEST_F(ThumbnailTest, AnImagesThumbnailIsCachedBeforeTheFileAndServedWithTheServerDown) {

  std::ofstream(dir / "photo.png", std::ios::binary) << kTinyPng;
  auto sent = await_result<std::string>(
      [&](auto done) { bob_account->send_file(direct, dir / "photo.png", "a photo", nullptr, done); });
  ASSERT_TRUE(sent) << sent.error().message;

  // Alice's engine fetches the small thumbnail by itself, not the file
  // (Changes::thumbnails says when it is there).
  MediaId media;
  ASSERT_TRUE(alice_recorder->wait_until([&] {
    for (const auto& message : alice_account->history(direct).messages) {
      if (message.text == "a photo" && !message.attachments.empty()) media = message.attachments.front().id;
    }
    return !media.empty() && alice_account->cached_media(media, Account::Variant::thumbnail_small).has_value();
  }));
  EXPECT_FALSE(alice_account->cached_media(media, Account::Variant::original).has_value());

  // With the server gone, the thumbnail is still there, through download() too.
  server.kill9();
  auto path = await_result<std::filesystem::path>(
      [&](auto done) { alice_account->download(media, Account::Variant::thumbnail_small, nullptr, done); });
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_GT(std::filesystem::file_size(path.value()), 0u);
  auto original = await_result<std::filesystem::path>(
      [&](auto done) { alice_account->download(media, Account::Variant::original, nullptr, done); });
  EXPECT_FALSE(original);  // never fetched: needs the server
}

}  // namespace
}  // namespace parley::test
