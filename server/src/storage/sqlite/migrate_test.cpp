#include "storage/sqlite/migrate.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "storage/sqlite/database.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::storage::sqlite {
namespace {

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("parley-migrate-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
  }
  void TearDown() override {
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }

  int version(Connection& db) {
    Statement& q = db.prepare("PRAGMA user_version");
    q.step();
    int v = static_cast<int>(q.int64(0));
    db.release_statements();
    return v;
  }

  bool table_exists(Connection& db, const std::string& name) {
    Statement& q = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    q.bind(1, name);
    bool found = q.step();
    db.release_statements();
    return found;
  }

  std::filesystem::path path_;
};

TEST_F(MigrateTest, AppliesPendingMigrationsInOrderOnce) {
  Connection db(path_);
  std::vector<Migration> list{{1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"},
                              {2, "0002_b.sql", "CREATE TABLE b (y INTEGER);"}};
  EXPECT_EQ(migrate(db, {list[0]}), 1);
  EXPECT_TRUE(table_exists(db, "a"));
  EXPECT_FALSE(table_exists(db, "b"));
  EXPECT_EQ(migrate(db, list), 2);
  EXPECT_TRUE(table_exists(db, "b"));
  EXPECT_EQ(migrate(db, list), 2);  // nothing left to do; no error
  EXPECT_EQ(version(db), 2);
}

TEST_F(MigrateTest, AFailingMigrationChangesNothing) {
  Connection db(path_);
  std::vector<Migration> list{{1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"},
                              {2, "0002_bad.sql", "CREATE TABLE b (y INTEGER); THIS IS NOT SQL;"}};
  EXPECT_THROW(migrate(db, list), StorageError);
  EXPECT_EQ(version(db), 0);
  EXPECT_FALSE(table_exists(db, "a"));
  EXPECT_FALSE(table_exists(db, "b"));
}

TEST_F(MigrateTest, RefusesADatabaseNewerThanTheBinary) {
  Connection db(path_);
  db.exec("PRAGMA user_version = 7");
  std::vector<Migration> list{{1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"}};
  EXPECT_THROW(migrate(db, list), StorageError);
  EXPECT_FALSE(table_exists(db, "a"));
}

TEST_F(MigrateTest, ShippedMigrationsApplyToAFreshDatabase) {
  SqliteStore store(path_, StorageOptions{});
  EXPECT_EQ(store.schema_version(), sqlite_migrations().back().version);
  EXPECT_TRUE(store.ping());
  Connection db(path_);
  for (auto table : {"users", "sessions", "invitations", "contacts", "blocks", "conversation_mutes"}) {
    EXPECT_TRUE(table_exists(db, table)) << table;
  }
}

TEST_F(MigrateTest, StoreRollsBackWhenTheTransactionBodyThrows) {
  SqliteStore store(path_, StorageOptions{});
  EXPECT_THROW(store.write_blocking([](Transaction& tx) {
    tx.insert_user(NewUser{"zed", "hash", "Zed", 1});
    throw std::runtime_error("abort");
  }),
               std::runtime_error);
  EXPECT_FALSE(store.read([](Transaction& tx) { return tx.user_by_username("zed"); }).has_value());
  auto user = store.write_blocking([](Transaction& tx) { return tx.insert_user(NewUser{"zed", "hash", "Zed", 1}); });
  ASSERT_TRUE(user.has_value());
  auto duplicate = store.write_blocking([](Transaction& tx) { return tx.insert_user(NewUser{"zed", "h2", "Z", 2}); });
  EXPECT_FALSE(duplicate.has_value());
}

}  // namespace
}  // namespace parley::storage::sqlite
