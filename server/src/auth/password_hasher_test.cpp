#include "auth/password_hasher.hpp"

#include <gtest/gtest.h>

namespace parley::auth {
namespace {

AuthOptions minimum_cost() {
  AuthOptions options;
  options.password_memory_bytes = 19 * 1024 * 1024;
  options.password_passes = 2;
  options.hash_workers = 1;
  return options;
}

TEST(PasswordHasherTest, HashesAreArgon2idWithTheConfiguredCost) {
  PasswordHasher hasher(minimum_cost());
  std::string hash = hasher.hash_now("correct horse battery staple");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0U) << hash;
  EXPECT_NE(hash.find("m=19456,t=2"), std::string::npos) << hash;
  EXPECT_TRUE(PasswordHasher::verify_now(hash, "correct horse battery staple"));
  EXPECT_FALSE(PasswordHasher::verify_now(hash, "correct horse battery stapler"));
}

TEST(PasswordHasherTest, SaltsDifferAndLongPasswordsAreNotTruncated) {
  PasswordHasher hasher(minimum_cost());
  std::string password(300, 'p');
  std::string a = hasher.hash_now(password);
  std::string b = hasher.hash_now(password);
  EXPECT_NE(a, b);
  EXPECT_TRUE(PasswordHasher::verify_now(a, password));
  EXPECT_FALSE(PasswordHasher::verify_now(a, password.substr(0, 299) + "q"));
  EXPECT_FALSE(PasswordHasher::verify_now(a, password.substr(0, 72)));
}

TEST(PasswordHasherTest, MalformedHashIsAMismatch) {
  EXPECT_FALSE(PasswordHasher::verify_now("not a hash", "anything"));
  EXPECT_FALSE(PasswordHasher::verify_now("", ""));
}

}  // namespace
}  // namespace parley::auth
