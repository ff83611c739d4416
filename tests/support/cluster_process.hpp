// A whole Parley cluster for black-box tests: scripts/cluster.sh run as a
// child process (PostgreSQL, Redis, three parleyd nodes of this build and
// HAProxy in front, all on loopback, in a temporary folder), with the
// failures the tests inflict on it: kill -9 a node, kill Redis and start it
// again, cut Redis's connections (ss -K), restart PostgreSQL.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace parley::test {

class ClusterProcess {
 public:
  // Starts scripts/cluster.sh --no-build with this build's parleyd and
  // `node_config` (TOML appended to every node's config), and waits (up to
  // 90 s) until it wrote cluster.env, i.e. until HAProxy answers /readyz.
  // Throws std::runtime_error (with the script's output) if it fails.
  explicit ClusterProcess(const std::string& node_config = "");
  // SIGTERM to the script (it stops everything and removes its folder),
  // SIGKILL if it did not end in 30 s.
  ~ClusterProcess();
  ClusterProcess(const ClusterProcess&) = delete;
  ClusterProcess& operator=(const ClusterProcess&) = delete;

  // HAProxy's port: what clients use.
  [[nodiscard]] std::uint16_t lb_port() const;
  // A node's own port (node 1 to 3), for tests that pick the node.
  [[nodiscard]] std::uint16_t node_port(int node) const;
  [[nodiscard]] std::uint16_t redis_port() const;
  // The PostgreSQL connection string of the cluster's database.
  [[nodiscard]] std::string postgres_conninfo() const;
  // A node's stderr so far, and how often `text` occurs in it.
  [[nodiscard]] std::string node_log(int node) const;
  [[nodiscard]] std::size_t node_log_count(int node, std::string_view text) const;
  // Waits until `text` occurs at least `count` times in a node's log.
  [[nodiscard]] bool wait_for_node_log(int node, std::string_view text, std::size_t count,
                                       std::chrono::milliseconds timeout) const;

  // SIGKILL to a node, as a crash; returns once the process is gone.
  void kill_node(int node);
  // SIGKILL to Redis; returns once it is gone (its port refuses).
  void kill_redis();
  // Starts Redis again on its port (empty); returns once it answers PING.
  void start_redis();
  // Cuts every TCP connection to Redis's port with `ss -K` (Redis keeps
  // running); returns how many connections were open before. Throws if
  // `ss -K` is not available.
  int cut_redis_connections();
  // `pg_ctl restart -m fast`: ends every connection, restarts; returns once
  // PostgreSQL accepts connections again.
  void restart_postgres();

 private:
  [[nodiscard]] const std::string& env(const std::string& key) const;

  std::filesystem::path dir_;
  pid_t script_pid_ = -1;
  pid_t redis_pid_ = -1;  // Redis when this object started it again
  std::map<std::string, std::string> env_;
};

}  // namespace parley::test
