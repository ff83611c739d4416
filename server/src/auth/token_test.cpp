#include "auth/token.hpp"

#include <set>

#include <gtest/gtest.h>
#include <sodium.h>

namespace parley::auth {
namespace {

TEST(TokenTest, TokensAreLongRandomAndUrlSafe) {
  ASSERT_GE(sodium_init(), 0);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string token = generate_token();
    EXPECT_EQ(token.size(), 43U);  // 256 bits in base64url without padding
    EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_TRUE(seen.insert(token).second);
  }
}

TEST(TokenTest, HashIsSha256AndDeterministic) {
  EXPECT_EQ(hash_token("abc").size(), 32U);
  EXPECT_EQ(hash_token("abc"), hash_token("abc"));
  EXPECT_NE(hash_token("abc"), hash_token("abd"));
  // SHA-256("abc") starts ba 78 16 bf.
  EXPECT_EQ(static_cast<unsigned char>(hash_token("abc")[0]), 0xba);
  EXPECT_EQ(static_cast<unsigned char>(hash_token("abc")[3]), 0xbf);
}

TEST(TokenTest, BearerHeaderParsing) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer abc"), "abc");
  EXPECT_EQ(bearer_token("BEARER abc"), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer "), "");
  EXPECT_EQ(bearer_token(""), "");
}

}  // namespace
}  // namespace parley::auth
