#include "auth/login_throttle.hpp"

#include "core/log.hpp"

namespace parley::auth {

LoginThrottle::LoginThrottle(const AuthOptions& options)
    : window_(options.login_failure_window),
      per_user_(options.login_failures_per_user),
      per_address_(options.login_failures_per_address) {}

std::optional<std::chrono::seconds> LoginThrottle::check(Table& table, std::string_view key, unsigned limit,
                                                         Clock::time_point now) {
  auto it = table.find(std::string(key));
  if (it == table.end()) return std::nullopt;
  auto ends = it->second.started + window_;
  if (now >= ends) {
    table.erase(it);
    return std::nullopt;
  }
  if (it->second.failures < limit) return std::nullopt;
  // Round up so that a client waiting exactly Retry-After is let in.
  auto left = std::chrono::ceil<std::chrono::seconds>(ends - now);
  return std::max(left, std::chrono::seconds(1));
}

std::optional<std::chrono::seconds> LoginThrottle::retry_after(std::string_view username, std::string_view address,
                                                               Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto user_wait = check(by_user_, username, per_user_, now);
  auto address_wait = check(by_address_, address, per_address_, now);
  if (user_wait && address_wait) return std::max(*user_wait, *address_wait);
  return user_wait ? user_wait : address_wait;
}

void LoginThrottle::count(Table& table, std::string_view key, Clock::time_point now) {
  if (table.size() >= kMaxTracked && !table.contains(std::string(key))) {
    std::erase_if(table, [&](const auto& entry) { return now >= entry.second.started + window_; });
    if (table.size() >= kMaxTracked) {
      log::get("auth")->warn("login throttle table full, resetting entries={}", table.size());
      table.clear();
    }
  }
  auto [it, inserted] = table.try_emplace(std::string(key), Window{now, 0});
  if (!inserted && now >= it->second.started + window_) it->second = Window{now, 0};
  ++it->second.failures;
}

void LoginThrottle::record_failure(std::string_view username, std::string_view address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  count(by_user_, username, now);
  count(by_address_, address, now);
}

void LoginThrottle::record_success(std::string_view username) {
  std::lock_guard lock(mutex_);
  by_user_.erase(std::string(username));
}

}  // namespace parley::auth
