// The WAL stays bounded under steady writes. A PASSIVE checkpoint running
// beside a writer that never pauses never copies the whole WAL, so without
// a RESTART the WAL only grows (sqlite_store.cpp, checkpoint_loop()).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <semaphore>
#include <string>

#include <gtest/gtest.h>

#include "messaging/messages.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::storage::sqlite {
namespace {

class WalSizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("parley-walsize-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".db");
    Clean();
  }
  void TearDown() override { Clean(); }
  void Clean() {
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  std::uintmax_t WalBytes() const { return std::filesystem::file_size(path_.string() + "-wal"); }

  std::filesystem::path path_;
};

TEST_F(WalSizeTest, StaysBoundedWhileTheWriterNeverPauses) {
  // NORMAL: no fdatasync per commit, so that many commits take little time;
  // the checkpoints are the same.
  StorageOptions options;
  options.sqlite_synchronous = SqliteSynchronous::kNormal;
  SqliteStore store(path_, options, nullptr);
  UserId ann = 0;
  ConversationId group = 0;
  store.write_blocking([&](Transaction& tx) {
    ann = tx.insert_user({"ann", "x", "Ann", 1})->id;
    group = tx.insert_conversation(ConversationKind::kGroup, "g", "", std::nullopt, ann, 1).id;
    tx.insert_member({group, ann, Role::kOwner, 1, tx.next_position(), 0, 0});
  });

  // Writes are queued ahead of the writer so that it always has the next
  // batch waiting: it never pauses between commits.
  std::counting_semaphore<> in_flight(64);
  int sent = 0;
  auto send_for = [&](std::chrono::steady_clock::duration duration) {
    auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until) {
      ++sent;
      in_flight.acquire();
      store.submit_write(
          [&, n = sent](Transaction& tx) {
            messaging::SendRequest request;
            request.conversation_id = group;
            request.client_id = "m" + std::to_string(n);
            request.text = "message number " + std::to_string(n) + " with a few words to index";
            messaging::send(tx, ann, request);
          },
          [&](std::exception_ptr error) {
            EXPECT_EQ(error, nullptr);
            in_flight.release();
          });
    }
    for (int i = 0; i < 64; ++i) in_flight.acquire();
    in_flight.release(64);
  };

  // Checkpoint cycles (one per MiB written, or a second), then as many
  // again: a WAL that starts over stays the size of a cycle, one that does
  // not keeps every frame written and doubles.
  send_for(std::chrono::seconds(2));
  std::uintmax_t after_first = WalBytes();
  send_for(std::chrono::seconds(2));
  std::uintmax_t after_second = WalBytes();
  EXPECT_LT(after_second, after_first + after_first / 2)
      << "WAL grew from " << after_first << " to " << after_second << " bytes";
  EXPECT_LT(after_second, std::uintmax_t{64} << 20);
}

}  // namespace
}  // namespace parley::storage::sqlite
