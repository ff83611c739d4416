#include "contacts/contact_routes.hpp"

#include <optional>

#include <boost/json/array.hpp>

#include "api/lookups.hpp"
#include "api/services.hpp"
#include "api/views.hpp"
#include "auth/authenticator.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/validation.hpp"
#include "events/emit.hpp"
#include "http/json_body.hpp"
#include "http/router.hpp"
#include "realtime/presence.hpp"
#include "storage/store.hpp"

namespace parley::contacts {
namespace {

using boost::asio::awaitable;
using boost::json::array;
using boost::json::object;
using http::JsonBody;
using http::Request;
using http::Response;
using storage::Transaction;
using storage::User;

// The other user of an invitation, as seen from `viewer`.
object invitation_view(Transaction& tx, const storage::Invitation& invitation, storage::UserId viewer) {
  bool incoming = invitation.to_user_id == viewer;
  auto other = tx.user_by_id(incoming ? invitation.from_user_id : invitation.to_user_id);
  return object{{"id", invitation.id},
                {incoming ? "from" : "to", api::public_user_view(*other)},
                {"created_at", invitation.created_at}};
}

object contact_view(const User& user, UnixMillis since) {
  return object{{"user", api::public_user_view(user)}, {"since", since}};
}

// An invitation addressed to `me`, or 404 (also for invitations that exist
// but are not addressed to the caller).
storage::Invitation incoming_invitation(Transaction& tx, storage::InvitationId id, storage::UserId me) {
  auto invitation = tx.invitation_by_id(id);
  if (!invitation || invitation->to_user_id != me) throw ApiError(ErrorCode::kNotFound, "no such invitation");
  return *invitation;
}

// contact.added to both new contacts, each told of the other.
void announce_contact(Transaction& tx, storage::UserId a, storage::UserId b, UnixMillis since) {
  events::to_user(tx, a, object{{"type", "contact.added"}, {"contact", contact_view(*tx.user_by_id(b), since)}});
  events::to_user(tx, b, object{{"type", "contact.added"}, {"contact", contact_view(*tx.user_by_id(a), since)}});
}

void announce_contact_removed(Transaction& tx, storage::UserId a, storage::UserId b) {
  events::to_user(tx, a, object{{"type", "contact.removed"}, {"user_id", b}});
  events::to_user(tx, b, object{{"type", "contact.removed"}, {"user_id", a}});
}

// An invitation that ended (accepted, declined or cancelled): both sides'
// devices drop it.
void announce_invitation_gone(Transaction& tx, const storage::Invitation& invitation, std::string_view why) {
  object payload{{"type", "contact.invitation_removed"}, {"invitation_id", invitation.id}, {"reason", why}};
  events::to_user(tx, invitation.from_user_id, payload);
  events::to_user(tx, invitation.to_user_id, payload);
}

class ContactRoutes {
 public:
  explicit ContactRoutes(api::Services& services) : s_(services), logger_(log::get("contacts")) {}

  awaitable<Response> invite(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    JsonBody body(request);
    std::string username = body.required_string("username");
    body.reject_unknown_fields();

    std::optional<storage::UserId> new_contact;
    auto result = co_await s_.store.write([&](Transaction& tx) {
      User target = api::user_named(tx, username);
      if (target.id == me.user_id) throw ApiError(ErrorCode::kValidationFailed, "username: cannot invite yourself");
      if (tx.block_between(target.id, me.user_id)) {
        throw ApiError(ErrorCode::kBlocked, "a block between you and this user forbids invitations");
      }
      if (tx.are_contacts(me.user_id, target.id)) throw ApiError(ErrorCode::kAlreadyContacts, "already contacts");
      if (tx.invitation_between(me.user_id, target.id)) {
        throw ApiError(ErrorCode::kInvitationExists, "invitation already sent");
      }
      UnixMillis now = now_millis();
      if (auto reverse = tx.invitation_between(target.id, me.user_id)) {
        // They invited us first: the new invitation is an acceptance.
        tx.delete_invitation(reverse->id);
        tx.insert_contact_pair(me.user_id, target.id, now);
        announce_invitation_gone(tx, *reverse, "accepted");
        announce_contact(tx, me.user_id, target.id, now);
        new_contact = target.id;
        return Response::json(object{{"state", "accepted"}, {"contact", contact_view(target, now)}}, 200);
      }
      auto invitation = tx.insert_invitation(me.user_id, target.id, now);
      // Both sides' devices learn of it: the recipient's to answer, the
      // sender's other devices to show it as pending.
      events::to_user(tx, target.id,
                      object{{"type", "contact.invitation_received"},
                             {"invitation", invitation_view(tx, invitation, target.id)}});
      events::to_user(tx, me.user_id,
                      object{{"type", "contact.invitation_sent"},
                             {"invitation", invitation_view(tx, invitation, me.user_id)}});
      return Response::json(object{{"state", "pending"}, {"invitation", invitation_view(tx, invitation, me.user_id)}},
                            201);
    });
    if (new_contact) realtime::Presence::introduce(s_.store, s_.hub, me.user_id, *new_contact);
    co_return result;
  }

  awaitable<Response> list_invitations(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto view = s_.store.read([&](Transaction& tx) {
      array incoming;
      for (const auto& invitation : tx.invitations_to(me.user_id)) {
        incoming.push_back(invitation_view(tx, invitation, me.user_id));
      }
      array outgoing;
      for (const auto& invitation : tx.invitations_from(me.user_id)) {
        outgoing.push_back(invitation_view(tx, invitation, me.user_id));
      }
      return object{{"incoming", std::move(incoming)}, {"outgoing", std::move(outgoing)}};
    });
    co_return Response::json(view);
  }

  awaitable<Response> accept(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "invitation_id");
    storage::UserId inviter = 0;
    auto view = co_await s_.store.write([&](Transaction& tx) {
      auto invitation = incoming_invitation(tx, id, me.user_id);
      UnixMillis now = now_millis();
      tx.delete_invitation(invitation.id);
      tx.insert_contact_pair(invitation.from_user_id, me.user_id, now);
      announce_invitation_gone(tx, invitation, "accepted");
      announce_contact(tx, me.user_id, invitation.from_user_id, now);
      inviter = invitation.from_user_id;
      return contact_view(*tx.user_by_id(invitation.from_user_id), now);
    });
    // After the commit: the presence rules read the new contact pair.
    realtime::Presence::introduce(s_.store, s_.hub, me.user_id, inviter);
    co_return Response::json(object{{"contact", std::move(view)}});
  }

  awaitable<Response> decline(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "invitation_id");
    co_await s_.store.write([&](Transaction& tx) {
      auto invitation = incoming_invitation(tx, id, me.user_id);
      tx.delete_invitation(invitation.id);
      announce_invitation_gone(tx, invitation, "declined");
    });
    co_return Response::no_content();
  }

  awaitable<Response> cancel(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "invitation_id");
    co_await s_.store.write([&](Transaction& tx) {
      auto invitation = tx.invitation_by_id(id);
      if (!invitation || invitation->from_user_id != me.user_id) {
        throw ApiError(ErrorCode::kNotFound, "no such invitation");
      }
      tx.delete_invitation(invitation->id);
      announce_invitation_gone(tx, *invitation, "cancelled");
    });
    co_return Response::no_content();
  }

  awaitable<Response> list_contacts(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto contacts = s_.store.read([&](Transaction& tx) { return tx.contacts(me.user_id); });
    array list;
    for (const auto& contact : contacts) list.push_back(contact_view(contact.user, contact.since));
    co_return Response::json(object{{"contacts", std::move(list)}});
  }

  awaitable<Response> remove_contact(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_await s_.store.write([&](Transaction& tx) {
      User other = api::user_named(tx, request.param("username"));
      if (!tx.delete_contact_pair(me.user_id, other.id)) throw ApiError(ErrorCode::kNotFound, "not a contact");
      announce_contact_removed(tx, me.user_id, other.id);
    });
    co_return Response::no_content();
  }

  awaitable<Response> list_blocks(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto blocks = s_.store.read([&](Transaction& tx) { return tx.blocks(me.user_id); });
    array list;
    for (const auto& block : blocks) {
      list.push_back(object{{"user", api::public_user_view(block.user)}, {"since", block.since}});
    }
    co_return Response::json(object{{"blocked", std::move(list)}});
  }

  awaitable<Response> block(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_await s_.store.write([&](Transaction& tx) {
      User other = api::user_named(tx, request.param("username"));
      if (other.id == me.user_id) throw ApiError(ErrorCode::kValidationFailed, "username: cannot block yourself");
      if (!tx.insert_block(me.user_id, other.id, now_millis())) return;  // already blocked: nothing changes
      if (tx.delete_contact_pair(me.user_id, other.id)) announce_contact_removed(tx, me.user_id, other.id);
      for (auto invitation : {tx.invitation_between(me.user_id, other.id), tx.invitation_between(other.id, me.user_id)}) {
        if (!invitation) continue;
        tx.delete_invitation(invitation->id);
        announce_invitation_gone(tx, *invitation, "cancelled");
      }
      // Only the blocker's devices hear of the block itself.
      events::to_user(tx, me.user_id, object{{"type", "block.added"}, {"user", api::public_user_view(other)}});
    });
    co_return Response::no_content();
  }

  awaitable<Response> unblock(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_await s_.store.write([&](Transaction& tx) {
      User other = api::user_named(tx, request.param("username"));
      if (!tx.delete_block(me.user_id, other.id)) throw ApiError(ErrorCode::kNotFound, "user is not blocked");
      events::to_user(tx, me.user_id, object{{"type", "block.removed"}, {"user_id", other.id}});
    });
    co_return Response::no_content();
  }

 private:
  api::Services& s_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

void register_contact_routes(http::Router& router, api::Services& services) {
  auto routes = std::make_shared<ContactRoutes>(services);
  auto bind = [&](auto method) { return http::member_handler(routes, method); };
  router.add("POST", "/api/v1/contacts/invitations", bind(&ContactRoutes::invite));
  router.add("GET", "/api/v1/contacts/invitations", bind(&ContactRoutes::list_invitations));
  router.add("POST", "/api/v1/contacts/invitations/{invitation_id}/accept", bind(&ContactRoutes::accept));
  router.add("POST", "/api/v1/contacts/invitations/{invitation_id}/decline", bind(&ContactRoutes::decline));
  router.add("DELETE", "/api/v1/contacts/invitations/{invitation_id}", bind(&ContactRoutes::cancel));
  router.add("GET", "/api/v1/contacts", bind(&ContactRoutes::list_contacts));
  router.add("DELETE", "/api/v1/contacts/{username}", bind(&ContactRoutes::remove_contact));
  router.add("GET", "/api/v1/blocks", bind(&ContactRoutes::list_blocks));
  router.add("PUT", "/api/v1/blocks/{username}", bind(&ContactRoutes::block));
  router.add("DELETE", "/api/v1/blocks/{username}", bind(&ContactRoutes::unblock));
}

}  // namespace parley::contacts
