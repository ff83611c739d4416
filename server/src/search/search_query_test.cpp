#include "search/search_query.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace parley::search {
namespace {

ErrorCode code_of(std::string_view text) {
  try {
    parse_query(text);
  } catch (const ApiError& error) {
    return error.code();
  }
  return ErrorCode::kInternal;  // "no error"
}

TEST(SearchQuery, WordsBecomeQuotedTerms) {
  EXPECT_EQ(parse_query("hello world").match, "\"hello\" \"world\"");
  EXPECT_EQ(parse_query("  spaced\tout ").match, "\"spaced\" \"out\"");
}

TEST(SearchQuery, PrefixAndPhrase) {
  EXPECT_EQ(parse_query("hel*").match, "\"hel\" *");
  EXPECT_EQ(parse_query("\"two words\"").match, "\"two words\"");
  EXPECT_EQ(parse_query("\"unbalanced phrase").match, "\"unbalanced phrase\"");
}

TEST(SearchQuery, FtsSyntaxIsLiteral) {
  EXPECT_EQ(parse_query("NEAR(a b)").match, "\"NEAR(a\" \"b)\"");
  EXPECT_EQ(parse_query("body:secret").match, "\"body:secret\"");
  EXPECT_EQ(parse_query("a OR b NOT c").match, "\"a\" \"OR\" \"b\" \"NOT\" \"c\"");
  EXPECT_EQ(parse_query("say\"hi").match, "\"say\"\"hi\"");
  EXPECT_EQ(parse_query("^start").match, "\"^start\"");
  EXPECT_EQ(parse_query("x**").match, "\"x\" *");
}

TEST(SearchQuery, NothingToSearchIs422) {
  for (std::string_view text : {"", "   ", "*", "\"\"", "^", "(", "-- !!", "\"*\""}) {
    EXPECT_EQ(code_of(text), ErrorCode::kValidationFailed) << text;
  }
}

TEST(SearchQuery, Operators) {
  auto parsed = parse_query("from:@ann in:42 has:file has:image mentions:me before:2024-02-01 after:2024-01-01 hi");
  EXPECT_EQ(parsed.from, "ann");
  EXPECT_EQ(parsed.in, "42");
  EXPECT_TRUE(parsed.has_file);
  EXPECT_TRUE(parsed.has_image);
  EXPECT_TRUE(parsed.mentions_me);
  EXPECT_EQ(parsed.before, 1706745600000);      // 2024-02-01T00:00Z
  EXPECT_EQ(parsed.not_before, 1704153600000);  // 2024-01-02T00:00Z: after the whole day
  EXPECT_EQ(parsed.match, "\"hi\"");
  EXPECT_TRUE(parse_query("has:image").match.empty());
}

TEST(SearchQuery, BadOperatorValuesAre422) {
  for (std::string_view text :
       {"has:video", "mentions:you", "before:2024-13-01", "after:yesterday", "from:", "in:", "before:2023-02-29"}) {
    EXPECT_EQ(code_of(text), ErrorCode::kValidationFailed) << text;
  }
}

TEST(SearchQuery, Limits) {
  EXPECT_EQ(code_of(std::string(kMaxQueryBytes + 1, 'a')), ErrorCode::kValidationFailed);
  std::string many;
  for (std::size_t i = 0; i <= kMaxTerms; ++i) many += "w ";
  EXPECT_EQ(code_of(many), ErrorCode::kValidationFailed);
  many.resize(many.size() - 2);
  EXPECT_EQ(parse_query(many).match.size(), kMaxTerms * 4 - 1);
}

}  // namespace
}  // namespace parley::search
