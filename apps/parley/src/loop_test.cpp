#include "loop.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace parley::cli {
namespace {

TEST(Loop, TasksFromOtherThreadsRunOnTheLoopsThreadInOrder) {
  Loop loop;
  std::vector<int> ran;
  std::thread::id where;
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) {
      loop.post([&ran, &where, i] {
        ran.push_back(i);
        where = std::this_thread::get_id();
      });
    }
  });
  EXPECT_TRUE(loop.run_until([&] { return ran.size() == 100; }, std::chrono::seconds(10)));
  producer.join();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ran[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(where, std::this_thread::get_id());
}

TEST(Loop, RunUntilGivesUpAtTheDeadline) {
  Loop loop;
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(loop.run_until([] { return false; }, std::chrono::milliseconds(50)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
}

TEST(Loop, TasksPostedByATaskRunInTheNextRound) {
  Loop loop;
  int second = 0;
  loop.post([&] { loop.post([&] { ++second; }); });
  EXPECT_EQ(loop.run_pending(), 1);
  EXPECT_EQ(second, 0);
  EXPECT_EQ(loop.run_pending(), 1);
  EXPECT_EQ(second, 1);
}

}  // namespace
}  // namespace parley::cli
