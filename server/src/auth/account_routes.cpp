#include "auth/account_routes.hpp"

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include "api/services.hpp"
#include "api/views.hpp"
#include "auth/authenticator.hpp"
#include "auth/device_token.hpp"
#include "auth/login_throttle.hpp"
#include "auth/password_hasher.hpp"
#include "auth/token.hpp"
#include "auth/two_factor.hpp"
#include "core/clock.hpp"
#include "realtime/hub.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/validation.hpp"
#include "http/json_body.hpp"
#include "http/router.hpp"
#include "storage/store.hpp"

namespace parley::auth {
namespace {

using boost::asio::awaitable;
using boost::json::object;
using http::JsonBody;
using http::Request;
using http::Response;
using storage::Transaction;

constexpr std::size_t kMaxDisplayName = 64;
constexpr std::size_t kMaxDeviceName = 64;

// A device name from the request, or one derived from the User-Agent.
std::string device_name(std::optional<std::string> given, std::string_view user_agent) {
  if (given) {
    validation::text("device_name", *given, 1, kMaxDeviceName);
    return *given;
  }
  // User-Agent is a free-form header: keep its printable ASCII only, so the
  // name obeys the same rules as one the client gives.
  std::string derived;
  for (char c : user_agent) {
    if (derived.size() == kMaxDeviceName) break;
    if (c >= 0x20 && c < 0x7F) derived.push_back(c);
  }
  if (derived.find_first_not_of(' ') == std::string::npos) return "unknown device";
  return derived;
}

class AccountRoutes {
 public:
  explicit AccountRoutes(api::Services& services)
      : s_(services),
        devices_(DeviceTokens::load_or_create(services.config.data_dir / "device-token.key")),
        logger_(log::get("auth")) {}

  awaitable<Response> register_account(Request& request) {
    JsonBody body(request);
    std::string username = validation::username(body.required_string("username"));
    std::string password = body.required_string("password");
    std::string display_name = body.required_string("display_name");
    body.reject_unknown_fields();
    validation::password("password", password);
    validation::text("display_name", display_name, 1, kMaxDisplayName);

    // Checked before hashing only to save the work; the insert below decides.
    if (s_.store.read([&](Transaction& tx) { return tx.user_by_username(username); })) {
      throw ApiError(ErrorCode::kUsernameTaken, "username is taken");
    }
    std::string hash = co_await s_.hasher.hash(std::move(password));
    auto user = co_await s_.store.write([&](Transaction& tx) -> std::optional<storage::User> {
      // A deleted account's name stays taken for a while (docs/security.md
      // "Account deletion"): nobody may pass for them under it.
      if (tx.username_reserved(hash_token(username), now_millis())) return std::nullopt;
      return tx.insert_user(storage::NewUser{username, hash, display_name, now_millis()});
    });
    if (!user) throw ApiError(ErrorCode::kUsernameTaken, "username is taken");
    logger_->info("account registered user_id={}", user->id);
    co_return Response::json(object{{"user", api::me_view(*user)}}, 201);
  }

  awaitable<Response> login(Request& request) {
    JsonBody body(request);
    std::string username = validation::username(body.required_string("username"));
    std::string password = body.required_string("password");
    auto device = body.optional_string("device_name");
    auto device_token = body.optional_string("device_token");
    body.reject_unknown_fields();
    if (password.size() > validation::kMaxPasswordBytes) {
      validation::password("password", password);  // throws the size error
    }
    std::string name = device_name(std::move(device), request.user_agent);

    auto user = s_.store.read([&](Transaction& tx) { return tx.user_by_username(username); });
    // A device that logged in to this account before is throttled on its
    // own, so that failures from elsewhere never lock it out. A token that
    // does not verify is ignored: the attempt counts as an unknown device.
    std::optional<std::string> known_device;
    if (user && device_token) known_device = devices_.verify(*device_token, user->id);
    LoginAttempt attempt{username, request.remote_address, known_device ? *known_device : std::string_view()};
    if (auto wait = s_.throttle.retry_after(attempt)) {
      throw ApiError(ErrorCode::kTooManyRequests, "too many failed logins, try again later", *wait);
    }
    std::optional<std::string> hash;
    if (user) hash = s_.store.read([&](Transaction& tx) { return tx.password_hash(user->id); });
    // An unknown user costs a full verification too, so that timing does not
    // tell which usernames exist.
    bool ok = hash ? co_await s_.hasher.verify(*hash, password) : co_await s_.hasher.verify_dummy(password);
    if (!ok) {
      s_.throttle.record_failure(attempt);
      logger_->info("login failed remote={} known_device={}", request.remote_address, known_device.has_value());
      throw ApiError(ErrorCode::kInvalidCredentials, "wrong username or password");
    }
    auto factor = s_.store.read([&](Transaction& tx) { return tx.two_factor(user->id); });
    if (factor && factor->enabled) {
      // The password was right; the session waits for the second factor.
      // The throttle's counts stay until then, so that knowing the password
      // buys no fresh budget for guessing codes.
      std::string challenge = challenges_.create(PendingLogin{user->id, user->username, std::move(name),
                                                              known_device.value_or(std::string()),
                                                              known_device ? *device_token : std::string()});
      logger_->info("login awaits second factor user_id={}", user->id);
      co_return Response::json(object{{"two_factor_required", true},
                                      {"challenge", challenge},
                                      {"expires_in", challenges_.lifetime().count()}});
    }
    s_.throttle.record_success(attempt);
    // Named, not a temporary in the co_await expression: GCC 12 mishandles
    // conditional-operator temporaries there.
    std::string kept_token = known_device ? *device_token : std::string();
    co_return co_await open_session(*user, std::move(name), std::move(kept_token));
  }

  // The second step of a login with two-factor login enabled.
  awaitable<Response> login_second_factor(Request& request) {
    JsonBody body(request);
    std::string challenge = body.required_string("challenge");
    std::string code = body.required_string("code");
    body.reject_unknown_fields();

    auto pending = challenges_.find(challenge);
    if (!pending) throw ApiError(ErrorCode::kInvalidChallenge, "challenge is unknown or expired, log in again");
    // Throttled under the same keys as the password, so codes are guessed no
    // faster than passwords; the challenge also ends after a few wrong codes.
    LoginAttempt attempt{pending->username, request.remote_address, pending->known_device};
    if (auto wait = s_.throttle.retry_after(attempt)) {
      throw ApiError(ErrorCode::kTooManyRequests, "too many failed logins, try again later", *wait);
    }
    if (!co_await spend_second_factor(s_.store, pending->user_id, code)) {
      s_.throttle.record_failure(attempt);
      challenges_.fail(challenge);
      logger_->info("second factor failed user_id={} remote={}", pending->user_id, request.remote_address);
      throw ApiError(ErrorCode::kInvalidTwoFactorCode, "wrong, expired or already used code");
    }
    if (!challenges_.finish(challenge)) {
      throw ApiError(ErrorCode::kInvalidChallenge, "challenge is unknown or expired, log in again");
    }
    s_.throttle.record_success(attempt);
    auto user = s_.store.read([&](Transaction& tx) { return tx.user_by_id(pending->user_id); });
    if (!user) throw ApiError(ErrorCode::kInvalidChallenge, "account no longer exists");
    co_return co_await open_session(*user, pending->device_name, pending->device_token);
  }

  awaitable<Response> list_sessions(Request& request) {
    Principal me = co_await s_.authenticator.authenticate(request.authorization);
    auto sessions = s_.store.read([&](Transaction& tx) { return tx.sessions(me.user_id); });
    boost::json::array list;
    for (auto& session : sessions) {
      // Uses not yet written (at most one touch interval's) are in memory.
      session.last_seen_at = s_.authenticator.last_used(session.id, session.last_seen_at);
      list.push_back(api::session_view(session, session.id == me.session_id));
    }
    co_return Response::json(object{{"sessions", std::move(list)}});
  }

  awaitable<Response> logout(Request& request) {
    Principal me = co_await s_.authenticator.authenticate(request.authorization);
    co_await s_.store.write([&](Transaction& tx) { tx.delete_session(me.user_id, me.session_id); });
    close_sockets({me.session_id});
    co_return Response::no_content();
  }

  awaitable<Response> revoke_session(Request& request) {
    Principal me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "session_id");
    bool deleted = co_await s_.store.write([&](Transaction& tx) { return tx.delete_session(me.user_id, id); });
    // Another user's session id gets the same answer as one that never existed.
    if (!deleted) throw ApiError(ErrorCode::kNotFound, "no such session");
    close_sockets({id});
    co_return Response::no_content();
  }

  awaitable<Response> revoke_other_sessions(Request& request) {
    Principal me = co_await s_.authenticator.authenticate(request.authorization);
    auto revoked =
        co_await s_.store.write([&](Transaction& tx) { return tx.delete_other_sessions(me.user_id, me.session_id); });
    close_sockets(revoked);
    co_return Response::json(object{{"revoked", revoked.size()}});
  }

  awaitable<Response> change_password(Request& request) {
    Principal me = co_await s_.authenticator.authenticate(request.authorization);
    JsonBody body(request);
    std::string current = body.required_string("current_password");
    std::string replacement = body.required_string("new_password");
    body.reject_unknown_fields();
    validation::password("new_password", replacement);

    auto user = s_.store.read([&](Transaction& tx) { return tx.user_by_id(me.user_id); });
    if (!user) throw ApiError(ErrorCode::kUnauthorized, "account no longer exists");
    // The throttle guards this too: a stolen token must not become an oracle
    // for guessing the password.
    // The session is a known device: its failures count under its own key,
    // and guessing elsewhere does not block it.
    std::string session_device = fmt::format("session:{}", me.session_id);
    LoginAttempt attempt{user->username, request.remote_address, session_device};
    if (auto wait = s_.throttle.retry_after(attempt)) {
      throw ApiError(ErrorCode::kTooManyRequests, "too many failed attempts, try again later", *wait);
    }
    auto hash = s_.store.read([&](Transaction& tx) { return tx.password_hash(me.user_id); });
    if (!hash || !co_await s_.hasher.verify(*hash, current)) {
      s_.throttle.record_failure(attempt);
      throw ApiError(ErrorCode::kForbidden, "current_password is wrong");
    }
    s_.throttle.record_success(attempt);
    std::string new_hash = co_await s_.hasher.hash(std::move(replacement));
    auto revoked = co_await s_.store.write([&](Transaction& tx) {
      tx.set_password_hash(me.user_id, new_hash);
      return tx.delete_other_sessions(me.user_id, me.session_id);
    });
    close_sockets(revoked);
    logger_->info("password changed user_id={} sessions_revoked={}", me.user_id, revoked.size());
    co_return Response::no_content();
  }

 private:
  // Creates the session of a completed login. `device_token` is the valid
  // token the device sent (it keeps it, and so its throttling key), or empty
  // for a device that gets its first.
  // (Parameters by value: a coroutine must not hold references to its
  // caller's temporaries.)
  awaitable<Response> open_session(storage::User user, std::string name, std::string device_token) {
    std::string token = generate_token();
    std::string token_hash = hash_token(token);
    auto session = co_await s_.store.write(
        [&](Transaction& tx) { return tx.insert_session(user.id, token_hash, name, now_millis()); });
    logger_->info("login user_id={} session_id={}", user.id, session.id);
    std::string device_proof = device_token.empty() ? devices_.issue(user.id) : device_token;
    co_return Response::json(object{{"token", token},
                                    {"device_token", device_proof},
                                    {"session", api::session_view(session, true)},
                                    {"user", api::me_view(user)}},
                             201);
  }

  // After the commit that deleted `sessions`: they are no longer accepted
  // from memory (before anything else can observe the deletion), and their
  // open WebSocket connections end now, not at their next request.
  void close_sockets(const std::vector<storage::SessionId>& sessions) {
    s_.authenticator.sessions_ended(sessions);
    if (!sessions.empty()) s_.hub.close_sessions(sessions, realtime::close_code::kSessionRevoked, "session revoked");
  }

  api::Services& s_;
  DeviceTokens devices_;
  LoginChallenges challenges_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

void register_account_routes(http::Router& router, api::Services& services) {
  auto routes = std::make_shared<AccountRoutes>(services);
  auto bind = [&](auto method) { return http::member_handler(routes, method); };
  router.add("POST", "/api/v1/accounts", bind(&AccountRoutes::register_account));
  router.add("POST", "/api/v1/sessions", bind(&AccountRoutes::login));
  router.add("POST", "/api/v1/sessions/two-factor", bind(&AccountRoutes::login_second_factor));
  router.add("GET", "/api/v1/sessions", bind(&AccountRoutes::list_sessions));
  router.add("DELETE", "/api/v1/sessions/current", bind(&AccountRoutes::logout));
  router.add("DELETE", "/api/v1/sessions/{session_id}", bind(&AccountRoutes::revoke_session));
  router.add("POST", "/api/v1/sessions/revoke-others", bind(&AccountRoutes::revoke_other_sessions));
  router.add("POST", "/api/v1/me/password", bind(&AccountRoutes::change_password));
}

}  // namespace parley::auth
