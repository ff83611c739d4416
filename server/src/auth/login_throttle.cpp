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

// base * 2^(failures - free), computed without overflowing, capped at max.
template <typename Duration>
Duration delay_for(unsigned failures, unsigned free, const AuthOptions& options) {
  unsigned doublings = std::min(failures - free, 30U);
  Duration delay = std::chrono::duration_cast<Duration>(options.login_delay_base) * (1L << doublings);
  return std::min<Duration>(delay, std::chrono::duration_cast<Duration>(options.login_delay_max));
}

// The keys an attempt is checked (and counted) under, with each one's free
// failures.
std::vector<std::pair<std::string, unsigned>> keys_of(const LoginAttempt& attempt, const AuthOptions& options) {
  if (!attempt.known_device.empty()) return {{device_key(attempt), options.login_failures_per_pair}};
  return {{pair_key(attempt), options.login_failures_per_pair},
          {address_only_key(attempt), options.login_failures_per_address},
          {account_key(attempt), options.login_failures_per_account}};
}

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
  std::unique_lock lock(mutex_);
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
  lock.unlock();
  if (shared_ != nullptr) {
    std::vector<std::string> keys;
    for (auto& [key, free] : keys_of(attempt, options_)) keys.push_back(std::move(key));
    if (auto remote = shared_->blocked(keys); remote && remote->count() > 0) {
      auto w = std::max(std::chrono::ceil<std::chrono::seconds>(*remote), std::chrono::seconds(1));
      if (!wait || w > *wait) wait = w;
    }
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
    entry.blocked_until = now + delay_for<Clock::duration>(entry.failures, free, options_);
  }
}

void LoginThrottle::record_failure(const LoginAttempt& attempt, Clock::time_point now) {
  auto keys = keys_of(attempt, options_);
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, free] : keys) count(key, free, now);
  }
  if (shared_ == nullptr) return;
  // The same backoff on the shared counts, outside the lock (a network
  // round trip).
  std::vector<std::string> names;
  for (const auto& [key, free] : keys) names.push_back(key);
  auto counts = shared_->add_failures(
      names, std::chrono::duration_cast<std::chrono::milliseconds>(options_.login_failure_window));
  if (!counts || counts->size() != keys.size()) return;
  std::vector<std::pair<std::string, std::chrono::milliseconds>> blocks;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if ((*counts)[i] >= keys[i].second) {
      blocks.emplace_back(keys[i].first, delay_for<std::chrono::milliseconds>((*counts)[i], keys[i].second, options_));
    }
  }
  if (!blocks.empty()) shared_->block(blocks);
}

void LoginThrottle::erase(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  auto entry = it->second;
  index_.erase(it);
  lru_.erase(entry);
}

void LoginThrottle::record_success(const LoginAttempt& attempt) {
  {
    std::lock_guard lock(mutex_);
    erase(pair_key(attempt));
    if (!attempt.known_device.empty()) erase(device_key(attempt));
  }
  if (shared_ != nullptr) {
    std::vector<std::string> keys{pair_key(attempt)};
    if (!attempt.known_device.empty()) keys.push_back(device_key(attempt));
    shared_->forget(keys);
  }
}

std::size_t LoginThrottle::size() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

}  // namespace parley::auth
