#include "text.hpp"

#include <gtest/gtest.h>

#include <clocale>

namespace parley::cli {
namespace {

class TextTest : public ::testing::Test {
 protected:
  void SetUp() override { std::setlocale(LC_ALL, "C.UTF-8"); }
};

TEST_F(TextTest, Utf8RoundTrips) {
  std::string s = "héllo 世界 🙂";
  std::wstring w = widen(s);
  EXPECT_EQ(w.size(), 10u);
  EXPECT_EQ(narrow(w), s);
}

TEST_F(TextTest, InvalidUtf8BecomesReplacementCharacters) {
  // A lone continuation byte, an overlong '/', a truncated sequence, a surrogate.
  std::wstring w = widen(
      "a\x80"
      "b\xC0\xAF"
      "c\xE4\xB8"
      "\xED\xA0\x80");
  EXPECT_EQ(w.substr(0, 2), L"a\uFFFD");
  EXPECT_EQ(w[2], L'b');
  EXPECT_EQ(narrow(w).find('\x80'), std::string::npos);
  for (wchar_t c : w) EXPECT_TRUE(c == L'a' || c == L'b' || c == L'c' || c == L'\uFFFD');
}

TEST_F(TextTest, WidthsOfWideAndCombiningCharacters) {
  EXPECT_EQ(text_width(L"abc"), 3);
  EXPECT_EQ(text_width(L"世界"), 4);
  EXPECT_EQ(text_width(L"e\u0301"), 1);  // e + combining acute
}

TEST_F(TextTest, SanitizeRemovesEscapeSequences) {
  std::wstring out = sanitize(L"hi\x1b[2Jthere\tx\ny\x7f\x9b", false);
  EXPECT_EQ(out.find(L'\x1b'), std::wstring::npos);
  EXPECT_EQ(out.find(L'\x7f'), std::wstring::npos);
  EXPECT_EQ(out.find(L'\x9b'), std::wstring::npos);
  EXPECT_EQ(out.find(L'\n'), std::wstring::npos);
  EXPECT_NE(sanitize(L"a\nb", true).find(L'\n'), std::wstring::npos);
}

TEST_F(TextTest, WrapBreaksAtSpacesAndInsideLongWords) {
  auto lines = wrap(L"the quick brown fox", 10);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], L"the quick");
  EXPECT_EQ(lines[1], L"brown fox");
  lines = wrap(L"abcdefghijkl", 5);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], L"kl");
  lines = wrap(L"one\n\ntwo", 10);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], L"");
}

TEST_F(TextTest, WrapCountsWideCharactersAsTwoColumns) {
  auto lines = wrap(L"世界世界世界", 5);
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& line : lines) EXPECT_LE(text_width(line), 5);
}

TEST_F(TextTest, FitCutsWithAnEllipsis) {
  EXPECT_EQ(fit(L"alice", 10), L"alice");
  EXPECT_EQ(fit(L"alexandria", 6), L"alexa\u2026");
  EXPECT_EQ(text_width(fit(L"世界世界", 5)), 5);
}

}  // namespace
}  // namespace parley::cli
