// Two-factor login: the pieces shared by the login route (the second step)
// and the account's two-factor settings routes.
//
//   - recovery codes: ten per enrolment, 80 random bits each, shown once as
//     "xxxx-xxxx-xxxx-xxxx" (base32) and stored only as SHA-256 hashes;
//   - spend_second_factor: checks a TOTP code (one step of clock skew either
//     way, each step usable once) or a recovery code (usable once) and
//     spends it, atomically, so two concurrent uses of one code cannot both
//     succeed;
//   - LoginChallenges: logins whose password was right and whose second
//     step is pending, held in memory for a few minutes.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "storage/records.hpp"

namespace parley::storage {
class Store;
}

namespace parley::auth {

constexpr int kRecoveryCodeCount = 10;

// kRecoveryCodeCount new codes, formatted for people ("abcd-efgh-ijkl-mnop").
[[nodiscard]] std::vector<std::string> generate_recovery_codes();

// The stored hash of a recovery code as typed (case, spaces and dashes do
// not matter), or nullopt if it cannot be one.
[[nodiscard]] std::optional<std::string> recovery_code_hash(std::string_view code);

// Whether `code` (six digits, or a recovery code) is a valid second factor of
// `user`'s enabled authenticator right now, spending it if so. False for a
// wrong, out-of-window or reused code, or when two-factor login is off.
[[nodiscard]] boost::asio::awaitable<bool> spend_second_factor(storage::Store& store, storage::UserId user,
                                                               std::string_view code);

// A login waiting for its second factor.
struct PendingLogin {
  storage::UserId user_id = 0;
  std::string username;
  std::string device_name;
  std::string known_device;  // the verified device id, or empty
  std::string device_token;  // the valid device token the client sent, or empty
};

// Challenges: random tokens (as session tokens, stored hashed) naming a
// PendingLogin. A challenge lives `lifetime`, allows `max_attempts` wrong
// codes, and works for one successful second step. At most `max_pending`
// are held; beyond that the oldest is dropped (its user logs in again).
// In memory only: a restart drops pending second steps. Thread-safe.
class LoginChallenges {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kLifetime{300};
  static constexpr unsigned kMaxAttempts = 5;
  static constexpr std::size_t kMaxPending = 10'000;

  LoginChallenges(std::chrono::seconds lifetime = kLifetime, unsigned max_attempts = kMaxAttempts,
                  std::size_t max_pending = kMaxPending)
      : lifetime_(lifetime), max_attempts_(max_attempts), max_pending_(max_pending) {}

  // A new challenge token for `login`.
  [[nodiscard]] std::string create(PendingLogin login, Clock::time_point now = Clock::now());

  // The pending login of a live challenge, or nullopt.
  [[nodiscard]] std::optional<PendingLogin> find(std::string_view token, Clock::time_point now = Clock::now());

  // Counts a wrong code; the challenge ends at max_attempts.
  void fail(std::string_view token);

  // Ends the challenge; returns whether it was still live (exactly one
  // caller gets true).
  bool finish(std::string_view token, Clock::time_point now = Clock::now());

  [[nodiscard]] std::chrono::seconds lifetime() const { return lifetime_; }

 private:
  struct Entry {
    std::string hash;
    PendingLogin login;
    Clock::time_point expires;
    unsigned failures = 0;
  };
  using Order = std::list<Entry>;  // oldest first

  std::chrono::seconds lifetime_;
  unsigned max_attempts_;
  std::size_t max_pending_;
  std::mutex mutex_;
  Order order_;                                                // guarded by mutex_
  std::unordered_map<std::string_view, Order::iterator> index_;  // guarded by mutex_; views into order_
};

}  // namespace parley::auth
