#include "view.hpp"

#include <gtest/gtest.h>

#include <clocale>

#include "text.hpp"

namespace parley::cli {
namespace {

class ViewTest : public ::testing::Test {
 protected:
  void SetUp() override { std::setlocale(LC_ALL, "C.UTF-8"); }
  static constexpr std::int64_t now = 1'796'000'000'000;
};

TEST_F(ViewTest, EveryLineFitsThePane) {
  MessageRow m;
  m.number = 7;
  m.created_at = now;
  m.sender = "Bob";
  m.text = std::string(300, 'a') + " short words after a very long one 世界世界";
  m.files = {"a-file-with-a-long-name.bin (1.0 MiB)"};
  m.reactions = "👍 2";
  for (int width : {10, 20, 33, 80}) {
    for (const DialogLine& line : layout_dialog({m}, true, width, now)) {
      EXPECT_LE(text_width(line.prefix) + text_width(line.text), std::max(width, 8)) << width;
    }
  }
}

TEST_F(ViewTest, HeaderCarriesNumberSenderAndText) {
  MessageRow m;
  m.number = 12;
  m.created_at = now;
  m.sender = "alice";
  m.text = "hi";
  m.edited = true;
  auto lines = layout_dialog({m}, false, 60, now);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].prefix.substr(0, 3), L" 12");
  EXPECT_NE(lines[0].prefix.find(L"alice: "), std::wstring::npos);
  EXPECT_EQ(lines[0].text, L"hi (edited)");
}

TEST_F(ViewTest, PendingFailedRepliesAndControlCharacters) {
  MessageRow pending;
  pending.pending = true;
  pending.own = true;
  pending.text = "queued";
  pending.created_at = now;
  MessageRow failed;
  failed.failed = true;
  failed.text = "no";
  failed.error = "blocked";
  failed.created_at = now;
  MessageRow reply;
  reply.number = 3;
  reply.reply_to_number = 2;
  reply.reply_excerpt = "earlier";
  reply.text = "evil\x1b[2J";
  reply.created_at = now;
  auto lines = layout_dialog({pending, failed, reply}, false, 60, now);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0].kind, DialogLine::Kind::pending);
  EXPECT_NE(lines[0].prefix.find(L"…"), std::wstring::npos);
  EXPECT_NE(lines[0].text.find(L"sending"), std::wstring::npos);
  EXPECT_EQ(lines[1].kind, DialogLine::Kind::failed);
  EXPECT_NE(lines[2].text.find(L"blocked"), std::wstring::npos);
  EXPECT_EQ(lines[3].text.find(L'\x1b'), std::wstring::npos);
  EXPECT_EQ(lines[4].kind, DialogLine::Kind::reply);
  EXPECT_NE(lines[4].text.find(L"re 2: earlier"), std::wstring::npos);
}

TEST_F(ViewTest, InfoRowsAreTextOnly) {
  MessageRow help;
  help.info = true;
  help.text = "/edit N TEXT  change your message N";
  auto lines = layout_dialog({help}, false, 20, now);
  ASSERT_EQ(lines.size(), 3u);  // "/edit N TEXT", "change your", "message N"
  EXPECT_TRUE(lines[0].prefix.empty());
  EXPECT_EQ(lines[0].kind, DialogLine::Kind::info);
  EXPECT_EQ(lines[0].text.rfind(L"  /edit N TEXT", 0), 0u);
  EXPECT_EQ(lines[2].text, L"  message N");
}

TEST_F(ViewTest, TimesShowTheDateWhenNotToday) {
  EXPECT_EQ(format_time(now, now).size(), 5u);
  EXPECT_GT(format_time(now - 3LL * 86'400'000, now).size(), 5u);
}

}  // namespace
}  // namespace parley::cli
