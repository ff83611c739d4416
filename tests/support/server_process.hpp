// Starts the real parleyd binary as a child process for black-box tests: on a
// free loopback port, with a fresh temporary data folder, and a config file
// tuned for tests (the minimum allowed password cost, so tests run fast; no
// default sticker pack unless the extra config has a [stickers] section).
// With PARLEY_TEST_BACKEND=postgres the server stores its data in a fresh
// database of the test PostgreSQL cluster (support/pg_database.hpp) instead
// of SQLite: the same tests then check the PostgreSQL backend.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace parley::test {

struct ServerOptions {
  // Extra TOML appended to the test config (e.g. "[auth]\n..."). Sections
  // given here replace the defaults' sections of the same name.
  std::string extra_config;
  // Reuse this data folder instead of a new one (for restart tests).
  std::filesystem::path data_dir;
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerOptions options = {});
  ~ServerProcess();  // SIGKILLs a server still running, removes its folder
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] const std::filesystem::path& data_dir() const { return data_dir_; }
  [[nodiscard]] bool running() const { return pid_ > 0; }

  // Sends SIGTERM and waits (up to 15 s) for exit; returns the exit status
  // as from waitpid, or -1 if it had to be killed.
  int terminate();
  // Waits (up to 15 s) for the process to exit by itself; returns the status
  // as from waitpid, or -1 if it had to be killed.
  int wait_exit();
  // SIGKILL, as a crash would.
  void kill9();
  // Starts the binary again on the same data folder (and a new port).
  void start();

  // The running server's process id, for tests that signal it directly.
  [[nodiscard]] pid_t pid_for_tests() const { return pid_; }

  // Everything parleyd wrote to stderr so far.
  [[nodiscard]] std::string log() const;
  // How many times `text` occurs in the log so far.
  [[nodiscard]] std::size_t log_count(std::string_view text) const;
  // Waits (polling the log, up to `timeout`) until `text` occurs at least
  // `count` times; false if it did not in time.
  [[nodiscard]] bool wait_for_log(std::string_view text, std::size_t count,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(15)) const;

 private:
  ServerOptions options_;
  std::filesystem::path data_dir_;
  bool owns_data_dir_ = false;
  // With PARLEY_TEST_BACKEND=postgres: the test database of this data
  // folder (named in its file pg-database, so that a server started again
  // on the folder finds the same data); dropped with a folder we own.
  std::string pg_database_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int starts_ = 0;
};

}  // namespace parley::test
