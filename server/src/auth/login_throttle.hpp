// Slows down password (and second-factor) guessing without letting a guesser
// lock the real user out, after OWASP's Authentication Cheat Sheet (account
// lockout, device cookies).
//
// Failures are counted under several keys, and each key is handled with
// exponential backoff: up to `free` - 1 failures cost nothing (people
// mistype); the free-th blocks the key for login_delay_base, and each further
// one for twice as long as the last (base, 2 base, 4 base, ... capped at
// login_delay_max). A key's count is forgotten once it has seen no failure
// for login_failure_window, so delays decay when the guessing stops.
//
//   (account, address)  login_failures_per_pair: one client guessing one
//                       account.
//   address             login_failures_per_address: one client spraying many
//                       accounts (IPv6 addresses count by their /64, which
//                       one client commonly owns whole).
//   account             login_failures_per_account: many addresses guessing
//                       one account (a botnet). This key blocks only
//                       attempts from unknown devices.
//   (account, device)   login_failures_per_pair: a known device, one that
//                       proved itself with a device token from an earlier
//                       successful login of this account (or a session of
//                       it). Such an attempt is checked and counted only
//                       under this key, so no failure from elsewhere, however
//                       many, ever delays it: the real user keeps logging in
//                       from their own devices while the account is under
//                       attack.
//
// A successful login clears the (account, address) and (account, device)
// keys, never the address or account keys: one right guess must not refill a
// guesser's budget.
//
// Memory is bounded: at most max_entries keys are kept, and when full the
// least recently touched key is evicted. A key under attack is touched by
// every attempt, so guessing cannot push its own counters out; what falls out
// are keys nobody has used for the longest time.
//
// Time is passed in by the caller (steady clock), so tests control it.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/config.hpp"

namespace parley::auth {

// Who is trying to log in, as far as the server can tell before the password
// is checked.
struct LoginAttempt {
  std::string_view account;       // the username given
  std::string_view address;       // the client address (http/client_address)
  std::string_view known_device;  // a verified device id of this account, or empty
};

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoginThrottle(const AuthOptions& options);

  // How long the caller must wait before this attempt may be checked, or
  // nullopt if it may proceed now. Checking does not count as a failure.
  [[nodiscard]] std::optional<std::chrono::seconds> retry_after(const LoginAttempt& attempt,
                                                                Clock::time_point now = Clock::now());

  // Counts a failed attempt under its keys.
  void record_failure(const LoginAttempt& attempt, Clock::time_point now = Clock::now());

  // Clears the attempt's (account, address) and (account, device) keys.
  void record_success(const LoginAttempt& attempt);

  // Keys held now (for tests and metrics).
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::string key;
    unsigned failures = 0;
    Clock::time_point last_failure;
    Clock::time_point blocked_until;
  };
  using Lru = std::list<Entry>;  // most recently touched first

  std::optional<std::chrono::seconds> check(const std::string& key, Clock::time_point now);
  void count(std::string key, unsigned free, Clock::time_point now);
  void erase(const std::string& key);

  AuthOptions options_;
  mutable std::mutex mutex_;
  Lru lru_;                                                 // guarded by mutex_
  std::unordered_map<std::string_view, Lru::iterator> index_;  // guarded by mutex_; keys view into lru_
};

}  // namespace parley::auth
