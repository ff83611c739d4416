#include "support/server_process.hpp"

#include "support/pg_database.hpp"
#include "support/test_folder.hpp"

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace parley::test {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(20);

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

ServerProcess::ServerProcess(ServerOptions options) : options_(std::move(options)) {
  if (options_.data_dir.empty()) {
    data_dir_ = make_test_folder();
    owns_data_dir_ = true;
  } else {
    data_dir_ = options_.data_dir;
  }
  // The minimum argon2 cost parleyd accepts keeps each hash near 20 ms.
  std::ofstream config(data_dir_ / "test.toml");
  config << "log_level = \"debug\"\n";
  if (options_.extra_config.find("[auth]") == std::string::npos) {
    config << "[auth]\npassword_memory_kib = 19456\npassword_passes = 2\n";
  }
  // No default sticker pack unless a test asks for it: its images would be
  // blob files that tests counting the media folder do not expect.
  if (options_.extra_config.find("[stickers]") == std::string::npos) {
    config << "[stickers]\ninstall_default_pack = false\n";
  }
  std::string extra = options_.extra_config;
  if (postgres_backend_selected()) {
    auto name_file = data_dir_ / "pg-database";
    pg_database_ = read_file(name_file);
    if (pg_database_.empty()) {
      pg_database_ = create_test_database();
      std::ofstream(name_file) << pg_database_;
    }
    std::string storage = "backend = \"postgres\"\npostgres_url = \"" + test_database_conninfo(pg_database_) +
                          "\"\npostgres_pool_size = 4\n";
    // One [storage] table: the test's own, if it has one, gets the lines.
    if (auto at = extra.find("[storage]\n"); at != std::string::npos) {
      extra.insert(at + 10, storage);
    } else {
      config << "[storage]\n" << storage;
    }
  }
  config << extra << "\n";
  config.close();
  start();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) kill9();
  if (owns_data_dir_ && std::getenv("PARLEY_TEST_KEEP") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
    if (!pg_database_.empty()) drop_test_database(pg_database_);
  }
}

void ServerProcess::start() {
  auto log_path = data_dir_ / "parleyd.log";
  std::size_t log_offset = read_file(log_path).size();
  ++starts_;
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, STDERR_FILENO);
    dup2(fd, STDOUT_FILENO);
    std::string config = (data_dir_ / "test.toml").string();
    std::string data = (data_dir_ / "data").string();
    execl(PARLEYD_PATH, "parleyd", "--config", config.c_str(), "--listen", "127.0.0.1:0", "--data-dir",
          data.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  static const std::regex listening(R"(listening address=127\.0\.0\.1:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = read_file(log_path).substr(log_offset);
    std::smatch match;
    if (std::regex_search(text, match, listening)) {
      port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("parleyd exited during start:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill9();
  throw std::runtime_error("parleyd did not start listening in time:\n" + log());
}

int ServerProcess::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return wait_exit();
}

int ServerProcess::wait_exit() {
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
  return -1;
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ServerProcess::log() const { return read_file(data_dir_ / "parleyd.log"); }

std::size_t ServerProcess::log_count(std::string_view text) const {
  std::string all = log();
  std::size_t count = 0;
  for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size())) ++count;
  return count;
}

bool ServerProcess::wait_for_log(std::string_view text, std::size_t count, std::chrono::milliseconds timeout) const {
  // parleyd has no other channel to say what it did in the background; the
  // log file is polled, briefly, until the line is there.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (log_count(text) < count) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace parley::test
