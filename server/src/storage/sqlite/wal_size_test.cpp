// The WAL stays bounded under steady writes. A PASSIVE checkpoint running
// beside a writer that never pauses never copies the whole WAL, so without
// a RESTART the WAL only grows (sqlite_store.cpp, checkpoint_loop()).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
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
  // The WAL header's checkpoint sequence number (bytes 12-15, big-endian):
  // SQLite adds one each time the WAL starts over from its first frame.
  std::uint32_t WalCheckpointSequence() const {
    std::ifstream wal(path_.string() + "-wal", std::ios::binary);
    unsigned char header[16] = {};
    wal.read(reinterpret_cast<char*>(header), sizeof header);
    return std::uint32_t{header[12]} << 24 | std::uint32_t{header[13]} << 16 | std::uint32_t{header[14]} << 8 |
           std::uint32_t{header[15]};
  }

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

  // The WAL starts over each time the checkpointer and the writer's RESTART
  // allow (every few MiB; later on a starved machine, at 64 MiB at the
  // latest). Writes go on until it has started over twice, while the writer
  // never paused; a WAL that never starts over keeps every frame written.
  send_for(std::chrono::milliseconds(250));
  std::uint32_t sequence = WalCheckpointSequence();
  int restarts = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (restarts < 2 && WalBytes() < (std::uintmax_t{256} << 20) && std::chrono::steady_clock::now() < deadline) {
    send_for(std::chrono::milliseconds(250));
    if (std::uint32_t now = WalCheckpointSequence(); now != sequence) {
      sequence = now;
      ++restarts;
    }
  }
  EXPECT_EQ(restarts, 2) << "the WAL grew to " << WalBytes() << " bytes after " << sent << " sends";
  // journal_size_limit, plus a batch or two written past it.
  EXPECT_LT(WalBytes(), std::uintmax_t{72} << 20);
}

}  // namespace
}  // namespace parley::storage::sqlite
