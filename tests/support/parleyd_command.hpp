// Runs the parleyd binary as a command (its subcommands, or a start that is
// expected to fail) and temporary folders for tests, beside ServerProcess,
// which runs it as a server.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace parley::test {

class ServerProcess;

// A temporary folder, removed with everything in it at the end of its scope
// (kept when PARLEY_TEST_KEEP is set, to look at after a failure).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when it did not exit normally (a signal)
  std::string output;  // stdout and stderr, interleaved
};

// Runs `parleyd args...` to its end.
CommandResult run_parleyd(const std::vector<std::string>& args);

// Runs `parleyd --config CONFIG --data-dir DATA args...` with the config of
// `server` and its data folder (or `data_dir` when given).
CommandResult run_parleyd_on(const ServerProcess& server, std::vector<std::string> args,
                             const std::filesystem::path& data_dir = {});

// A whole file's bytes ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);

}  // namespace parley::test
