#include "media/byte_range.hpp"

#include <gtest/gtest.h>

namespace parley::media {
namespace {

void ExpectPartial(std::string_view header, std::uint64_t size, std::uint64_t first, std::uint64_t length) {
  auto d = decide_range(header, size);
  EXPECT_EQ(d.kind, RangeDecision::kPartial) << header;
  EXPECT_EQ(d.first, first) << header;
  EXPECT_EQ(d.length, length) << header;
}

TEST(ByteRangeTest, SingleRanges) {
  ExpectPartial("bytes=0-", 1000, 0, 1000);
  ExpectPartial("bytes=10-20", 1000, 10, 11);
  ExpectPartial("bytes=-500", 1000, 500, 500);
  ExpectPartial("bytes=-5000", 1000, 0, 1000);
  ExpectPartial("bytes=990-5000", 1000, 990, 10);
  ExpectPartial("Bytes=5-5", 1000, 5, 1);  // the unit is case-insensitive
}

TEST(ByteRangeTest, Unsatisfiable) {
  EXPECT_EQ(decide_range("bytes=1000-", 1000).kind, RangeDecision::kUnsatisfiable);
  EXPECT_EQ(decide_range("bytes=2000-3000", 1000).kind, RangeDecision::kUnsatisfiable);
  EXPECT_EQ(decide_range("bytes=-0", 1000).kind, RangeDecision::kUnsatisfiable);
  EXPECT_EQ(decide_range("bytes=0-", 0).kind, RangeDecision::kUnsatisfiable);
}

TEST(ByteRangeTest, EverythingElseIsTheWholeFile) {
  for (std::string_view h : {"", "bytes=0-1,5-6", "items=0-5", "bytes=5-1", "bytes=a-b", "bytes=-", "bytes=1",
                             "bytes=99999999999999999999999-", "bytes=+1-2", "bytes=0-1 2"}) {
    EXPECT_EQ(decide_range(h, 1000).kind, RangeDecision::kWhole) << h;
  }
}

}  // namespace
}  // namespace parley::media
