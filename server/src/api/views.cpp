#include "api/views.hpp"

#include <boost/json/array.hpp>

#include "core/error.hpp"

namespace parley::api {

using boost::json::object;

std::string_view visibility_name(storage::LastSeenVisibility visibility) {
  switch (visibility) {
    case storage::LastSeenVisibility::kEveryone: return "everyone";
    case storage::LastSeenVisibility::kContacts: return "contacts";
    case storage::LastSeenVisibility::kNobody: return "nobody";
  }
  return "nobody";
}

storage::LastSeenVisibility parse_visibility(std::string_view name) {
  if (name == "everyone") return storage::LastSeenVisibility::kEveryone;
  if (name == "contacts") return storage::LastSeenVisibility::kContacts;
  if (name == "nobody") return storage::LastSeenVisibility::kNobody;
  throw ApiError(ErrorCode::kValidationFailed, "last_seen_visibility: must be everyone, contacts or nobody");
}

object public_user_view(const storage::User& user) {
  object view;
  view["id"] = user.id;
  view["username"] = user.username;
  view["display_name"] = user.display_name;
  view["status_text"] = user.status_text;
  if (user.avatar_media_id) {
    view["avatar_media_id"] = *user.avatar_media_id;
  } else {
    view["avatar_media_id"] = nullptr;
  }
  // Clients show "Deleted user" for it (docs/security.md "Account deletion").
  if (user.deleted) view["deleted"] = true;
  return view;
}

object me_view(const storage::User& user) {
  object view = public_user_view(user);
  view["created_at"] = user.created_at;
  return view;
}

object settings_view(const storage::User& user, const std::vector<storage::ConversationMute>& mutes) {
  boost::json::array muted;
  for (const auto& mute : mutes) {
    muted.push_back(object{{"conversation_id", mute.conversation_id}, {"muted_until", mute.muted_until}});
  }
  object view;
  view["last_seen_visibility"] = visibility_name(user.last_seen_visibility);
  view["notifications_enabled"] = user.notifications_enabled;
  view["notification_previews"] = user.notification_previews;
  view["conversation_mutes"] = std::move(muted);
  return view;
}

object session_view(const storage::Session& session, bool current) {
  return object{{"id", session.id},
                {"device_name", session.device_name},
                {"created_at", session.created_at},
                {"last_seen_at", session.last_seen_at},
                {"current", current}};
}

namespace {

boost::json::value optional_int(const std::optional<std::int64_t>& value) {
  return value ? boost::json::value(*value) : boost::json::value(nullptr);
}

}  // namespace

object attachment_view(const storage::Attachment& file) {
  auto dimension = [](const std::optional<int>& value) {
    return value ? boost::json::value(*value) : boost::json::value(nullptr);
  };
  return object{{"id", file.media_id},
                {"name", file.name},
                {"size", file.size},
                {"content_type", file.content_type},
                {"width", dimension(file.width)},
                {"height", dimension(file.height)}};
}

object message_view(const storage::Message& message) {
  boost::json::array mentions;
  for (auto user : message.mentions) mentions.push_back(user);
  // Reactions grouped by emoji: [{"emoji": "👍", "user_ids": [..]}].
  boost::json::array reactions;
  for (const auto& [emoji, user] : message.reactions) {
    if (reactions.empty() || reactions.back().at("emoji").as_string() != emoji) {
      reactions.push_back(object{{"emoji", emoji}, {"user_ids", boost::json::array{}}});
    }
    reactions.back().as_object()["user_ids"].as_array().push_back(user);
  }
  boost::json::array attachments;
  for (const auto& file : message.attachments) attachments.push_back(attachment_view(file));
  boost::json::value sticker = nullptr;
  if (message.sticker) {
    sticker = object{{"id", message.sticker->id},
                     {"pack", message.sticker->pack},
                     {"emoji", message.sticker->emoji},
                     {"width", message.sticker->width},
                     {"height", message.sticker->height}};
  }
  return object{{"id", message.id},
                {"conversation_id", message.conversation_id},
                {"seq", message.seq},
                {"position", message.pos},
                {"sender_id", message.sender_id},
                {"client_id", message.client_id},
                {"text", message.body},
                {"reply_to", optional_int(message.reply_to_id)},
                {"mentions", std::move(mentions)},
                {"reactions", std::move(reactions)},
                {"attachments", std::move(attachments)},
                {"created_at", message.created_at},
                {"edited_at", optional_int(message.edited_at)},
                {"deleted", message.deleted_at.has_value()},
                {"sticker", std::move(sticker)}};
}

std::string_view role_name(storage::Role role) {
  switch (role) {
    case storage::Role::kMember: return "member";
    case storage::Role::kAdmin: return "admin";
    case storage::Role::kOwner: return "owner";
  }
  return "member";
}

storage::Role parse_role(std::string_view name) {
  if (name == "member") return storage::Role::kMember;
  if (name == "admin") return storage::Role::kAdmin;
  if (name == "owner") return storage::Role::kOwner;
  throw ApiError(ErrorCode::kValidationFailed, "role: must be member, admin or owner");
}

object member_view(const storage::Member& member, const storage::User& user) {
  return object{{"user", public_user_view(user)},
                {"role", role_name(member.role)},
                {"joined_at", member.joined_at},
                {"read_seq", member.read_seq},
                {"delivered_seq", member.delivered_seq}};
}

object conversation_view(const storage::Conversation& conversation) {
  return object{{"id", conversation.id},
                {"kind", conversation.kind == storage::ConversationKind::kDirect ? "direct" : "group"},
                {"name", conversation.name},
                {"topic", conversation.topic},
                {"created_by", conversation.created_by},
                {"created_at", conversation.created_at},
                {"last_seq", conversation.last_seq},
                {"avatar_media_id", conversation.avatar_media_id ? boost::json::value(*conversation.avatar_media_id)
                                                                 : boost::json::value(nullptr)}};
}

}  // namespace parley::api
