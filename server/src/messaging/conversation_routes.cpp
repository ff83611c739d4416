#include "messaging/conversation_routes.hpp"

#include <charconv>

#include <boost/json/array.hpp>
#include <boost/url/params_view.hpp>
#include <fmt/format.h>

#include "api/lookups.hpp"
#include "api/services.hpp"
#include "api/views.hpp"
#include "auth/authenticator.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/validation.hpp"
#include "events/emit.hpp"
#include "http/json_body.hpp"
#include "http/router.hpp"
#include "media/avatar.hpp"
#include "messaging/messages.hpp"
#include "storage/store.hpp"

namespace parley::messaging {
namespace {

using boost::asio::awaitable;
using boost::json::array;
using boost::json::object;
using http::JsonBody;
using http::Request;
using http::Response;
using storage::Conversation;
using storage::ConversationKind;
using storage::Member;
using storage::Role;
using storage::Transaction;
using storage::User;
using storage::UserId;

constexpr std::size_t kMaxGroupName = 64;
constexpr std::size_t kMaxTopic = 256;

Conversation require_group(Transaction& tx, storage::ConversationId id) {
  auto conversation = *tx.conversation_by_id(id);
  if (conversation.kind != ConversationKind::kGroup) {
    throw ApiError(ErrorCode::kForbidden, "direct conversations have no names, topics or member changes");
  }
  return conversation;
}

void require_role(const Member& member, Role at_least, std::string_view action) {
  if (member.role < at_least) {
    throw ApiError(ErrorCode::kForbidden, fmt::format("only an {} may {}", api::role_name(at_least), action));
  }
}

// The full conversation with its members, as GET and creation return it.
object full_view(Transaction& tx, const Conversation& conversation, UserId viewer) {
  object view = api::conversation_view(conversation);
  array members;
  for (const Member& member : tx.members(conversation.id)) {
    if (member.user_id == viewer) {
      view["role"] = api::role_name(member.role);
      view["read_seq"] = member.read_seq;
    }
    members.push_back(api::member_view(member, *tx.user_by_id(member.user_id)));
  }
  view["members"] = std::move(members);
  return view;
}

object member_event(std::string_view type, storage::ConversationId conversation, UserId user, UserId by) {
  return object{{"type", type}, {"conversation_id", conversation}, {"user_id", user}, {"by", by}};
}

// Query parameter `name` as a non-negative integer, if present.
std::optional<std::int64_t> query_int(const Request& request, std::string_view name) {
  boost::urls::params_view params(request.query);
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  std::string text = (*it).value;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0) {
    throw ApiError(ErrorCode::kValidationFailed, fmt::format("{}: must be a non-negative integer", name));
  }
  return value;
}

class ConversationRoutes {
 public:
  explicit ConversationRoutes(api::Services& services) : s_(services) {}

  awaitable<Response> create_direct(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    JsonBody body(request);
    std::string username = body.required_string("username");
    body.reject_unknown_fields();
    auto [view, created] = co_await s_.store.write([&](Transaction& tx) {
      User other = api::user_named(tx, username);
      if (other.id == me.user_id) throw ApiError(ErrorCode::kValidationFailed, "username: cannot be yourself");
      if (tx.block_between(other.id, me.user_id)) {
        throw ApiError(ErrorCode::kBlocked, "a block between you and this user forbids a conversation");
      }
      if (!tx.are_contacts(me.user_id, other.id)) {
        throw ApiError(ErrorCode::kForbidden, "direct conversations are between contacts");
      }
      std::string key = fmt::format("{}:{}", std::min(me.user_id, other.id), std::max(me.user_id, other.id));
      if (auto existing = tx.conversation_by_direct_key(key)) {
        return std::pair{full_view(tx, *existing, me.user_id), false};
      }
      UnixMillis now = now_millis();
      auto conversation = tx.insert_conversation(ConversationKind::kDirect, "", "", key, me.user_id, now);
      add_initial_members(tx, conversation, me.user_id, {other.id}, Role::kMember, now);
      return std::pair{full_view(tx, conversation, me.user_id), true};
    });
    co_return Response::json(object{{"conversation", std::move(view)}}, created ? 201 : 200);
  }

  awaitable<Response> create_group(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    JsonBody body(request);
    std::string name = body.required_string("name");
    std::string topic = body.optional_string("topic").value_or("");
    auto members = body.optional_string_array("members").value_or(std::vector<std::string>{});
    body.reject_unknown_fields();
    validation::text("name", name, 1, kMaxGroupName);
    validation::text("topic", topic, 0, kMaxTopic);
    if (members.size() + 1 > kMaxGroupMembers) {
      throw ApiError(ErrorCode::kValidationFailed, fmt::format("members: at most {}", kMaxGroupMembers - 1));
    }
    auto view = co_await s_.store.write([&](Transaction& tx) {
      std::vector<UserId> ids;
      for (const auto& username : members) {
        User user = api::user_named(tx, username);
        if (user.id == me.user_id) continue;
        if (!tx.are_contacts(me.user_id, user.id)) {
          throw ApiError(ErrorCode::kValidationFailed,
                         fmt::format("members: {} is not one of your contacts", user.username));
        }
        if (std::find(ids.begin(), ids.end(), user.id) == ids.end()) ids.push_back(user.id);
      }
      UnixMillis now = now_millis();
      auto conversation = tx.insert_conversation(ConversationKind::kGroup, name, topic, std::nullopt, me.user_id, now);
      add_initial_members(tx, conversation, me.user_id, ids, Role::kOwner, now);
      return full_view(tx, conversation, me.user_id);
    });
    co_return Response::json(object{{"conversation", std::move(view)}}, 201);
  }

  awaitable<Response> list(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto list = s_.store.read([&](Transaction& tx) {
      array items;
      for (const auto& summary : tx.conversations_of(me.user_id)) {
        object item = api::conversation_view(summary.conversation);
        item["role"] = api::role_name(summary.membership.role);
        item["member_count"] = summary.member_count;
        item["read_seq"] = summary.membership.read_seq;
        item["unread_count"] = summary.unread_count;
        item["last_message"] =
            summary.last_message ? boost::json::value(api::message_view(*summary.last_message)) : nullptr;
        if (summary.conversation.kind == ConversationKind::kDirect) {
          for (auto id : tx.member_ids(summary.conversation.id)) {
            if (id != me.user_id) item["peer"] = api::public_user_view(*tx.user_by_id(id));
          }
        }
        items.push_back(std::move(item));
      }
      return items;
    });
    co_return Response::json(object{{"conversations", std::move(list)}});
  }

  awaitable<Response> get(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "conversation_id");
    auto view = s_.store.read([&](Transaction& tx) {
      require_member(tx, id, me.user_id);
      return full_view(tx, *tx.conversation_by_id(id), me.user_id);
    });
    co_return Response::json(object{{"conversation", std::move(view)}});
  }

  awaitable<Response> update(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "conversation_id");
    JsonBody body(request);
    auto name = body.optional_string("name");
    auto topic = body.optional_string("topic");
    // null removes the avatar; a media id sets it (media/avatar.hpp).
    auto avatar = body.nullable_string("avatar_media_id");
    body.reject_unknown_fields();
    if (name) validation::text("name", *name, 1, kMaxGroupName);
    if (topic) validation::text("topic", *topic, 0, kMaxTopic);
    auto view = co_await s_.store.write([&](Transaction& tx) {
      auto member = require_member(tx, id, me.user_id);
      require_group(tx, id);
      require_role(member, Role::kAdmin, "rename a group or change its topic or avatar");
      auto before = *tx.conversation_by_id(id);
      if (avatar && *avatar) {
        media::require_avatar_image(tx, me.user_id, "avatar_media_id", **avatar, s_.config.media.max_image_pixels);
      }
      tx.update_conversation(id, name, topic);
      if (avatar) tx.set_conversation_avatar(id, *avatar);
      auto conversation = *tx.conversation_by_id(id);
      if (conversation.name == before.name && conversation.topic == before.topic &&
          conversation.avatar_media_id == before.avatar_media_id) {
        return full_view(tx, conversation, me.user_id);  // nothing changed: no event
      }
      auto avatar_id = conversation.avatar_media_id ? boost::json::value(*conversation.avatar_media_id)
                                                    : boost::json::value(nullptr);
      events::to_conversation(tx, id,
                              object{{"type", "conversation.updated"},
                                     {"conversation_id", id},
                                     {"name", conversation.name},
                                     {"topic", conversation.topic},
                                     {"avatar_media_id", std::move(avatar_id)},
                                     {"by", me.user_id}});
      return full_view(tx, conversation, me.user_id);
    });
    co_return Response::json(object{{"conversation", std::move(view)}});
  }

  awaitable<Response> add_member(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "conversation_id");
    JsonBody body(request);
    std::string username = body.required_string("username");
    body.reject_unknown_fields();
    auto view = co_await s_.store.write([&](Transaction& tx) {
      auto actor = require_member(tx, id, me.user_id);
      auto conversation = require_group(tx, id);
      require_role(actor, Role::kAdmin, "add members");
      User user = api::user_named(tx, username);
      if (tx.member(id, user.id)) throw ApiError(ErrorCode::kConflict, "already a member");
      if (!tx.are_contacts(me.user_id, user.id)) {
        throw ApiError(ErrorCode::kForbidden, "you can add only your contacts");
      }
      if (tx.member_ids(id).size() >= kMaxGroupMembers) {
        throw ApiError(ErrorCode::kConflict, fmt::format("a group has at most {} members", kMaxGroupMembers));
      }
      add_member_with_event(tx, conversation, user, Role::kMember, me.user_id, now_millis());
      return full_view(tx, conversation, me.user_id);
    });
    co_return Response::json(object{{"conversation", std::move(view)}}, 201);
  }

  awaitable<Response> remove_member(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "conversation_id");
    auto user_id = http::id_param(request, "user_id");
    co_await s_.store.write([&](Transaction& tx) {
      auto actor = require_member(tx, id, me.user_id);
      require_group(tx, id);
      auto target = tx.member(id, user_id);
      if (!target) throw ApiError(ErrorCode::kNotFound, "no such member");
      if (user_id == me.user_id) throw ApiError(ErrorCode::kValidationFailed, "use leave to leave a group");
      if (actor.role < Role::kAdmin || actor.role <= target->role) {
        throw ApiError(ErrorCode::kForbidden, "you may remove only members with a lower role than yours");
      }
      tx.delete_member(id, user_id);
      // Addressed to the removed user too: it is the last they hear of it.
      events::to_conversation(tx, id, member_event("member.removed", id, user_id, me.user_id), user_id);
    });
    co_return Response::no_content();
  }

  awaitable<Response> change_role(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "conversation_id");
    auto user_id = http::id_param(request, "user_id");
    JsonBody body(request);
    auto role_name = body.optional_string("role");
    body.reject_unknown_fields();
    if (!role_name) throw ApiError(ErrorCode::kValidationFailed, "role: is required");
    Role role = api::parse_role(*role_name);
    co_await s_.store.write([&](Transaction& tx) {
      auto actor = require_member(tx, id, me.user_id);
      require_group(tx, id);
      require_role(actor, Role::kOwner, "change roles");
      auto target = tx.member(id, user_id);
      if (!target) throw ApiError(ErrorCode::kNotFound, "no such member");
      if (user_id == me.user_id) throw ApiError(ErrorCode::kForbidden, "owners cannot change their own role");
      if (target->role == role) return;
      tx.set_role(id, user_id, role);
      object event = member_event("member.role_changed", id, user_id, me.user_id);
      event["role"] = api::role_name(role);
      events::to_conversation(tx, id, event);
    });
    co_return Response::no_content();
  }

  awaitable<Response> leave(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "conversation_id");
    co_await s_.store.write([&](Transaction& tx) {
      auto member = require_member(tx, id, me.user_id);
      require_group(tx, id);
      leave_group(tx, id, member);
    });
    co_return Response::no_content();
  }

  awaitable<Response> history(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto id = http::id_param(request, "conversation_id");
    auto before = query_int(request, "before");
    auto after = query_int(request, "after");
    auto limit = query_int(request, "limit").value_or(kDefaultHistoryPage);
    if (before && after) throw ApiError(ErrorCode::kValidationFailed, "before and after: give one, not both");
    if (limit < 1 || static_cast<std::size_t>(limit) > kMaxHistoryPage) {
      throw ApiError(ErrorCode::kValidationFailed, fmt::format("limit: must be 1 to {}", kMaxHistoryPage));
    }
    auto page = s_.store.read([&](Transaction& tx) {
      require_member(tx, id, me.user_id);
      auto n = static_cast<std::size_t>(limit);
      std::vector<storage::Message> messages;
      bool has_more = false;
      if (after) {
        messages = tx.messages_after(id, *after, n + 1);
        has_more = messages.size() > n;
        if (has_more) messages.pop_back();
      } else {
        auto last = tx.conversation_by_id(id)->last_seq;
        messages = tx.messages_before(id, before.value_or(last + 1), n + 1);
        has_more = messages.size() > n;
        if (has_more) messages.erase(messages.begin());
      }
      array list;
      for (const auto& message : messages) list.push_back(api::message_view(message));
      return object{{"messages", std::move(list)}, {"has_more", has_more}};
    });
    co_return Response::json(page);
  }

 private:
  // Creator and initial members join in one go; `others` get `creator_role`
  // for the creator and member for themselves.
  static void add_initial_members(Transaction& tx, const Conversation& conversation, UserId creator,
                                  const std::vector<UserId>& others, Role creator_role, UnixMillis now) {
    // Members see the conversation's events after this point, starting with
    // its creation event.
    storage::Position joined = tx.current_position();
    tx.insert_member({conversation.id, creator, creator_role, now, joined, 0, 0});
    for (UserId other : others) tx.insert_member({conversation.id, other, Role::kMember, now, joined, 0, 0});
    events::to_conversation(tx, conversation.id,
                            object{{"type", "conversation.created"},
                                   {"conversation_id", conversation.id},
                                   {"conversation", full_view(tx, conversation, 0)}});
  }

  static void add_member_with_event(Transaction& tx, const Conversation& conversation, const User& user, Role role,
                                    UserId by, UnixMillis now) {
    tx.insert_member({conversation.id, user.id, role, now, tx.current_position(), 0, 0});
    auto member = *tx.member(conversation.id, user.id);
    events::to_conversation(tx, conversation.id,
                            object{{"type", "member.added"},
                                   {"conversation_id", conversation.id},
                                   {"member", api::member_view(member, user)},
                                   {"by", by}});
  }

  api::Services& s_;
};

}  // namespace

void register_conversation_routes(http::Router& router, api::Services& services) {
  auto routes = std::make_shared<ConversationRoutes>(services);
  auto bind = [&](auto method) { return http::member_handler(routes, method); };
  router.add("POST", "/api/v1/conversations/direct", bind(&ConversationRoutes::create_direct));
  router.add("POST", "/api/v1/conversations/groups", bind(&ConversationRoutes::create_group));
  router.add("GET", "/api/v1/conversations", bind(&ConversationRoutes::list));
  router.add("GET", "/api/v1/conversations/{conversation_id}", bind(&ConversationRoutes::get));
  router.add("PATCH", "/api/v1/conversations/{conversation_id}", bind(&ConversationRoutes::update));
  router.add("POST", "/api/v1/conversations/{conversation_id}/members", bind(&ConversationRoutes::add_member));
  router.add("DELETE", "/api/v1/conversations/{conversation_id}/members/{user_id}",
             bind(&ConversationRoutes::remove_member));
  router.add("PATCH", "/api/v1/conversations/{conversation_id}/members/{user_id}",
             bind(&ConversationRoutes::change_role));
  router.add("POST", "/api/v1/conversations/{conversation_id}/leave", bind(&ConversationRoutes::leave));
  router.add("GET", "/api/v1/conversations/{conversation_id}/messages", bind(&ConversationRoutes::history));
}

}  // namespace parley::messaging
