#include "http/json_body.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace parley::http {
namespace {

Request json_request(std::string_view body) {
  Request request;
  request.body = body;
  request.content_type = "application/json";
  return request;
}

// The error a body gets; nullopt when it parses.
std::optional<ErrorCode> code_of(std::string_view body) {
  try {
    JsonBody parsed(json_request(body));
    return std::nullopt;
  } catch (const ApiError& e) {
    return e.code();
  }
}

TEST(JsonBodyTest, DuplicateKeysAreMalformedAtAnyDepth) {
  EXPECT_EQ(code_of(R"({"username": "a", "username": "b"})"), ErrorCode::kMalformedRequest);
  EXPECT_EQ(code_of(R"({"settings": {"theme": "x", "theme": "y"}})"), ErrorCode::kMalformedRequest);
  EXPECT_EQ(code_of(R"({"ids": [1, {"a": [{"b": 1, "b": 1}]}]})"), ErrorCode::kMalformedRequest);
  EXPECT_EQ(code_of(R"({"username": "a", "password": "b"})"), std::nullopt);
  try {
    JsonBody parsed(json_request(R"({"a": 1, "a": 1})"));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_NE(std::string_view(e.what()).find("twice"), std::string_view::npos) << e.what();
  }
}

TEST(JsonBodyTest, UnknownFieldsAreFoundBeyondTheFirst64) {
  std::string body = "{";
  for (int i = 0; i < 100; ++i) body += "\"f" + std::to_string(i) + "\": " + std::to_string(i) + ",";
  body += "\"extra\": 1}";
  JsonBody parsed(json_request(body));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(parsed.optional_int("f" + std::to_string(i)), i);
  try {
    parsed.reject_unknown_fields();
    FAIL() << "extra is unknown";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(std::string_view(e.what()), "extra: is not a known field");
  }
  (void)parsed.optional_int("extra");
  EXPECT_NO_THROW(parsed.reject_unknown_fields());
}

TEST(JsonBodyTest, NullableFieldsCountAsKnown) {
  JsonBody parsed(json_request(R"({"a": null, "b": null, "c": "x"})"));
  auto a = parsed.nullable_string("a");
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a->has_value()) << "null";
  auto b = parsed.nullable_int("b");
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(b->has_value()) << "null";
  EXPECT_THROW(parsed.reject_unknown_fields(), ApiError);
  EXPECT_EQ(parsed.optional_string("c"), "x");
  EXPECT_NO_THROW(parsed.reject_unknown_fields());
}

}  // namespace
}  // namespace parley::http
