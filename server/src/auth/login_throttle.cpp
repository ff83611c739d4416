#include "auth/login_throttle.hpp"

#include <algorithm>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace parley::auth {
namespace {

// One client commonly holds a whole IPv6 /64; counting its addresses one by
// one would give it 2^64 budgets.
std::string address_key(std::string_view address) {
  boost::system::error_code ec;
  auto parsed = boost::asio::ip::make_address(address, ec);
  if (ec || !parsed.is_v6() || parsed.to_v6().is_v4_mapped()) return std::string(address);
  auto bytes = parsed.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

// Keys of different kinds never collide: each starts with its kind, and a
// NUL (which no username, address or device id holds) separates the parts.
std::string pair_key(const LoginAttempt& a) {
  return fmt::format("p{}{}{}", a.account, '\0', address_key(a.address));
}
std::string device_key(const LoginAttempt& a) { return fmt::format("d{}{}{}", a.account, '\0', a.known_device); }
std::string account_key(const LoginAttempt& a) { return fmt::format("u{}", a.account); }
std::string address_only_key(const LoginAttempt& a) { return "a" + address_key(a.address); }

}  // namespace

LoginThrottle::LoginThrottle(const AuthOptions& options) : options_(options) {}

std::optional<std::chrono::seconds> LoginThrottle::check(const std::string& key, Clock::time_point now) {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  // Touched on every check, so a key under attack stays at the front.
  lru_.splice(lru_.begin(), lru_, it->second);
  const Entry& entry = *it->second;
  if (now >= entry.blocked_until) return std::nullopt;
  // Round up so that a client waiting exactly Retry-After is let in.
  return std::max(std::chrono::ceil<std::chrono::seconds>(entry.blocked_until - now), std::chrono::seconds(1));
}

std::optional<std::chrono::seconds> LoginThrottle::retry_after(const LoginAttempt& attempt, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::optional<std::chrono::seconds> wait;
  auto consider = [&](const std::string& key) {
    auto w = check(key, now);
    if (w && (!wait || *w > *wait)) wait = w;
  };
  if (!attempt.known_device.empty()) {
    consider(device_key(attempt));
  } else {
    consider(pair_key(attempt));
    consider(address_only_key(attempt));
    consider(account_key(attempt));
  }
  return wait;
}

void LoginThrottle::count(std::string key, unsigned free, Clock::time_point now) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    if (lru_.size() >= options_.login_throttle_max_entries) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Entry{std::move(key), 0, now, now});
    it = index_.emplace(lru_.front().key, lru_.begin()).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  Entry& entry = *it->second;
  if (entry.failures > 0 && now - entry.last_failure >= options_.login_failure_window) entry.failures = 0;
  ++entry.failures;
  entry.last_failure = now;
  if (entry.failures >= free) {
    // base * 2^(failures - free), computed without overflowing.
    unsigned doublings = std::min(entry.failures - free, 30U);
    Clock::duration delay = std::chrono::duration_cast<Clock::duration>(options_.login_delay_base) * (1L << doublings);
    delay = std::min<Clock::duration>(delay, std::chrono::duration_cast<Clock::duration>(options_.login_delay_max));
    entry.blocked_until = now + delay;
  }
}

void LoginThrottle::record_failure(const LoginAttempt& attempt, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (!attempt.known_device.empty()) {
    count(device_key(attempt), options_.login_failures_per_pair, now);
    return;
  }
  count(pair_key(attempt), options_.login_failures_per_pair, now);
  count(address_only_key(attempt), options_.login_failures_per_address, now);
  count(account_key(attempt), options_.login_failures_per_account, now);
}

void LoginThrottle::erase(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  auto entry = it->second;
  index_.erase(it);
  lru_.erase(entry);
}

void LoginThrottle::record_success(const LoginAttempt& attempt) {
  std::lock_guard lock(mutex_);
  erase(pair_key(attempt));
  if (!attempt.known_device.empty()) erase(device_key(attempt));
}

std::size_t LoginThrottle::size() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

}  // namespace parley::auth
