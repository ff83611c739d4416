// parleyd as a whole: builds every component from a Config, serves until
// told to stop, and shuts down in order.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace parley::app {

class ServerApp {
 public:
  // Opens the data directory and database (migrating it) and registers every
  // route. Throws on any failure to start.
  explicit ServerApp(Config config);
  ~ServerApp();

  // Listens and serves until SIGINT or SIGTERM, then shuts down gracefully:
  // stop accepting, finish requests in flight, close the database. SIGHUP
  // reloads the TLS certificate and key. Returns the process exit code.
  int run();

  // "METHOD /pattern" of every registered route, for --print-routes.
  [[nodiscard]] std::vector<std::string> route_list() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::app
