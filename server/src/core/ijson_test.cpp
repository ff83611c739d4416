#include "core/ijson.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace parley::ijson {
namespace {

TEST(IJsonTest, ParsesAsBoostJsonDoes) {
  auto parsed = parse(R"({"a": 1, "b": [true, null, "x", {"c": -2.5}], "d": {"e": {}}})");
  ASSERT_EQ(parsed.failure, Failure::kNone) << parsed.error.message();
  EXPECT_EQ(boost::json::serialize(parsed.value), R"({"a":1,"b":[true,null,"x",{"c":-2.5E0}],"d":{"e":{}}})");
  EXPECT_EQ(parse("[]").failure, Failure::kNone);
  EXPECT_EQ(parse("7").value.as_int64(), 7);
}

TEST(IJsonTest, RefusesADuplicateKeyAtAnyDepth) {
  EXPECT_EQ(parse(R"({"a": 1, "a": 2})").failure, Failure::kDuplicateKey);
  EXPECT_EQ(parse(R"({"a": 1, "b": {"c": 1, "c": 1}})").failure, Failure::kDuplicateKey);
  EXPECT_EQ(parse(R"([0, [{"x": {"y": [{"k": 1, "j": 2, "k": 3}]}}]])").failure, Failure::kDuplicateKey);
  // The same name escaped differently is the same name.
  EXPECT_EQ(parse(R"({"text": 1, "t\u0065xt": 2})").failure, Failure::kDuplicateKey);
  // More members than Boost.JSON keeps in a small (linear) table.
  std::string big = "{";
  for (int i = 0; i < 100; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  EXPECT_EQ(parse(big + "\"k50\":0}").failure, Failure::kDuplicateKey);
  EXPECT_EQ(parse(big + "\"k100\":0}").failure, Failure::kNone);
  EXPECT_TRUE(parse(R"({"a": 1, "a": 2})").value.is_null());
}

TEST(IJsonTest, TheSameKeyInDifferentObjectsIsFine) {
  auto parsed = parse(R"({"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]})");
  EXPECT_EQ(parsed.failure, Failure::kNone);
}

// Found by tests/fuzz/fuzz_json_body.cpp: Boost.JSON 1.81 reads a zero with
// a huge exponent as NaN, which compares unequal to itself; the I-JSON
// parser must read it exactly as Boost.JSON does (the fuzzer compares the two
// as text) and the routes' integer accessors refuse it anyway.
TEST(IJsonTest, NumbersAreReadAsBoostJsonReadsThem) {
  auto parsed = parse("[0e808, 1e2, -0]");
  ASSERT_EQ(parsed.failure, Failure::kNone);
  boost::system::error_code ec;
  EXPECT_EQ(boost::json::serialize(parsed.value), boost::json::serialize(boost::json::parse("[0e808, 1e2, -0]", ec)));
}

TEST(IJsonTest, SyntaxErrorsAndLimits) {
  EXPECT_EQ(parse("").failure, Failure::kSyntax);
  EXPECT_EQ(parse(R"({"a": )").failure, Failure::kSyntax);
  EXPECT_EQ(parse(R"({"a": 1} x)").failure, Failure::kSyntax) << "trailing data";
  EXPECT_EQ(parse(R"({"a": 1} {"b": 2})").failure, Failure::kSyntax) << "two documents";
  boost::json::parse_options options;
  options.max_depth = 2;
  EXPECT_EQ(parse("[[[1]]]", options).failure, Failure::kSyntax);
  EXPECT_EQ(parse("[[1]]", options).failure, Failure::kNone);
}

}  // namespace
}  // namespace parley::ijson
