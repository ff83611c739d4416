// A batch's events reach EventSink::committed before any of its writes is
// answered: what must be current when a caller hears that its write is done
// (Presence's generation) is, whatever thread the answer resumes on.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "storage/sqlite/sqlite_store.hpp"
#include "support/batch_order.hpp"

namespace parley::storage::sqlite {
namespace {

TEST(SqliteEventSink, EventsAreCommittedBeforeAnyWriteOfTheBatchIsAnswered) {
  auto path = std::filesystem::temp_directory_path() /
              ("parley-event-sink-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".db");
  auto remove = [&] {
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  };
  remove();
  {
    SqliteStore store(path, StorageOptions{});
    EXPECT_EQ(test::batch_order(store), test::committed_before_answers());
  }
  remove();
}

}  // namespace
}  // namespace parley::storage::sqlite
