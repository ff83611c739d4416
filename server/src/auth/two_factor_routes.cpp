#include "auth/two_factor_routes.hpp"

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include "api/services.hpp"
#include "auth/authenticator.hpp"
#include "auth/login_throttle.hpp"
#include "auth/password_hasher.hpp"
#include "auth/qr_code.hpp"
#include "auth/token.hpp"
#include "auth/totp.hpp"
#include "auth/two_factor.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
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

// The name authenticator apps show above the account's codes.
constexpr std::string_view kIssuer = "Parley";

class TwoFactorRoutes {
 public:
  explicit TwoFactorRoutes(api::Services& services) : s_(services), logger_(log::get("auth")) {}

  awaitable<Response> status(Request& request) {
    Principal me = co_await s_.authenticator.authenticate(request.authorization);
    auto [factor, left] = s_.store.read([&](Transaction& tx) {
      return std::pair{tx.two_factor(me.user_id), tx.unused_recovery_codes(me.user_id)};
    });
    co_return Response::json(object{{"enabled", factor && factor->enabled},
                                    {"pending", factor && !factor->enabled},
                                    {"recovery_codes_left", factor && factor->enabled ? left : 0}});
  }

  // Starts (or restarts) an enrolment: a new secret, not yet in force.
  awaitable<Response> enrol(Request& request) {
    Principal me = co_await s_.authenticator.authenticate(request.authorization);
    JsonBody body(request);
    std::string password = body.required_string("password");
    body.reject_unknown_fields();
    // The password, not only the session: a stolen session must not be able
    // to put the account behind an authenticator its owner does not hold.
    auto user = co_await check_password(me, request, password);
    std::string device = session_device(me);
    s_.throttle.record_success(LoginAttempt{user.username, request.remote_address, device});
    if (auto factor = s_.store.read([&](Transaction& tx) { return tx.two_factor(me.user_id); });
        factor && factor->enabled) {
      throw ApiError(ErrorCode::kConflict, "two-factor login is already enabled; disable it first");
    }
    std::string secret = totp::generate_secret();
    co_await s_.store.write([&](Transaction& tx) { tx.begin_two_factor(me.user_id, secret, now_millis()); });
    std::string uri = totp::otpauth_uri(kIssuer, user.username, secret);
    logger_->info("two-factor enrolment started user_id={}", me.user_id);
    co_return Response::json(object{{"secret", totp::base32_encode(secret)},
                                    {"otpauth_uri", uri},
                                    {"qr_svg", qr_svg(uri)},
                                    {"qr_text", qr_text(uri)}});
  }

  // Enables two-factor login with the first code from the authenticator,
  // which proves it holds the secret, and hands out the recovery codes.
  awaitable<Response> confirm(Request& request) {
    Principal me = co_await s_.authenticator.authenticate(request.authorization);
    JsonBody body(request);
    std::string code = body.required_string("code");
    body.reject_unknown_fields();
    auto user = s_.store.read([&](Transaction& tx) { return tx.user_by_id(me.user_id); });
    if (!user) throw ApiError(ErrorCode::kUnauthorized, "account no longer exists");
    std::string device = session_device(me);
    LoginAttempt attempt{user->username, request.remote_address, device};
    if (auto wait = s_.throttle.retry_after(attempt)) {
      throw ApiError(ErrorCode::kTooManyRequests, "too many failed attempts, try again later", *wait);
    }
    auto factor = s_.store.read([&](Transaction& tx) { return tx.two_factor(me.user_id); });
    if (!factor || factor->enabled) throw ApiError(ErrorCode::kConflict, "no two-factor enrolment is pending");
    auto step = totp::verify(factor->secret, code, totp::step_at(now_millis() / 1000), factor->last_used_step);
    if (!step) {
      s_.throttle.record_failure(attempt);
      throw ApiError(ErrorCode::kForbidden, "code: wrong or expired (check the device's clock)");
    }
    s_.throttle.record_success(attempt);
    auto codes = generate_recovery_codes();
    std::vector<std::string> hashes;
    for (const auto& c : codes) hashes.push_back(*recovery_code_hash(c));
    bool enabled = co_await s_.store.write(
        [&](Transaction& tx) { return tx.enable_two_factor(me.user_id, *step, hashes, now_millis()); });
    if (!enabled) throw ApiError(ErrorCode::kConflict, "no two-factor enrolment is pending");
    logger_->info("two-factor login enabled user_id={}", me.user_id);
    boost::json::array list;
    for (auto& c : codes) list.emplace_back(c);
    co_return Response::json(object{{"enabled", true}, {"recovery_codes", std::move(list)}});
  }

  // Turns two-factor login off (or drops a pending enrolment): needs the
  // password and a current code or a recovery code.
  awaitable<Response> disable(Request& request) {
    Principal me = co_await s_.authenticator.authenticate(request.authorization);
    JsonBody body(request);
    std::string password = body.required_string("password");
    std::string code = body.required_string("code");
    body.reject_unknown_fields();
    auto user = co_await check_password(me, request, password);
    auto factor = s_.store.read([&](Transaction& tx) { return tx.two_factor(me.user_id); });
    if (!factor) throw ApiError(ErrorCode::kConflict, "two-factor login is not enabled");
    if (factor->enabled) {
      std::string device = session_device(me);
      LoginAttempt attempt{user.username, request.remote_address, device};
      if (!co_await spend_second_factor(s_.store, me.user_id, code)) {
        s_.throttle.record_failure(attempt);
        throw ApiError(ErrorCode::kForbidden, "code: wrong, expired or already used");
      }
      s_.throttle.record_success(attempt);
    }
    co_await s_.store.write([&](Transaction& tx) { tx.delete_two_factor(me.user_id); });
    logger_->info("two-factor login disabled user_id={}", me.user_id);
    co_return Response::no_content();
  }

 private:
  // The session is a known device: its failures count under its own key.
  static std::string session_device(const Principal& me) { return fmt::format("session:{}", me.session_id); }

  // Checks the account's password, throttled like a login from this session.
  awaitable<storage::User> check_password(const Principal& me, const Request& request, const std::string& password) {
    auto user = s_.store.read([&](Transaction& tx) { return tx.user_by_id(me.user_id); });
    if (!user) throw ApiError(ErrorCode::kUnauthorized, "account no longer exists");
    std::string device = session_device(me);
    LoginAttempt attempt{user->username, request.remote_address, device};
    if (auto wait = s_.throttle.retry_after(attempt)) {
      throw ApiError(ErrorCode::kTooManyRequests, "too many failed attempts, try again later", *wait);
    }
    auto hash = s_.store.read([&](Transaction& tx) { return tx.password_hash(me.user_id); });
    if (!hash || !co_await s_.hasher.verify(*hash, password)) {
      s_.throttle.record_failure(attempt);
      throw ApiError(ErrorCode::kForbidden, "password is wrong");
    }
    co_return *user;
  }

  api::Services& s_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

void register_two_factor_routes(http::Router& router, api::Services& services) {
  auto routes = std::make_shared<TwoFactorRoutes>(services);
  auto bind = [&](auto method) { return http::member_handler(routes, method); };
  router.add("GET", "/api/v1/me/two-factor", bind(&TwoFactorRoutes::status));
  router.add("POST", "/api/v1/me/two-factor", bind(&TwoFactorRoutes::enrol));
  router.add("POST", "/api/v1/me/two-factor/confirm", bind(&TwoFactorRoutes::confirm));
  router.add("POST", "/api/v1/me/two-factor/disable", bind(&TwoFactorRoutes::disable));
}

}  // namespace parley::auth
