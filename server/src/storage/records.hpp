// Plain records exchanged between handlers and the storage backends. They
// carry no behaviour and no backend detail.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace parley::storage {

using UserId = std::int64_t;
using SessionId = std::int64_t;
using InvitationId = std::int64_t;
using ConversationId = std::int64_t;

// Who may see a user's last-seen time.
enum class LastSeenVisibility { kEveryone, kContacts, kNobody };

struct User {
  UserId id = 0;
  std::string username;  // lower case, unique
  std::string display_name;
  std::string status_text;
  std::optional<std::string> avatar_media_id;
  LastSeenVisibility last_seen_visibility = LastSeenVisibility::kContacts;
  bool notifications_enabled = true;
  UnixMillis created_at = 0;
};

struct NewUser {
  std::string username;
  std::string password_hash;
  std::string display_name;
  UnixMillis created_at = 0;
};

// Partial update: only fields that are set change. avatar_media_id is a
// double optional: set to nullopt inside means "clear it".
struct ProfilePatch {
  std::optional<std::string> display_name;
  std::optional<std::string> status_text;
  std::optional<std::optional<std::string>> avatar_media_id;
  std::optional<LastSeenVisibility> last_seen_visibility;
  std::optional<bool> notifications_enabled;
};

struct Session {
  SessionId id = 0;
  UserId user_id = 0;
  std::string device_name;
  UnixMillis created_at = 0;
  UnixMillis last_seen_at = 0;
};

struct ConversationMute {
  ConversationId conversation_id = 0;
  UnixMillis muted_until = 0;
};

struct Invitation {
  InvitationId id = 0;
  UserId from_user_id = 0;
  UserId to_user_id = 0;
  UnixMillis created_at = 0;
};

struct Contact {
  User user;
  UnixMillis since = 0;
};

struct Block {
  User user;
  UnixMillis since = 0;
};

}  // namespace parley::storage
