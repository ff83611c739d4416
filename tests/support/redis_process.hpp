// A throwaway redis-server for tests (scripts/redis-test-server.sh): on a
// free loopback port, in a temporary folder, killed and restarted on the same
// port at will.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <sys/types.h>

namespace parley::test {

class RedisProcess {
 public:
  RedisProcess();   // starts it and waits until it answers PING
  ~RedisProcess();  // SIGKILLs it and removes its folder
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] bool running() const { return pid_ > 0; }

  // SIGKILL, as a crash would; waits until it is gone.
  void kill9();
  // Starts it again on the same port (empty: it kept nothing).
  void start();

 private:
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace parley::test
