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

}  // namespace parley::api
