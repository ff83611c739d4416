#include "storage/sqlite/wal_write_buffer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "storage/sqlite/database.hpp"

namespace parley::storage::sqlite {
namespace {

namespace fs = std::filesystem;

class WalWriteBufferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("parley-walbuf-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "db.sqlite";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // As SqliteStore's writer: WAL, every commit synced, no automatic
  // checkpoints (so that the WAL keeps what was committed).
  std::unique_ptr<Connection> open_writer() {
    auto db = std::make_unique<Connection>(path_, wal_write_buffer_vfs());
    db->exec("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA synchronous = FULL");
    db->exec("PRAGMA wal_autocheckpoint = 0");
    return db;
  }

  static std::int64_t count(Connection& db, const std::string& where = "1") {
    Statement& q = db.prepare("SELECT COUNT(*) FROM t WHERE " + where);
    q.step();
    std::int64_t n = q.int64(0);
    db.release_statements();
    return n;
  }

  // `rows` rows of ~3 KiB each (about one page per row), in one transaction.
  static void insert_rows(Connection& db, int first, int rows) {
    db.exec("BEGIN IMMEDIATE");
    for (int i = first; i < first + rows; ++i) {
      db.prepare("INSERT INTO t (id, body) VALUES (?1, ?2)").bind(1, i).bind(2, std::string(3000, 'a' + i % 26)).run();
    }
    db.release_statements();
    db.exec("COMMIT");
  }

  fs::path dir_;
  fs::path path_;
};

TEST_F(WalWriteBufferTest, ACommitsFramesReachTheFileInAFewWritesNotTwoPerFrame) {
  auto db = open_writer();
  db->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  auto before = wal_write_buffer_stats();
  insert_rows(*db, 0, 20);  // ~20 pages: 40 writes without gathering
  auto after = wal_write_buffer_stats();
  EXPECT_GE(after.bytes - before.bytes, 20u * 4096u);
  EXPECT_LE(after.writes - before.writes, 3u);
  EXPECT_EQ(count(*db), 20);
}

TEST_F(WalWriteBufferTest, EveryCommitIsInTheFilesAtOnceAsACrashWouldLeaveThem) {
  auto db = open_writer();
  db->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  // Commits small and large: one of 150 pages (600 KiB) goes out in pieces
  // under the default VFS's 128 KiB per write.
  insert_rows(*db, 0, 1);
  insert_rows(*db, 1, 150);
  insert_rows(*db, 151, 3);
  // Copy the files while the writer is still open, as kill -9 would leave
  // them: nothing checkpointed, nothing closed.
  fs::path copy = dir_ / "copy.sqlite";
  fs::copy_file(path_, copy);
  fs::copy_file(fs::path(path_.string() + "-wal"), fs::path(copy.string() + "-wal"));
  Connection recovered(copy);
  EXPECT_EQ(count(recovered), 154);
  EXPECT_EQ(count(recovered, "length(body) = 3000"), 154);
  Statement& check = recovered.prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.text(0), "ok");
  recovered.release_statements();
}

TEST_F(WalWriteBufferTest, PagesSpilledBeforeTheCommitAreReadBackAndSeenByOthersAfterIt) {
  auto db = open_writer();
  db->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  // A cache of a few pages: a large transaction writes frames to the WAL
  // before its commit and reads them back while it goes on.
  db->exec("PRAGMA cache_size = 2");
  Connection reader(path_);
  db->exec("BEGIN IMMEDIATE");
  for (int i = 0; i < 200; ++i) {
    db->prepare("INSERT INTO t (id, body) VALUES (?1, ?2)").bind(1, i).bind(2, std::string(3000, 'x')).run();
  }
  db->release_statements();
  EXPECT_EQ(count(*db), 200);
  EXPECT_EQ(count(*db, "body = '" + std::string(3000, 'x') + "'"), 200);
  EXPECT_EQ(count(reader), 0);  // not committed: not seen
  db->exec("UPDATE t SET body = 'short' WHERE id % 2 = 0");
  db->exec("COMMIT");
  EXPECT_EQ(count(reader), 200);
  EXPECT_EQ(count(reader, "body = 'short'"), 100);
  EXPECT_EQ(count(reader, "length(body) = 3000"), 100);
}

}  // namespace
}  // namespace parley::storage::sqlite
