#include "core/validation.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace parley::validation {
namespace {

ErrorCode code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    return e.code();
  }
  ADD_FAILURE() << "no ApiError thrown";
  return ErrorCode::kInternal;
}

TEST(ValidationTest, UsernamesAreLowerCasedAndChecked) {
  EXPECT_EQ(username("Alice_01"), "alice_01");
  EXPECT_EQ(username("a.b"), "a.b");
  EXPECT_EQ(code_of([] { (void)username("ab"); }), ErrorCode::kValidationFailed);
  EXPECT_EQ(code_of([] { (void)username(std::string(33, 'a')); }), ErrorCode::kValidationFailed);
  EXPECT_EQ(code_of([] { (void)username("1abc"); }), ErrorCode::kValidationFailed);
  EXPECT_EQ(code_of([] { (void)username("al ice"); }), ErrorCode::kValidationFailed);
  EXPECT_EQ(code_of([] { (void)username("al\xc3\xa9x"); }), ErrorCode::kValidationFailed);
  EXPECT_FALSE(normalized_username("no spaces").has_value());
  EXPECT_EQ(normalized_username("Bob").value(), "bob");
}

TEST(ValidationTest, Utf8RejectsOverlongsSurrogatesAndTruncation) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));                              // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));                          // surrogate
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));                              // truncated
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_EQ(code_points("\xc3\xa9t\xc3\xa9"), 3U);
}

TEST(ValidationTest, PasswordLengthRulesCountCharactersAndBoundBytes) {
  EXPECT_NO_THROW(password("p", "12345678"));
  EXPECT_NO_THROW(password("p", std::string(kMaxPasswordBytes, 'x')));
  EXPECT_EQ(code_of([] { password("p", "1234567"); }), ErrorCode::kValidationFailed);
  EXPECT_EQ(code_of([] { password("p", std::string(kMaxPasswordBytes + 1, 'x')); }), ErrorCode::kValidationFailed);
  EXPECT_EQ(code_of([] { password("p", "12345678\xff"); }), ErrorCode::kValidationFailed);
}

TEST(ValidationTest, TextLimitsAreInCodePointsAndRejectControls) {
  EXPECT_NO_THROW(text("f", "\xc3\xa9\xc3\xa9", 1, 2));  // 2 characters, 4 bytes
  EXPECT_EQ(code_of([] { text("f", "abc", 1, 2); }), ErrorCode::kValidationFailed);
  EXPECT_EQ(code_of([] { text("f", "", 1, 2); }), ErrorCode::kValidationFailed);
  EXPECT_EQ(code_of([] { text("f", "a\nb", 0, 10); }), ErrorCode::kValidationFailed);
  EXPECT_EQ(code_of([] { text("f", "csi\xc2\x9b" "31m", 0, 10); }), ErrorCode::kValidationFailed);  // U+009B
  EXPECT_EQ(code_of([] { text("f", "   ", 1, 10); }), ErrorCode::kValidationFailed);
  EXPECT_NO_THROW(text("f", "\xc2\xa0ok", 1, 10));  // U+00A0 is no control
  EXPECT_NO_THROW(text("f", "", 0, 10));
}

}  // namespace
}  // namespace parley::validation
