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
// Several nodes (docs/architecture.md "Several nodes: what is shared"): with
// a SharedThrottle (Redis counters with expiry, cluster/shared_counters.hpp)
// the counts and blocks are kept there too, so a guesser spreading attempts
// over nodes meets one budget. The local counters stay as they are and the
// stricter of the two answers wins; when the shared store cannot be reached
// each node falls back to its own counters (a guesser then gets at most one
// budget per node, never none).
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
#include <utility>
#include <vector>

#include "core/config.hpp"

namespace parley::auth {

// Who is trying to log in, as far as the server can tell before the password
// is checked.
struct LoginAttempt {
  std::string_view account;       // the username given
  std::string_view address;       // the client address (http/client_address)
  std::string_view known_device;  // a verified device id of this account, or empty
};

// Failure counts and blocks kept for all nodes. Every call returns nullopt
// (or does nothing) when the store cannot be reached, quickly: the caller
// then relies on its own counters. Thread-safe.
class SharedThrottle {
 public:
  virtual ~SharedThrottle() = default;
  // Counts one failure under each key; a key's count is forgotten `window`
  // after its last failure. Returns the counts, in the keys' order.
  virtual std::optional<std::vector<unsigned>> add_failures(const std::vector<std::string>& keys,
                                                            std::chrono::milliseconds window) = 0;
  // Blocks each key for its duration.
  virtual void block(const std::vector<std::pair<std::string, std::chrono::milliseconds>>& blocks) = 0;
  // The longest block left among the keys (zero when none is blocked).
  virtual std::optional<std::chrono::milliseconds> blocked(const std::vector<std::string>& keys) = 0;
  // Forgets the keys' counts and blocks.
  virtual void forget(const std::vector<std::string>& keys) = 0;
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

  // Shares counts and blocks with the other nodes through `shared` (owned
  // by the caller, alive as long as this). Set once at start-up.
  void set_shared(SharedThrottle* shared) { shared_ = shared; }

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
  SharedThrottle* shared_ = nullptr;
  mutable std::mutex mutex_;
  Lru lru_;                                                 // guarded by mutex_
  std::unordered_map<std::string_view, Lru::iterator> index_;  // guarded by mutex_; keys view into lru_
};

}  // namespace parley::auth
