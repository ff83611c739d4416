// Plain records exchanged between handlers and the storage backends. They
// carry no behaviour and no backend detail.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <optional>
#include <string>
#include <string_view>
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
  std::optional<UnixMillis> last_online_at;  // when last connected, if ever
  bool deleted = false;                      // the account was deleted (migration 0009)
  // Push notifications show the message's text (migration 0011); off, they
  // say only who wrote, for lock screens others can see.
  bool notification_previews = true;
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
  std::optional<bool> notification_previews;
};

struct Session {
  SessionId id = 0;
  UserId user_id = 0;
  std::string device_name;
  UnixMillis created_at = 0;
  UnixMillis last_seen_at = 0;
};

// An account's authenticator (two-factor login). Pending until enabled.
struct TwoFactor {
  UserId user_id = 0;
  std::string secret;  // raw bytes
  bool enabled = false;
  std::int64_t last_used_step = -1;  // the last TOTP step accepted; -1 for none
  UnixMillis created_at = 0;
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

// --- Conversations and messages -------------------------------------------

using MessageId = std::int64_t;
// A position in the server-wide event stream (see docs/protocol.md).
using Position = std::int64_t;
// A message's number within its conversation: 1, 2, 3, ... without gaps.
using Seq = std::int64_t;

enum class ConversationKind { kDirect = 0, kGroup = 1 };
// Ordered: a higher role can do everything a lower one can.
enum class Role { kMember = 0, kAdmin = 1, kOwner = 2 };

struct Conversation {
  ConversationId id = 0;
  ConversationKind kind = ConversationKind::kGroup;
  std::string name;
  std::string topic;
  UserId created_by = 0;
  UnixMillis created_at = 0;
  Seq last_seq = 0;
  Position last_pos = 0;
  // A group's avatar (a media id), if one was set.
  std::optional<std::string> avatar_media_id;
};

struct Member {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  Role role = Role::kMember;
  UnixMillis joined_at = 0;
  Position joined_pos = 0;
  Seq read_seq = 0;
  Seq delivered_seq = 0;
};

// A file a message carries, as the message shows it (from the media row).
struct Attachment {
  std::string media_id;
  std::string name;
  std::int64_t size = 0;
  std::string content_type;
  std::optional<int> width;
  std::optional<int> height;
};

// The sticker a message carries, as message views show it.
struct MessageSticker {
  std::int64_t id = 0;
  std::string pack;  // the pack's name
  std::string emoji;
  int width = 0;
  int height = 0;
};

struct Message {
  MessageId id = 0;
  ConversationId conversation_id = 0;
  Seq seq = 0;
  Position pos = 0;
  UserId sender_id = 0;
  std::string client_id;
  std::string body;  // empty once deleted
  std::optional<MessageId> reply_to_id;
  UnixMillis created_at = 0;
  std::optional<UnixMillis> edited_at;
  std::optional<UnixMillis> deleted_at;
  std::vector<UserId> mentions;
  // (emoji, user) pairs, ordered by emoji then time.
  std::vector<std::pair<std::string, UserId>> reactions;
  // In the order the sender gave; none once deleted. Attachments never
  // change while the message exists (edits keep them).
  std::vector<Attachment> attachments;
  // Rows in message_attachments: loading the list is skipped when 0.
  std::int64_t attachment_count = 0;
  std::optional<MessageSticker> sticker;  // a sticker message (its body is empty)
};

struct NewMessage {
  ConversationId conversation_id = 0;
  UserId sender_id = 0;
  std::string client_id;
  std::string body;
  std::optional<MessageId> reply_to_id;
  std::vector<UserId> mentions;
  // Media ids, distinct, in order; checked by the caller (messaging::send).
  std::vector<std::string> attachments;
  UnixMillis created_at = 0;
  std::optional<std::int64_t> sticker_id;  // a sticker message
};

// One of the caller's conversations with what a conversation list shows.
struct ConversationSummary {
  Conversation conversation;
  Member membership;
  std::size_t member_count = 0;
  std::size_t unread_count = 0;
  std::optional<Message> last_message;
};

// An event as it is stored and delivered. `payload` is the JSON object the
// clients receive (docs/protocol.md); a new message's event carries the
// message instead (the messages table is its stored copy), and its payload
// is built when it is published, off the database writer's thread.
// `recipients` are the users whose devices get it live.
struct Event {
  Position pos = 0;
  std::optional<ConversationId> conversation_id;
  std::optional<UserId> user_id;  // addressed to this user (also)
  std::shared_ptr<const std::string> payload;
  std::optional<Message> message;
  // The message whose content the payload carries (message.edited,
  // reaction.*): the stored event is deleted with that message.
  std::optional<MessageId> content_of;
  std::vector<UserId> recipients;
};


// --- Media -----------------------------------------------------------------

// Media and upload ids: 22 URL-safe base64 characters of 128 random bits.
using MediaId = std::string;
using UploadId = std::string;

// An uploaded file. Its bytes are the blob named by `sha256` in the blob
// store; several media rows may share one blob (identical content).
struct Media {
  MediaId id;
  UserId owner_id = 0;
  std::string sha256;        // 64 lower-case hex digits
  std::int64_t size = 0;     // bytes
  std::string content_type;  // sniffed from the content
  std::string name;          // sanitised display name
  std::optional<int> width;  // pixels, images only
  std::optional<int> height;
  UnixMillis created_at = 0;
};

// A thumbnail of an image, itself stored as a blob.
struct MediaThumbnail {
  MediaId media_id;
  int size = 0;  // media::ThumbnailSize as an integer: 0 small, 1 medium, 2 large
  std::string sha256;
  std::int64_t bytes = 0;
  std::string content_type;
  int width = 0;
  int height = 0;
  UnixMillis created_at = 0;
};

// A resumable upload in progress. `received` bytes are durable; the next
// part must start there.
struct MediaUpload {
  UploadId id;
  UserId owner_id = 0;
  std::string name;  // sanitised display name
  std::int64_t total_size = 0;
  std::int64_t received = 0;
  UnixMillis created_at = 0;
  UnixMillis expires_at = 0;
};

// --- Sticker packs ---------------------------------------------------------

using StickerPackId = std::int64_t;
using StickerId = std::int64_t;

// A pack installed by the operator (or removed: removed_at set).
struct StickerPackRow {
  StickerPackId id = 0;
  std::string name;  // unique
  std::string title;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  std::optional<UnixMillis> removed_at;
};

// A sticker; its image is the blob `sha256`.
struct Sticker {
  StickerId id = 0;
  StickerPackId pack_id = 0;
  std::string pack_name;
  int position = 0;
  std::string emoji;
  std::string sha256;
  std::int64_t bytes = 0;
  std::string content_type;
  int width = 0;
  int height = 0;
  // False when a re-import replaced it or its pack was removed: still shown
  // in the messages that carry it and served, but never listed or sent.
  bool available = true;
};

// A sticker to store, its image already in the blob store.
struct NewSticker {
  std::string emoji;
  std::string sha256;
  std::int64_t bytes = 0;
  std::string content_type;
  int width = 0;
  int height = 0;
};

// An installed pack with what a list of packs shows.
struct StickerPackSummary {
  StickerPackRow pack;
  std::size_t count = 0;
  std::optional<Sticker> cover;  // its first sticker
};

// --- Personal data exports ------------------------------------------------

// The life of an export (migration 0010): pending -> running -> ready ->
// expired, or pending/running -> failed.
enum class ExportState { kPending, kRunning, kReady, kFailed, kExpired };

// The state's name, as stored and as the API shows it.
constexpr std::string_view export_state_name(ExportState state) {
  switch (state) {
    case ExportState::kPending:
      return "pending";
    case ExportState::kRunning:
      return "running";
    case ExportState::kReady:
      return "ready";
    case ExportState::kFailed:
      return "failed";
    case ExportState::kExpired:
      return "expired";
  }
  return "failed";
}

using ExportId = std::string;  // 22 URL-safe base64 characters of 128 random bits

struct DataExport {
  ExportId id;
  UserId user_id = 0;
  ExportState state = ExportState::kPending;
  UnixMillis created_at = 0;
  std::optional<UnixMillis> finished_at;  // ready or failed
  std::optional<UnixMillis> expires_at;   // ready (and expired): when the archive goes
  std::int64_t size = 0;                  // the archive's bytes, once ready
  std::string sha256;                     // the archive's digest, once ready
  std::string error;                      // failed: why, for people
};

// A conversation the user was a member of and is not any more: the
// memberships that ended, as positions (joined_pos < visible <= left_pos).
struct PastConversation {
  Conversation conversation;
  std::vector<std::pair<Position, Position>> memberships;  // (joined_pos, left_pos), oldest first
};

// A page of readable_messages(): the messages, and where the next page
// starts (the last seq looked at, readable or not).
struct ReadablePage {
  std::vector<Message> messages;
  Seq last_seq = 0;
  bool done = false;  // nothing after last_seq
};

// --- Push subscriptions (migration 0011) ------------------------------------

using PushSubscriptionId = std::int64_t;

// A browser's Web Push subscription (RFC 8030), registered by one signed-in
// device and deleted with its session.
struct PushSubscription {
  PushSubscriptionId id = 0;
  UserId user_id = 0;
  SessionId session_id = 0;
  std::string endpoint;  // https URL of the push service
  std::string p256dh;    // raw bytes: the 65-byte uncompressed P-256 point
  std::string auth;      // raw bytes: the 16-byte authentication secret
  UnixMillis created_at = 0;
};

}  // namespace parley::storage
