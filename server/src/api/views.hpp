// The JSON shapes of records in API responses, in one place so that every
// endpoint shows a user, a session or an invitation the same way
// (docs/openapi.yaml, components/schemas).
#pragma once

#include <string_view>

#include <boost/json/object.hpp>

#include "storage/records.hpp"

namespace parley::api {

// Everything about the caller's own account (schema Me).
[[nodiscard]] boost::json::object me_view(const storage::User& user);
// What any user may see of another (schema PublicUser).
[[nodiscard]] boost::json::object public_user_view(const storage::User& user);
// The caller's settings (schema Settings).
[[nodiscard]] boost::json::object settings_view(const storage::User& user,
                                                const std::vector<storage::ConversationMute>& mutes);
[[nodiscard]] boost::json::object session_view(const storage::Session& session, bool current);

// A file a message carries (schema Attachment).
[[nodiscard]] boost::json::object attachment_view(const storage::Attachment& file);
// A message as clients see it (schema Message); a deleted one is a
// tombstone with empty text and no attachments.
[[nodiscard]] boost::json::object message_view(const storage::Message& message);
// A membership (schema Member): the user, role, join time and receipts.
[[nodiscard]] boost::json::object member_view(const storage::Member& member, const storage::User& user);
// A conversation's own fields (schema Conversation, without members).
[[nodiscard]] boost::json::object conversation_view(const storage::Conversation& conversation);

[[nodiscard]] std::string_view role_name(storage::Role role);
// Throws ApiError kValidationFailed for an unknown name.
[[nodiscard]] storage::Role parse_role(std::string_view name);

[[nodiscard]] std::string_view visibility_name(storage::LastSeenVisibility visibility);
// Throws ApiError kValidationFailed for an unknown name.
[[nodiscard]] storage::LastSeenVisibility parse_visibility(std::string_view name);

}  // namespace parley::api
