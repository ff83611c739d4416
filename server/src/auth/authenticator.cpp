#include "auth/authenticator.hpp"

#include "auth/token.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "storage/store.hpp"

namespace parley::auth {
namespace {

constexpr UnixMillis kTouchInterval = 60'000;

}  // namespace

boost::asio::awaitable<Principal> Authenticator::authenticate(std::string_view authorization) {
  std::string_view token = bearer_token(authorization);
  if (token.empty()) throw ApiError(ErrorCode::kUnauthorized, "missing bearer token");
  co_return co_await authenticate_token(token);
}

boost::asio::awaitable<Principal> Authenticator::authenticate_token(std::string_view token) {
  if (token.empty()) throw ApiError(ErrorCode::kUnauthorized, "missing token");
  std::string token_hash = hash_token(token);
  auto session = store_.read([&](storage::Transaction& tx) { return tx.session_by_token_hash(token_hash); });
  if (!session) throw ApiError(ErrorCode::kUnauthorized, "invalid or revoked token");

  UnixMillis now = now_millis();
  UnixMillis idle_limit = std::chrono::duration_cast<std::chrono::milliseconds>(options_.session_idle_timeout).count();
  if (now - session->last_seen_at > idle_limit) {
    co_await store_.write([&](storage::Transaction& tx) { tx.delete_session(session->user_id, session->id); });
    throw ApiError(ErrorCode::kUnauthorized, "session expired");
  }
  if (now - session->last_seen_at >= kTouchInterval) {
    co_await store_.write([&](storage::Transaction& tx) { tx.touch_session(session->id, now); });
  }
  co_return Principal{session->user_id, session->id};
}

}  // namespace parley::auth
