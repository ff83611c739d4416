#include "support/test_folder.hpp"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>

namespace parley::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPrefix = "parley-test-";
// The owner's pid. A name no server or command writes into its data folder.
constexpr const char* kOwnerFile = ".parley-test-owner";

bool process_is_running(pid_t pid) {
  // EPERM: the process exists but belongs to someone else.
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

}  // namespace

int remove_abandoned_test_folders(const fs::path& parent) {
  int removed = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(parent, error)) {
    if (!entry.is_directory(error) || !entry.path().filename().string().starts_with(kPrefix)) continue;
    std::ifstream owner_file(entry.path() / kOwnerFile);
    long owner = 0;
    if (!(owner_file >> owner) || process_is_running(static_cast<pid_t>(owner))) continue;
    fs::remove_all(entry.path(), error);
    if (!error) ++removed;
  }
  return removed;
}

fs::path make_test_folder() {
  const fs::path parent = fs::temp_directory_path();
  static std::once_flag swept;
  std::call_once(swept, [&] { remove_abandoned_test_folders(parent); });

  std::string pattern = (parent / (std::string(kPrefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  fs::path folder = pattern;
  if (std::getenv("PARLEY_TEST_KEEP") == nullptr) std::ofstream(folder / kOwnerFile) << ::getpid() << "\n";
  return folder;
}

}  // namespace parley::test
