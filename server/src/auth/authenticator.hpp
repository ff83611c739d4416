// Resolves a request's bearer token to the session it belongs to, from
// memory when it can (auth/session_cache.hpp), and keeps sessions'
// last-used times in memory, written to the database at most once per
// session per auth.session_touch_interval.
#pragma once

#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "auth/session_cache.hpp"
#include "core/config.hpp"
#include "storage/records.hpp"

namespace parley::storage {
class Store;
}

namespace parley::auth {

struct Principal {
  storage::UserId user_id = 0;
  storage::SessionId session_id = 0;
};

class Authenticator {
 public:
  Authenticator(storage::Store& store, const AuthOptions& options);

  // The session of an "Authorization: Bearer" header value. Throws ApiError
  // kUnauthorized when the header is missing or malformed, or the token is
  // unknown, revoked or idle for longer than the session idle timeout (an
  // expired session is deleted). A cached session costs no database read;
  // an unknown token costs one. Records the use in memory (see touch()).
  [[nodiscard]] boost::asio::awaitable<Principal> authenticate(std::string_view authorization);

  // The same for a bare token (WebSocket hello frames).
  [[nodiscard]] boost::asio::awaitable<Principal> authenticate_token(std::string_view token);

  // Whether the session still exists, as of now: from memory when cached,
  // else one read. For the check after a WebSocket attaches (realtime::Hub::
  // attach_checked): a deletion committed before it is seen, because
  // sessions_ended() runs before the deleter closes connections.
  [[nodiscard]] bool session_exists(storage::UserId user, storage::SessionId session);

  // Every code path that deletes sessions calls this after its commit and
  // before it closes their connections or answers: the sessions are never
  // accepted from memory again, and their unwritten uses are dropped.
  void sessions_ended(const std::vector<storage::SessionId>& sessions);

  // The session was used now (a request, or a WebSocket that ended): kept
  // in memory, written by flush_touches().
  void touch(storage::SessionId session, UnixMillis at);

  // The last-used time to show for a session whose stored time is `stored`:
  // the later of it and a use not yet written.
  [[nodiscard]] UnixMillis last_used(storage::SessionId session, UnixMillis stored) const;

  // Writes the uses recorded since the last flush, in one write. Called
  // every touch_interval() (app/server_app.cpp) and at shutdown, so each
  // session is written at most once per interval.
  void flush_touches();

  // How often flush_touches() runs: auth.session_touch_interval, at most
  // half the session idle timeout.
  [[nodiscard]] std::chrono::milliseconds touch_interval() const { return touch_interval_; }

  [[nodiscard]] std::size_t cached_sessions() const { return cache_.size(); }

  // On several nodes (cluster mode) another node can delete a session, and
  // the message that tells this node can be lost: sessions are then read
  // from the database at every authentication, never from memory
  // (docs/architecture.md "Several nodes"). Call before serving.
  void read_sessions_every_time() { cache_sessions_ = false; }

 private:
  storage::Store& store_;
  AuthOptions options_;
  std::chrono::milliseconds touch_interval_;
  SessionCache cache_;
  bool cache_sessions_ = true;
  mutable std::mutex touches_mutex_;
  std::unordered_map<storage::SessionId, UnixMillis> touches_;  // not yet written; guarded by touches_mutex_
};

}  // namespace parley::auth
