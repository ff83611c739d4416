// The tests' own temporary folders: one left by a killed test process is
// removed by the next test process, one still in use is not.
#include "support/test_folder.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "support/parleyd_command.hpp"

namespace parley::test {
namespace {

namespace fs = std::filesystem;

// A pid that no process has any longer: a child that exited and was reaped.
pid_t pid_of_a_finished_process() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

fs::path folder_owned_by(const fs::path& parent, const std::string& name, pid_t owner) {
  fs::path folder = parent / ("parley-test-" + name);
  fs::create_directories(folder / "data" / "media");
  std::ofstream(folder / "data" / "parley.db") << "bytes";
  if (owner != 0) std::ofstream(folder / ".parley-test-owner") << owner << "\n";
  return folder;
}

TEST(TestFolderTest, FoldersOfFinishedProcessesGoAndOthersStay) {
  TempDir parent;
  fs::path abandoned = folder_owned_by(parent.path(), "abandon", pid_of_a_finished_process());
  fs::path in_use = folder_owned_by(parent.path(), "in-use", ::getpid());
  fs::path kept = folder_owned_by(parent.path(), "kept", 0);  // made with PARLEY_TEST_KEEP
  fs::path other = parent.path() / "not-ours";
  fs::create_directories(other);
  std::ofstream(other / ".parley-test-owner") << pid_of_a_finished_process() << "\n";

  EXPECT_EQ(remove_abandoned_test_folders(parent.path()), 1);
  EXPECT_FALSE(fs::exists(abandoned));
  EXPECT_TRUE(fs::exists(in_use / "data" / "parley.db"));
  EXPECT_TRUE(fs::exists(kept / "data" / "parley.db"));
  EXPECT_TRUE(fs::exists(other));
}

TEST(TestFolderTest, ANewFolderRecordsItsOwner) {
  TempDir folder;
  std::ifstream owner(folder.path() / ".parley-test-owner");
  long pid = 0;
  if (std::getenv("PARLEY_TEST_KEEP") != nullptr) GTEST_SKIP() << "kept folders record no owner";
  ASSERT_TRUE(owner >> pid);
  EXPECT_EQ(pid, ::getpid());
}

}  // namespace
}  // namespace parley::test
