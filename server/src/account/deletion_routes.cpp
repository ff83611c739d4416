#include "account/deletion_routes.hpp"

#include "account/export_service.hpp"

#include <boost/json/object.hpp>
#include <fmt/format.h>

#include "api/services.hpp"
#include "auth/authenticator.hpp"
#include "auth/login_throttle.hpp"
#include "auth/password_hasher.hpp"
#include "auth/token.hpp"
#include "auth/two_factor.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/validation.hpp"
#include "events/emit.hpp"
#include "http/json_body.hpp"
#include "http/router.hpp"
#include "messaging/messages.hpp"
#include "realtime/hub.hpp"
#include "storage/store.hpp"

namespace parley::account {
namespace {

using boost::asio::awaitable;
using boost::json::object;
using http::JsonBody;
using http::Request;
using http::Response;
using storage::Transaction;

class DeletionRoutes {
 public:
  explicit DeletionRoutes(api::Services& services) : s_(services), logger_(log::get("auth")) {}

  awaitable<Response> delete_me(Request& request) {
    auth::Principal me = co_await s_.authenticator.authenticate(request.authorization);
    JsonBody body(request);
    std::string password = body.required_string("password");
    auto code = body.optional_string("two_factor_code");
    body.reject_unknown_fields();
    if (password.size() > validation::kMaxPasswordBytes) validation::password("password", password);

    auto user = s_.store.read([&](Transaction& tx) { return tx.user_by_id(me.user_id); });
    if (!user) throw ApiError(ErrorCode::kUnauthorized, "account no longer exists");
    // Throttled as a password change is: a stolen token must not become an
    // oracle for guessing the password.
    std::string session_device = fmt::format("session:{}", me.session_id);
    auth::LoginAttempt attempt{user->username, request.remote_address, session_device};
    if (auto wait = s_.throttle.retry_after(attempt)) {
      throw ApiError(ErrorCode::kTooManyRequests, "too many failed attempts, try again later", *wait);
    }
    auto hash = s_.store.read([&](Transaction& tx) { return tx.password_hash(me.user_id); });
    if (!hash || !co_await s_.hasher.verify(*hash, password)) {
      s_.throttle.record_failure(attempt);
      throw ApiError(ErrorCode::kForbidden, "password is wrong");
    }
    auto factor = s_.store.read([&](Transaction& tx) { return tx.two_factor(me.user_id); });
    if (factor && factor->enabled) {
      if (!code) throw ApiError(ErrorCode::kValidationFailed, "two_factor_code: is required with two-factor login on");
      if (!co_await auth::spend_second_factor(s_.store, me.user_id, *code)) {
        s_.throttle.record_failure(attempt);
        throw ApiError(ErrorCode::kInvalidTwoFactorCode, "wrong, expired or already used code");
      }
    }
    s_.throttle.record_success(attempt);

    auto reserve_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(s_.config.accounts.deleted_username_reserve).count();
    std::string name_hash = auth::hash_token(user->username);
    auto ended = co_await s_.store.write([&](Transaction& tx) {
      auto now = now_millis();
      for (const auto& summary : tx.conversations_of(me.user_id)) {
        // Direct conversations keep them as a member, shown as a deleted
        // user, so that the other side still sees who wrote what.
        if (summary.conversation.kind != storage::ConversationKind::kGroup) continue;
        messaging::leave_group(tx, summary.conversation.id, summary.membership);
      }
      for (const auto& contact : tx.contacts(me.user_id)) {
        events::to_user(tx, contact.user.id, object{{"type", "contact.removed"}, {"user_id", me.user_id}});
      }
      auto invitations = tx.invitations_to(me.user_id);
      auto sent = tx.invitations_from(me.user_id);
      invitations.insert(invitations.end(), sent.begin(), sent.end());
      for (const auto& invitation : invitations) {
        auto other = invitation.from_user_id == me.user_id ? invitation.to_user_id : invitation.from_user_id;
        events::to_user(tx, other,
                        object{{"type", "contact.invitation_removed"},
                               {"invitation_id", invitation.id},
                               {"reason", "account_deleted"}});
      }
      auto sessions = tx.purge_account(me.user_id, fmt::format("~deleted-{}", me.user_id), now);
      tx.reserve_username(name_hash, now + reserve_ms);
      // Their personal data exports: rows now, archives right after.
      return std::make_pair(sessions, tx.delete_exports(me.user_id));
    });
    logger_->info("account deleted user_id={} sessions_ended={}", me.user_id, ended.first.size());
    s_.authenticator.sessions_ended(ended.first);  // before anything else sees the deletion
    if (!ended.first.empty()) {
      s_.hub.close_sessions(ended.first, realtime::close_code::kSessionRevoked, "account deleted");
    }
    co_await s_.exports.remove_archives(std::move(ended.second));
    co_return Response::no_content();
  }

 private:
  api::Services& s_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

void register_deletion_routes(http::Router& router, api::Services& services) {
  auto routes = std::make_shared<DeletionRoutes>(services);
  router.add("DELETE", "/api/v1/me", http::member_handler(routes, &DeletionRoutes::delete_me));
}

}  // namespace parley::account
