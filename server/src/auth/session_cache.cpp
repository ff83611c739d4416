#include "auth/session_cache.hpp"

#include <algorithm>

namespace parley::auth {

SessionCache::Epoch SessionCache::epoch() const {
  std::lock_guard lock(mutex_);
  return epoch_;
}

std::optional<SessionCache::Entry> SessionCache::find(std::string_view token_hash) {
  std::lock_guard lock(mutex_);
  auto found = by_token_.find(token_hash);
  if (found == by_token_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, found->second);
  return found->second->entry;
}

bool SessionCache::holds(storage::SessionId session) const {
  std::lock_guard lock(mutex_);
  return by_session_.contains(session);
}

bool SessionCache::insert(Epoch read_at, std::string token_hash, Entry entry) {
  std::lock_guard lock(mutex_);
  if (epoch_ != read_at) return false;  // a deletion may have committed after the read began
  if (auto found = by_token_.find(token_hash); found != by_token_.end()) {
    auto& cached = found->second->entry;
    cached.last_used = std::max(cached.last_used, entry.last_used);
    lru_.splice(lru_.begin(), lru_, found->second);
    return true;
  }
  lru_.push_front(Node{std::move(token_hash), entry});
  auto node = lru_.begin();
  by_token_.emplace(node->token_hash, node);
  by_session_[entry.session_id] = node;
  while (lru_.size() > capacity_) {
    auto& last = lru_.back();
    by_token_.erase(last.token_hash);
    by_session_.erase(last.entry.session_id);
    lru_.pop_back();
  }
  return true;
}

void SessionCache::used(storage::SessionId session, UnixMillis at) {
  std::lock_guard lock(mutex_);
  auto found = by_session_.find(session);
  if (found == by_session_.end()) return;
  auto& cached = found->second->entry;
  cached.last_used = std::max(cached.last_used, at);
}

void SessionCache::forget(const std::vector<storage::SessionId>& sessions) {
  std::lock_guard lock(mutex_);
  ++epoch_;
  for (auto session : sessions) {
    auto found = by_session_.find(session);
    if (found == by_session_.end()) continue;
    auto node = found->second;
    by_token_.erase(node->token_hash);
    by_session_.erase(found);
    lru_.erase(node);
  }
}

std::size_t SessionCache::size() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

}  // namespace parley::auth
