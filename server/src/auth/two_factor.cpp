#include "auth/two_factor.hpp"

#include <array>

#include <sodium.h>

#include "auth/token.hpp"
#include "auth/totp.hpp"
#include "core/clock.hpp"
#include "storage/store.hpp"

namespace parley::auth {
namespace {

constexpr std::size_t kRecoveryCodeBytes = 10;  // 80 bits: 16 base32 characters

}  // namespace

std::vector<std::string> generate_recovery_codes() {
  std::vector<std::string> codes;
  for (int i = 0; i < kRecoveryCodeCount; ++i) {
    std::array<char, kRecoveryCodeBytes> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    std::string plain = totp::base32_encode(std::string_view(bytes.data(), bytes.size()));
    std::string code;
    for (std::size_t j = 0; j < plain.size(); ++j) {
      if (j > 0 && j % 4 == 0) code.push_back('-');
      code.push_back(static_cast<char>(plain[j] >= 'A' && plain[j] <= 'Z' ? plain[j] - 'A' + 'a' : plain[j]));
    }
    codes.push_back(std::move(code));
  }
  return codes;
}

std::optional<std::string> recovery_code_hash(std::string_view code) {
  if (code.size() > 64) return std::nullopt;
  std::string compact;
  for (char c : code) {
    if (c != '-' && c != ' ') compact.push_back(c);
  }
  if (compact.size() != 16) return std::nullopt;
  auto bytes = totp::base32_decode(compact);
  if (!bytes || bytes->size() != kRecoveryCodeBytes) return std::nullopt;
  return hash_token(*bytes);
}

boost::asio::awaitable<bool> spend_second_factor(storage::Store& store, storage::UserId user, std::string_view code) {
  auto factor = store.read([&](storage::Transaction& tx) { return tx.two_factor(user); });
  if (!factor || !factor->enabled) co_return false;
  if (code.size() == static_cast<std::size_t>(totp::kDigits)) {
    std::int64_t now_step = totp::step_at(now_millis() / 1000);
    auto step = totp::verify(factor->secret, code, now_step, factor->last_used_step);
    if (!step) co_return false;
    // The read above may be stale: the write decides, so a code raced by two
    // requests is accepted once.
    co_return co_await store.write([&](storage::Transaction& tx) { return tx.use_two_factor_step(user, *step); });
  }
  auto hash = recovery_code_hash(code);
  if (!hash) co_return false;
  co_return co_await store.write(
      [&](storage::Transaction& tx) { return tx.use_recovery_code(user, *hash, now_millis()); });
}

std::string LoginChallenges::create(PendingLogin login, Clock::time_point now) {
  std::string token = generate_token();
  std::lock_guard lock(mutex_);
  while (!order_.empty() && (order_.size() >= max_pending_ || order_.front().expires <= now)) {
    index_.erase(order_.front().hash);
    order_.pop_front();
  }
  order_.push_back(Entry{hash_token(token), std::move(login), now + lifetime_, 0});
  index_.emplace(order_.back().hash, std::prev(order_.end()));
  return token;
}

std::optional<PendingLogin> LoginChallenges::find(std::string_view token, Clock::time_point now) {
  std::string hash = hash_token(token);
  std::lock_guard lock(mutex_);
  auto it = index_.find(hash);
  if (it == index_.end() || it->second->expires <= now) return std::nullopt;
  return it->second->login;
}

void LoginChallenges::fail(std::string_view token) {
  std::string hash = hash_token(token);
  std::lock_guard lock(mutex_);
  auto it = index_.find(hash);
  if (it == index_.end()) return;
  if (++it->second->failures >= max_attempts_) {
    auto entry = it->second;
    index_.erase(it);
    order_.erase(entry);
  }
}

bool LoginChallenges::finish(std::string_view token, Clock::time_point now) {
  std::string hash = hash_token(token);
  std::lock_guard lock(mutex_);
  auto it = index_.find(hash);
  if (it == index_.end()) return false;
  bool live = it->second->expires > now;
  auto entry = it->second;
  index_.erase(it);
  order_.erase(entry);
  return live;
}

}  // namespace parley::auth
