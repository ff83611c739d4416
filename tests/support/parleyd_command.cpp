#include "support/parleyd_command.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "support/server_process.hpp"
#include "support/test_folder.hpp"

namespace parley::test {

namespace fs = std::filesystem;

TempDir::TempDir() : path_(make_test_folder()) {}

TempDir::~TempDir() {
  std::error_code ignored;
  if (std::getenv("PARLEY_TEST_KEEP") == nullptr) fs::remove_all(path_, ignored);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

CommandResult run_parleyd(const std::vector<std::string>& args) {
  TempDir out_dir;
  fs::path out = out_dir.path() / "output.txt";
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    std::vector<std::string> argv_s = {"parleyd"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    FILE* f = std::freopen(out.c_str(), "w", stdout);
    if (f == nullptr || ::dup2(STDOUT_FILENO, STDERR_FILENO) < 0) ::_exit(127);
    ::execv(PARLEYD_PATH, argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out)};
}

CommandResult run_parleyd_on(const ServerProcess& server, std::vector<std::string> args,
                             const fs::path& data_dir) {
  std::vector<std::string> all = {"--config", (server.data_dir() / "test.toml").string(), "--data-dir",
                                  (data_dir.empty() ? server.data_dir() / "data" : data_dir).string()};
  all.insert(all.end(), args.begin(), args.end());
  return run_parleyd(all);
}

}  // namespace parley::test
