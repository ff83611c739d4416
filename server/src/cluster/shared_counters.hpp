// Counters every node shares, in Redis, with expiry (docs/architecture.md
// "Several nodes: what is shared"): login throttling's failure counts and
// blocks (auth::SharedThrottle).
//
// Calls block the calling thread for one round trip (a pipeline of a few
// commands), bounded by cluster.redis_timeout_ms; they are made on login
// attempts only, which already wait for a password hash. When Redis cannot
// be reached a call returns nullopt at once and the next attempt to
// connect waits a backoff (100 ms doubling to 5 s), so an I/O thread never
// queues behind a dead Redis: each node then counts on its own.
//
// Keys: parley:throttle:f:<key> (failures, PEXPIRE window) and
// parley:throttle:b:<key> (a block, PX its duration).
//
// Thread-safe (one connection under a mutex: the traffic is small).
#pragma once

#include <chrono>
#include <mutex>

#include "auth/login_throttle.hpp"
#include "cluster/redis_client.hpp"

namespace parley::cluster {

class SharedCounters final : public auth::SharedThrottle {
 public:
  SharedCounters(RedisEndpoint endpoint, std::chrono::milliseconds timeout);

  std::optional<std::vector<unsigned>> add_failures(const std::vector<std::string>& keys,
                                                    std::chrono::milliseconds window) override;
  void block(const std::vector<std::pair<std::string, std::chrono::milliseconds>>& blocks) override;
  std::optional<std::chrono::milliseconds> blocked(const std::vector<std::string>& keys) override;
  void forget(const std::vector<std::string>& keys) override;

 private:
  // Runs the commands; nullopt when Redis is unreachable (or in backoff).
  std::optional<std::vector<RedisReply>> run(const std::vector<std::vector<std::string>>& commands);

  RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  RedisConnection connection_;                  // guarded by mutex_
  Backoff backoff_{std::chrono::milliseconds(100), std::chrono::seconds(5)};  // guarded by mutex_
  std::chrono::steady_clock::time_point retry_at_{};  // guarded by mutex_
};

}  // namespace parley::cluster
