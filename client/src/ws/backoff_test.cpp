#include "ws/backoff.hpp"

#include <gtest/gtest.h>

namespace parley::ws {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, CeilingDoublesUpToTheMaximumAndDelaysStayUnderIt) {
  Backoff backoff(milliseconds(100), milliseconds(1000), 42);
  const milliseconds expected_ceilings[] = {milliseconds(100), milliseconds(200), milliseconds(400),
                                            milliseconds(800), milliseconds(1000), milliseconds(1000)};
  for (auto ceiling : expected_ceilings) {
    EXPECT_EQ(backoff.ceiling(), ceiling);
    const auto delay = backoff.next();
    EXPECT_GE(delay.count(), 0);
    EXPECT_LE(delay, ceiling);
  }
}

TEST(Backoff, ResetStartsAgainFromTheMinimum) {
  Backoff backoff(milliseconds(50), milliseconds(10000), 7);
  for (int i = 0; i < 10; ++i) (void)backoff.next();
  EXPECT_EQ(backoff.ceiling(), milliseconds(10000));
  backoff.reset();
  EXPECT_EQ(backoff.ceiling(), milliseconds(50));
}

TEST(Backoff, DelaysAreJitteredNotConstant) {
  // Two devices with different seeds do not retry in step.
  Backoff a(milliseconds(1000), milliseconds(1000), 1);
  Backoff b(milliseconds(1000), milliseconds(1000), 2);
  int differ = 0;
  for (int i = 0; i < 20; ++i) differ += a.next() != b.next() ? 1 : 0;
  EXPECT_GT(differ, 15);
}

}  // namespace
}  // namespace parley::ws
