#include "auth/authenticator.hpp"

#include <algorithm>

#include "auth/token.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "storage/store.hpp"

namespace parley::auth {

Authenticator::Authenticator(storage::Store& store, const AuthOptions& options)
    : store_(store),
      options_(options),
      // The stored time may lag by one interval: at most half the idle
      // timeout, so that a session in use is never swept as idle.
      touch_interval_(std::min<std::chrono::milliseconds>(
          options.session_touch_interval,
          std::max<std::chrono::milliseconds>(std::chrono::milliseconds(1),
                                              std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  options.session_idle_timeout) /
                                                  2))),
      cache_(options.session_cache_entries) {}

boost::asio::awaitable<Principal> Authenticator::authenticate(std::string_view authorization) {
  std::string_view token = bearer_token(authorization);
  if (token.empty()) throw ApiError(ErrorCode::kUnauthorized, "missing bearer token");
  co_return co_await authenticate_token(token);
}

boost::asio::awaitable<Principal> Authenticator::authenticate_token(std::string_view token) {
  if (token.empty()) throw ApiError(ErrorCode::kUnauthorized, "missing token");
  std::string token_hash = hash_token(token);
  auto entry = cache_sessions_ ? cache_.find(token_hash) : std::nullopt;
  if (!entry) {
    // Taken before the read: a deletion committing meanwhile makes insert()
    // drop what this read found.
    auto epoch = cache_.epoch();
    auto session = store_.read([&](storage::Transaction& tx) { return tx.session_by_token_hash(token_hash); });
    if (!session) throw ApiError(ErrorCode::kUnauthorized, "invalid or revoked token");
    entry = SessionCache::Entry{session->user_id, session->id, last_used(session->id, session->last_seen_at)};
    if (cache_sessions_) cache_.insert(epoch, std::move(token_hash), *entry);
  }

  UnixMillis now = now_millis();
  UnixMillis idle_limit = std::chrono::duration_cast<std::chrono::milliseconds>(options_.session_idle_timeout).count();
  if (now - entry->last_used > idle_limit) {
    co_await store_.write([&](storage::Transaction& tx) { tx.delete_session(entry->user_id, entry->session_id); });
    sessions_ended({entry->session_id});
    throw ApiError(ErrorCode::kUnauthorized, "session expired");
  }
  touch(entry->session_id, now);
  co_return Principal{entry->user_id, entry->session_id};
}

bool Authenticator::session_exists(storage::UserId user, storage::SessionId session) {
  if (cache_sessions_ && cache_.holds(session)) return true;
  return store_.read([&](storage::Transaction& tx) {
    auto sessions = tx.sessions(user);
    return std::any_of(sessions.begin(), sessions.end(), [&](const auto& s) { return s.id == session; });
  });
}

void Authenticator::sessions_ended(const std::vector<storage::SessionId>& sessions) {
  cache_.forget(sessions);
  std::lock_guard lock(touches_mutex_);
  for (auto session : sessions) touches_.erase(session);
}

void Authenticator::touch(storage::SessionId session, UnixMillis at) {
  cache_.used(session, at);
  bool full = false;
  {
    std::lock_guard lock(touches_mutex_);
    auto& latest = touches_[session];
    latest = std::max(latest, at);
    // Bounded like the cache: so many sessions used within one interval
    // are written now rather than held.
    full = touches_.size() >= options_.session_cache_entries;
  }
  if (full) flush_touches();
}

UnixMillis Authenticator::last_used(storage::SessionId session, UnixMillis stored) const {
  std::lock_guard lock(touches_mutex_);
  auto found = touches_.find(session);
  return found == touches_.end() ? stored : std::max(stored, found->second);
}

void Authenticator::flush_touches() {
  std::unordered_map<storage::SessionId, UnixMillis> batch;
  {
    std::lock_guard lock(touches_mutex_);
    batch.swap(touches_);
  }
  if (batch.empty()) return;
  auto shared = std::make_shared<std::unordered_map<storage::SessionId, UnixMillis>>(std::move(batch));
  // A session deleted meanwhile is not written back: touch_session updates
  // an existing row only.
  store_.submit_write(
      [shared](storage::Transaction& tx) {
        for (const auto& [session, at] : *shared) tx.touch_session(session, at);
      },
      [count = shared->size()](std::exception_ptr error) {
        if (error) log::get("auth")->warn("could not record session uses count={}", count);
      });
}

}  // namespace parley::auth
