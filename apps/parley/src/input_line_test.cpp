#include "input_line.hpp"

#include <gtest/gtest.h>

#include <clocale>

#include "text.hpp"

namespace parley::cli {
namespace {

void type(InputLine& line, const std::wstring& text) {
  for (wchar_t c : text) line.insert(c);
}

TEST(InputLine, EditsAtTheCursorAndReturnsUtf8OnEnter) {
  std::setlocale(LC_ALL, "C.UTF-8");
  InputLine line;
  type(line, L"helo wörld");
  for (int i = 0; i < 7; ++i) line.key(InputLine::Key::left);
  line.insert(L'l');
  EXPECT_EQ(line.text(), L"hello wörld");
  line.key(InputLine::Key::end);
  line.key(InputLine::Key::backspace);
  line.key(InputLine::Key::home);
  line.key(InputLine::Key::del);
  EXPECT_EQ(line.text(), L"ello wörl");
  auto entered = line.key(InputLine::Key::enter);
  ASSERT_TRUE(entered.has_value());
  EXPECT_EQ(*entered, "ello w\xC3\xB6rl");
  EXPECT_TRUE(line.text().empty());
  EXPECT_EQ(line.cursor(), 0u);
}

TEST(InputLine, KillKeys) {
  InputLine line;
  type(line, L"one two  three");
  line.key(InputLine::Key::kill_word);
  EXPECT_EQ(line.text(), L"one two  ");
  line.key(InputLine::Key::kill_word);
  EXPECT_EQ(line.text(), L"one ");
  line.key(InputLine::Key::home);
  line.key(InputLine::Key::right);
  line.key(InputLine::Key::kill_to_end);
  EXPECT_EQ(line.text(), L"o");
  line.key(InputLine::Key::kill_line);
  EXPECT_EQ(line.text(), L"");
}

TEST(InputLine, ControlCharactersAndOverlongInputAreRefused) {
  InputLine line;
  line.insert(L'\x1b');
  line.insert(L'\n');
  EXPECT_TRUE(line.text().empty());
  for (std::size_t i = 0; i < InputLine::max_chars + 10; ++i) line.insert(L'x');
  EXPECT_EQ(line.text().size(), InputLine::max_chars);
}

TEST(InputLine, HistoryKeepsTheDraft) {
  InputLine line;
  type(line, L"first");
  line.key(InputLine::Key::enter);
  type(line, L"second");
  line.key(InputLine::Key::enter);
  type(line, L"draft");
  line.key(InputLine::Key::up);
  EXPECT_EQ(line.text(), L"second");
  line.key(InputLine::Key::up);
  line.key(InputLine::Key::up);
  EXPECT_EQ(line.text(), L"first");
  line.key(InputLine::Key::down);
  line.key(InputLine::Key::down);
  EXPECT_EQ(line.text(), L"draft");
}

TEST(InputLine, VisiblePartFollowsTheCursor) {
  std::setlocale(LC_ALL, "C.UTF-8");
  InputLine line;
  type(line, L"abcdefghijklmnopqrstuvwxyz");
  auto v = line.visible(10);
  EXPECT_EQ(v.cursor_column, 9);
  EXPECT_EQ(v.text, L"rstuvwxyz");
  line.key(InputLine::Key::home);
  v = line.visible(10);
  EXPECT_EQ(v.cursor_column, 0);
  EXPECT_EQ(v.text, L"abcdefghij");
  InputLine wide;
  type(wide, L"世界世界世界世界");
  v = wide.visible(9);
  EXPECT_LE(text_width(v.text), 9);
  EXPECT_LE(v.cursor_column, 8);
}

}  // namespace
}  // namespace parley::cli
