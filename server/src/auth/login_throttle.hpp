// Counts failed logins per username and per client address in fixed windows,
// and says when a login attempt must be refused (429) before any password is
// checked.
//
// Memory is bounded: each table keeps at most kMaxTracked keys. When a table
// is full, expired windows are dropped first; if it is still full, the whole
// table is reset (and a warning logged) rather than grow.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/config.hpp"

namespace parley::auth {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxTracked = 100'000;

  explicit LoginThrottle(const AuthOptions& options);

  // How long the caller must wait, or nullopt if the attempt may proceed.
  [[nodiscard]] std::optional<std::chrono::seconds> retry_after(std::string_view username,
                                                                std::string_view address,
                                                                Clock::time_point now = Clock::now());

  void record_failure(std::string_view username, std::string_view address, Clock::time_point now = Clock::now());

  // A successful login clears the username's failures (not the address's:
  // one correct guess must not reset an attacker's budget for other names).
  void record_success(std::string_view username);

 private:
  struct Window {
    Clock::time_point started;
    unsigned failures = 0;
  };
  using Table = std::unordered_map<std::string, Window>;

  std::optional<std::chrono::seconds> check(Table& table, std::string_view key, unsigned limit,
                                            Clock::time_point now);
  void count(Table& table, std::string_view key, Clock::time_point now);

  std::chrono::seconds window_;
  unsigned per_user_;
  unsigned per_address_;
  std::mutex mutex_;
  Table by_user_;     // guarded by mutex_
  Table by_address_;  // guarded by mutex_
};

}  // namespace parley::auth
