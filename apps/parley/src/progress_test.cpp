#include "progress.hpp"

#include <gtest/gtest.h>

namespace parley::cli {
namespace {

TEST(Progress, HumanBytes) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(5 * 1024 * 1024), "5.0 MiB");
}

TEST(Progress, BarFillsInProportion) {
  std::string half = render_progress("f.bin", 50, 100, 80);
  EXPECT_NE(half.find(" 50%"), std::string::npos);
  auto hashes = std::count(half.begin(), half.end(), '#');
  auto dots = std::count(half.begin(), half.end(), '.') - 1;  // the one in "f.bin"
  EXPECT_EQ(hashes, dots);
  std::string full = render_progress("f", 100, 100, 80);
  EXPECT_NE(full.find("100%"), std::string::npos);
  EXPECT_EQ(full.find("[."), std::string::npos);
  EXPECT_LE(static_cast<int>(render_progress(std::string(200, 'x'), 1, 2, 60).size()), 60);
}

TEST(Progress, UnknownTotalShowsBytesOnly) { EXPECT_EQ(render_progress("f", 2048, 0, 80), "f  2.0 KiB"); }

TEST(Progress, DisabledBarWritesNothing) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    ProgressBar bar(out, "x", false);
    bar.update(1, 2);
    bar.update(2, 2);
  }
  std::fclose(out);
  EXPECT_EQ(size, 0u);
  std::free(buffer);
}

TEST(Progress, EnabledBarRedrawsInPlaceAndEndsTheLine) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  {
    ProgressBar bar(out, "x", true);
    bar.update(1, 2);
    bar.update(2, 2);
  }
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  EXPECT_EQ(text.front(), '\r');
  EXPECT_NE(text.find("100%"), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace parley::cli
