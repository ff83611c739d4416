#include "profiles.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

namespace parley::cli {
namespace {
namespace fs = std::filesystem;

class ProfilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/parley-profiles-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    file_ = dir_ / "parley" / "profiles.toml";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_, file_;
};

TEST_F(ProfilesTest, MissingFileIsEmpty) {
  Profiles p = Profiles::load(file_);
  EXPECT_TRUE(p.profiles.empty());
  EXPECT_FALSE(p.choose("").has_value());
}

TEST_F(ProfilesTest, SaveCreatesPrivateFileAndFolderAndLoadsBack) {
  Profiles p;
  p.default_profile = "alice";
  p.profiles["alice"] = Profile{"http://127.0.0.1:1", "al\"ice", ""};
  p.profiles["bob"] = Profile{"https://h:2", "bob", "/home/bob/our-ca.pem"};
  p.save(file_);
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(file_.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_FALSE(fs::exists(file_.string() + ".tmp"));

  Profiles q = Profiles::load(file_);
  EXPECT_EQ(q.default_profile, "alice");
  ASSERT_EQ(q.profiles.size(), 2u);
  EXPECT_EQ(q.profiles["alice"].username, "al\"ice");
  EXPECT_EQ(q.profiles["bob"].server, "https://h:2");
  EXPECT_EQ(q.profiles["bob"].ca_file, "/home/bob/our-ca.pem");  // kept for https servers with their own CA
  EXPECT_EQ(q.profiles["alice"].ca_file, "");
  EXPECT_EQ(q.choose(""), "alice");
  EXPECT_EQ(q.choose("bob"), "bob");
  EXPECT_FALSE(q.choose("carol").has_value());
}

TEST_F(ProfilesTest, FileReadableByOthersIsRefusedWithTheFix) {
  Profiles p;
  p.profiles["a"] = Profile{"http://x", "a", ""};
  p.save(file_);
  ASSERT_EQ(::chmod(file_.c_str(), 0644), 0);
  try {
    (void)Profiles::load(file_);
    FAIL() << "loaded a world-readable credentials file";
  } catch (const ProfileError& e) {
    EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("0644"), std::string::npos) << e.what();
  }
}

TEST_F(ProfilesTest, InvalidContentIsRefusedNamingTheFile) {
  fs::create_directories(file_.parent_path());
  for (const char* text :
       {"default = [", "default = 3", "profiles = 1", "[profiles.\"a/b\"]\nserver=\"x\"", "[profiles.a]\nserver = 5"}) {
    {
      std::ofstream out(file_);
      out << text;
    }
    ::chmod(file_.c_str(), 0600);
    EXPECT_THROW((void)Profiles::load(file_), ProfileError) << text;
  }
}

TEST_F(ProfilesTest, ChoiceNeedsADefaultAmongSeveral) {
  Profiles p;
  p.profiles["a"] = {};
  EXPECT_EQ(p.choose(""), "a");
  p.profiles["b"] = {};
  EXPECT_FALSE(p.choose("").has_value());
  p.default_profile = "b";
  EXPECT_EQ(p.choose(""), "b");
}

TEST_F(ProfilesTest, PrivateDirIsMadeOwnerOnlyAndAnOpenOneIsRefused) {
  fs::path store = dir_ / "data" / "alice";
  ensure_private_dir(store);
  struct stat st {};
  ASSERT_EQ(::stat(store.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ensure_private_dir(store);  // again: fine
  ASSERT_EQ(::chmod(store.c_str(), 0755), 0);
  try {
    ensure_private_dir(store);
    FAIL() << "accepted a store folder others may enter";
  } catch (const ProfileError& e) {
    EXPECT_NE(std::string(e.what()).find("chmod 700"), std::string::npos) << e.what();
  }
}

TEST(ProfileName, Rules) {
  EXPECT_TRUE(valid_profile_name("alice-work.2"));
  EXPECT_FALSE(valid_profile_name(""));
  EXPECT_FALSE(valid_profile_name(".."));
  EXPECT_FALSE(valid_profile_name("a/b"));
  EXPECT_FALSE(valid_profile_name(std::string(65, 'a')));
}

TEST(PathsTest, FollowXdgVariablesAndIgnoreRelativeOnes) {
  setenv("XDG_CONFIG_HOME", "/cfg", 1);
  setenv("XDG_DATA_HOME", "relative", 1);
  setenv("HOME", "/home/u", 1);
  Paths paths = Paths::from_environment();
  EXPECT_EQ(paths.credentials(), fs::path("/cfg/parley/profiles.toml"));
  EXPECT_EQ(paths.store_dir("p"), fs::path("/home/u/.local/share/parley/p"));
}

}  // namespace
}  // namespace parley::cli
