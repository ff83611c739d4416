#include "auth/device_token.hpp"

#include <filesystem>

#include <gtest/gtest.h>
#include <sodium.h>

namespace parley::auth {
namespace {

TEST(DeviceTokenTest, VerifiesOnlyForTheAccountItWasIssuedFor) {
  ASSERT_GE(sodium_init(), 0);
  DeviceTokens tokens(std::array<unsigned char, DeviceTokens::kKeyBytes>{1, 2, 3});
  std::string token = tokens.issue(42);
  EXPECT_EQ(token.size(), 64U);
  auto id = tokens.verify(token, 42);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->size(), 32U);
  EXPECT_FALSE(tokens.verify(token, 43));
  EXPECT_NE(tokens.issue(42), token);  // each device its own id
  std::string forged = token;
  forged[40] = forged[40] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(tokens.verify(forged, 42));
  EXPECT_FALSE(tokens.verify("", 42));
  EXPECT_FALSE(tokens.verify(std::string(10000, 'A'), 42));
  DeviceTokens other(std::array<unsigned char, DeviceTokens::kKeyBytes>{9});
  EXPECT_FALSE(other.verify(token, 42));
}

TEST(DeviceTokenTest, KeyFileIsCreatedOnceAndReused) {
  ASSERT_GE(sodium_init(), 0);
  auto dir = std::filesystem::temp_directory_path() / ("parley-device-key-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / "device-token.key";
  std::filesystem::remove(path);
  std::string token = DeviceTokens::load_or_create(path).issue(7);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_TRUE(DeviceTokens::load_or_create(path).verify(token, 7));  // survives a restart
  std::filesystem::resize_file(path, 5);
  EXPECT_THROW((void)DeviceTokens::load_or_create(path), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::auth
