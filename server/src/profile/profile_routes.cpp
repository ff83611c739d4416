#include "profile/profile_routes.hpp"

#include "api/lookups.hpp"
#include "api/services.hpp"
#include "api/views.hpp"
#include "auth/authenticator.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/validation.hpp"
#include "http/json_body.hpp"
#include "http/router.hpp"
#include "media/avatar.hpp"
#include "messaging/messages.hpp"
#include "realtime/presence.hpp"
#include "storage/store.hpp"

namespace parley::profile {
namespace {

using boost::asio::awaitable;
using boost::json::object;
using http::JsonBody;
using http::Request;
using http::Response;
using storage::Transaction;

constexpr std::size_t kMaxDisplayName = 64;
constexpr std::size_t kMaxStatusText = 140;

class ProfileRoutes {
 public:
  explicit ProfileRoutes(api::Services& services) : s_(services) {}

  awaitable<Response> get_me(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_return Response::json(object{{"user", api::me_view(load_user(me.user_id))}});
  }

  awaitable<Response> patch_me(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    JsonBody body(request);
    storage::ProfilePatch patch;
    patch.display_name = body.optional_string("display_name");
    patch.status_text = body.optional_string("status_text");
    patch.avatar_media_id = body.nullable_string("avatar_media_id");
    body.reject_unknown_fields();
    if (patch.display_name) validation::text("display_name", *patch.display_name, 1, kMaxDisplayName);
    if (patch.status_text) validation::text("status_text", *patch.status_text, 0, kMaxStatusText);
    auto user = co_await s_.store.write([&](Transaction& tx) {
      // An image the user may read (media/avatar.hpp); checked in the write
      // so that it cannot change in between.
      if (patch.avatar_media_id && *patch.avatar_media_id) {
        media::require_avatar_image(tx, me.user_id, "avatar_media_id", **patch.avatar_media_id,
                                    s_.config.media.max_image_pixels);
      }
      tx.update_user(me.user_id, patch);
      return tx.user_by_id(me.user_id);
    });
    if (!user) throw ApiError(ErrorCode::kUnauthorized, "account no longer exists");
    co_return Response::json(object{{"user", api::me_view(*user)}});
  }

  awaitable<Response> get_settings(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_return Response::json(object{{"settings", settings(me.user_id)}});
  }

  awaitable<Response> patch_settings(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    JsonBody body(request);
    storage::ProfilePatch patch;
    if (auto visibility = body.optional_string("last_seen_visibility")) {
      patch.last_seen_visibility = api::parse_visibility(*visibility);
    }
    patch.notifications_enabled = body.optional_bool("notifications_enabled");
    patch.notification_previews = body.optional_bool("notification_previews");
    body.reject_unknown_fields();
    co_await s_.store.write([&](Transaction& tx) { tx.update_user(me.user_id, patch); });
    // Who may see this user's presence may have changed (not an event).
    if (patch.last_seen_visibility) {
      realtime::Presence::relationships_changed();
      s_.hub.relay_presence_rules_changed();  // and on the other nodes
    }
    co_return Response::json(object{{"settings", settings(me.user_id)}});
  }

  awaitable<Response> put_mute(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto conversation = http::id_param(request, "conversation_id");
    JsonBody body(request);
    auto until = body.optional_int("muted_until");
    body.reject_unknown_fields();
    if (!until) throw ApiError(ErrorCode::kValidationFailed, "muted_until: is required");
    if (*until <= now_millis()) throw ApiError(ErrorCode::kValidationFailed, "muted_until: must be in the future");
    co_await s_.store.write([&](Transaction& tx) {
      messaging::require_member(tx, conversation, me.user_id);
      tx.set_mute(me.user_id, conversation, *until);
    });
    co_return Response::json(object{{"conversation_id", conversation}, {"muted_until", *until}});
  }

  awaitable<Response> delete_mute(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto conversation = http::id_param(request, "conversation_id");
    if (!co_await s_.store.write([&](Transaction& tx) { return tx.delete_mute(me.user_id, conversation); })) {
      throw ApiError(ErrorCode::kNotFound, "conversation is not muted");
    }
    co_return Response::no_content();
  }

  awaitable<Response> get_user(Request& request) {
    [[maybe_unused]] auto viewer = co_await s_.authenticator.authenticate(request.authorization);
    auto user = s_.store.read([&](Transaction& tx) { return api::user_named(tx, request.param("username")); });
    co_return Response::json(object{{"user", api::public_user_view(user)}});
  }

 private:
  storage::User load_user(storage::UserId id) {
    auto user = s_.store.read([&](Transaction& tx) { return tx.user_by_id(id); });
    if (!user) throw ApiError(ErrorCode::kUnauthorized, "account no longer exists");
    return *user;
  }

  object settings(storage::UserId id) {
    return s_.store.read([&](Transaction& tx) {
      auto user = tx.user_by_id(id);
      if (!user) throw ApiError(ErrorCode::kUnauthorized, "account no longer exists");
      return api::settings_view(*user, tx.mutes(id));
    });
  }

  api::Services& s_;
};

}  // namespace

void register_profile_routes(http::Router& router, api::Services& services) {
  auto routes = std::make_shared<ProfileRoutes>(services);
  auto bind = [&](auto method) { return http::member_handler(routes, method); };
  router.add("GET", "/api/v1/me", bind(&ProfileRoutes::get_me));
  router.add("PATCH", "/api/v1/me", bind(&ProfileRoutes::patch_me));
  router.add("GET", "/api/v1/me/settings", bind(&ProfileRoutes::get_settings));
  router.add("PATCH", "/api/v1/me/settings", bind(&ProfileRoutes::patch_settings));
  router.add("PUT", "/api/v1/me/settings/mutes/{conversation_id}", bind(&ProfileRoutes::put_mute));
  router.add("DELETE", "/api/v1/me/settings/mutes/{conversation_id}", bind(&ProfileRoutes::delete_mute));
  router.add("GET", "/api/v1/users/{username}", bind(&ProfileRoutes::get_user));
}

}  // namespace parley::profile
