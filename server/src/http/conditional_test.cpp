#include "http/conditional.hpp"

#include <gtest/gtest.h>

namespace parley::http {
namespace {

TEST(IfNoneMatchTest, MatchesAnyTagOfTheListWeakly) {
  EXPECT_TRUE(if_none_match("\"a\"", "\"a\""));
  EXPECT_TRUE(if_none_match("\"x\", W/\"a\"", "\"a\""));
  EXPECT_TRUE(if_none_match(" \"x\" ,\t\"a\" ", "\"a\""));
  EXPECT_TRUE(if_none_match("\"a\"", "W/\"a\""));
  EXPECT_TRUE(if_none_match("*", "\"a\""));
}

TEST(IfNoneMatchTest, OtherTagsAndEmptyHeadersDoNotMatch) {
  EXPECT_FALSE(if_none_match("", "\"a\""));
  EXPECT_FALSE(if_none_match("\"b\"", "\"a\""));
  EXPECT_FALSE(if_none_match("\"a", "\"a\""));
  EXPECT_FALSE(if_none_match(",,", "\"a\""));
  EXPECT_FALSE(if_none_match("\"ab\"", "\"a\""));
}

}  // namespace
}  // namespace parley::http
