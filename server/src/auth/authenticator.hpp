// Resolves a request's bearer token to the session it belongs to.
#pragma once

#include <string_view>

#include <boost/asio/awaitable.hpp>

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
  Authenticator(storage::Store& store, const AuthOptions& options) : store_(store), options_(options) {}

  // The session of an "Authorization: Bearer" header value. Throws ApiError
  // kUnauthorized when the header is missing or malformed, or the token is
  // unknown, revoked or idle for longer than the session idle timeout (an
  // expired session is deleted). Refreshes the session's last-seen time,
  // at most once a minute to spare the database a write per request.
  [[nodiscard]] boost::asio::awaitable<Principal> authenticate(std::string_view authorization);

  // The same for a bare token (WebSocket hello frames).
  [[nodiscard]] boost::asio::awaitable<Principal> authenticate_token(std::string_view token);

 private:
  storage::Store& store_;
  AuthOptions options_;
};

}  // namespace parley::auth
