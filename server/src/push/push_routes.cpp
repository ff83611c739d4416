#include "push/push_routes.hpp"

#include <fmt/format.h>

#include "api/services.hpp"
#include "auth/authenticator.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/json_body.hpp"
#include "http/router.hpp"
#include "push/endpoint.hpp"
#include "push/push_crypto.hpp"
#include "push/push_service.hpp"
#include "storage/store.hpp"

namespace parley::push {
namespace {

using boost::asio::awaitable;
using boost::json::object;
using http::JsonBody;
using http::Request;
using http::Response;
using storage::Transaction;

// Base64url of a 65-byte key is 87 characters; of 16 bytes, 22. Longer
// text is refused before it is decoded.
constexpr std::size_t kMaxKeyText = 128;

[[noreturn]] void invalid(std::string_view field, std::string_view why) {
  throw ApiError(ErrorCode::kValidationFailed, fmt::format("{}: {}", field, why));
}

std::string decode_key(JsonBody& keys, std::string_view field, std::string_view name) {
  auto text = keys.optional_string(field);
  if (!text) invalid(name, "is required");
  if (text->size() > kMaxKeyText) invalid(name, "is too long");
  auto bytes = base64url_decode(*text);
  if (!bytes) invalid(name, "is not base64url");
  return *bytes;
}

object subscription_view(const storage::PushSubscription& s, storage::SessionId current) {
  return object{{"id", s.id},
                {"endpoint", s.endpoint},
                {"session_id", s.session_id},
                {"current_session", s.session_id == current},
                {"created_at", s.created_at}};
}

class PushRoutes {
 public:
  PushRoutes(api::Services& services, PushService& push) : s_(services), push_(push) {}

  awaitable<Response> get_key(Request&) {
    co_return Response::json(
        object{{"public_key", base64url_encode(push_.public_key())}, {"enabled", s_.config.push.enabled}});
  }

  awaitable<Response> post_subscription(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    const auto& options = s_.config.push;
    JsonBody body(request);
    auto endpoint_text = body.optional_string("endpoint");
    auto keys_object = body.optional_object("keys");
    body.ignore("expirationTime");  // the browser's; the push service's answers are what count
    body.reject_unknown_fields();
    if (!endpoint_text) invalid("endpoint", "is required");
    std::string reason;
    auto endpoint = parse_endpoint(*endpoint_text, &reason);
    if (!endpoint) invalid("endpoint", reason);
    if (!options.allow_private_endpoints && is_obviously_private_host(endpoint->host)) {
      invalid("endpoint", "must not point to a loopback, private or link-local address");
    }
    if (!keys_object) invalid("keys", "is required");
    JsonBody keys(std::move(*keys_object));
    storage::PushSubscription subscription;
    subscription.p256dh = decode_key(keys, "p256dh", "keys.p256dh");
    subscription.auth = decode_key(keys, "auth", "keys.auth");
    keys.reject_unknown_fields();
    if (!is_valid_p256_public_key(subscription.p256dh)) {
      invalid("keys.p256dh", "is not an uncompressed P-256 public key (65 bytes, on the curve)");
    }
    if (subscription.auth.size() != 16) invalid("keys.auth", "must be 16 bytes");
    subscription.user_id = me.user_id;
    subscription.session_id = me.session_id;
    subscription.endpoint = *endpoint_text;
    subscription.created_at = now_millis();
    auto limit = options.max_subscriptions_per_user;
    auto stored = co_await s_.store.write([&](Transaction& tx) {
      auto existing = tx.push_subscriptions(me.user_id);
      bool replaces = std::any_of(existing.begin(), existing.end(),
                                  [&](const auto& s) { return s.endpoint == subscription.endpoint; });
      if (!replaces && existing.size() >= limit) {
        throw ApiError(ErrorCode::kConflict,
                       fmt::format("at most {} push subscriptions per account: delete one first", limit));
      }
      return tx.upsert_push_subscription(subscription);
    });
    co_return Response::json(object{{"subscription", subscription_view(stored, me.session_id)}}, 201);
  }

  awaitable<Response> list_subscriptions(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto list = s_.store.read([&](Transaction& tx) { return tx.push_subscriptions(me.user_id); });
    boost::json::array items;
    for (const auto& s : list) items.push_back(subscription_view(s, me.session_id));
    co_return Response::json(object{{"subscriptions", std::move(items)}});
  }

  awaitable<Response> delete_subscription(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "subscription_id");
    if (!co_await s_.store.write([&](Transaction& tx) { return tx.delete_push_subscription(me.user_id, id); })) {
      throw ApiError(ErrorCode::kNotFound, "no such push subscription");
    }
    co_return Response::no_content();
  }

 private:
  api::Services& s_;
  PushService& push_;
};

}  // namespace

void register_push_routes(http::Router& router, api::Services& services, PushService& push) {
  auto routes = std::make_shared<PushRoutes>(services, push);
  auto bind = [&](auto method) { return http::member_handler(routes, method); };
  router.add("GET", "/api/v1/push/vapid-public-key", bind(&PushRoutes::get_key));
  router.add("POST", "/api/v1/push/subscriptions", bind(&PushRoutes::post_subscription));
  router.add("GET", "/api/v1/push/subscriptions", bind(&PushRoutes::list_subscriptions));
  router.add("DELETE", "/api/v1/push/subscriptions/{subscription_id}", bind(&PushRoutes::delete_subscription));
}

}  // namespace parley::push
