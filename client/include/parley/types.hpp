// The values the engine hands to an app: plain structs, copied out of the
// device store, owned by whoever holds them. None refers back into the
// engine, so they may be kept and read on any thread.
//
// Ids are the server's (int64). Times are Unix milliseconds (UTC). Text is
// UTF-8 exactly as the server sent it: escape it before showing it in any
// markup.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace parley {

using UserId = std::int64_t;
using ConversationId = std::int64_t;
using MessageId = std::int64_t;
using InvitationId = std::int64_t;
using MediaId = std::string;  // 22 characters of base64url
using Millis = std::int64_t;

struct User {
  UserId id = 0;
  std::string username;
  std::string display_name;
  std::string status_text;
  std::optional<MediaId> avatar_media_id;
  bool deleted = false;
};

enum class Role { member, admin, owner };

struct Member {
  User user;
  Role role = Role::member;
  Millis joined_at = 0;
  std::int64_t read_seq = 0;
  std::int64_t delivered_seq = 0;
};

struct Reaction {
  std::string emoji;
  std::vector<UserId> user_ids;  // in the order they reacted
};

struct Attachment {
  MediaId id;
  std::string name;
  std::int64_t size = 0;
  std::string content_type;
  std::optional<int> width, height;  // images only
};

// Where a message is in its life on this device.
enum class MessageState {
  pending,    // written on this device, in the outbox, not yet acknowledged
  sent,       // stored by the server (it has an id and a seq)
  failed,     // the server refused it for good (error says why); never retried
};

struct Message {
  MessageId id = 0;          // 0 while pending
  ConversationId conversation_id = 0;
  std::int64_t seq = 0;      // 0 while pending
  UserId sender_id = 0;
  std::string client_id;     // the idempotency key of its send
  std::string text;
  std::optional<MessageId> reply_to;
  std::vector<UserId> mentions;
  std::vector<Reaction> reactions;
  std::vector<Attachment> attachments;
  std::optional<std::int64_t> sticker_id;
  Millis created_at = 0;     // the server's time; the local time while pending
  std::optional<Millis> edited_at;
  bool deleted = false;
  MessageState state = MessageState::sent;
  std::string error;         // why, when state == failed
};

enum class ConversationKind { direct, group };

struct Conversation {
  ConversationId id = 0;
  ConversationKind kind = ConversationKind::direct;
  std::string name;   // groups; empty for direct conversations
  std::string topic;
  std::optional<User> peer;  // the other user of a direct conversation
  Role role = Role::member;  // this user's role
  std::int64_t last_seq = 0;
  std::int64_t read_seq = 0;       // this user's read mark
  std::int64_t unread_count = 0;   // others' messages above read_seq, not deleted
  std::optional<Message> last_message;
  std::optional<MediaId> avatar_media_id;
  Millis created_at = 0;
  std::optional<Millis> muted_until;  // set when this user muted it
  // The title an app shows: the group's name, or the peer's display name.
  [[nodiscard]] std::string title() const;
};

// A page of a conversation's history from the device store, ascending seq.
struct HistoryPage {
  std::vector<Message> messages;
  // True when older messages exist that the store does not hold (never
  // fetched, or evicted): call Account::load_older to fetch them.
  bool more_on_server = false;
  bool more_in_store = false;  // older messages are in the store: page again
};

struct Contact {
  User user;
  Millis since = 0;
  // Not filled from the store yet: presence arrives as it changes through
  // Listener::on_presence; an app keeps it in memory.
  bool online = false;
  std::optional<Millis> last_seen_at;
};

struct Invitation {
  InvitationId id = 0;
  User user;           // the other side: who invited us, or whom we invited
  bool incoming = true;
  Millis created_at = 0;
};

struct SearchHit {
  Message message;
  std::string snippet;  // the matching text with the match between [ and ]
};

// --- The account's own data on the server (Account's profile, settings,
// sessions, two-factor, stickers and export calls) ----------------------------

enum class LastSeenVisibility { everyone, contacts, nobody };

struct Settings {
  LastSeenVisibility last_seen = LastSeenVisibility::contacts;
  bool notifications_enabled = true;
  std::vector<std::pair<ConversationId, Millis>> mutes;  // conversation, muted until
};

// One signed-in device of the user (GET /api/v1/sessions).
struct SessionInfo {
  std::int64_t id = 0;
  std::string device_name;
  Millis created_at = 0;
  Millis last_seen_at = 0;
  bool current = false;  // this device's session
};

struct TwoFactorStatus {
  bool enabled = false;
  bool pending = false;  // enrolment begun, not confirmed
  int recovery_codes_left = 0;
};

// What an authenticator app needs; show qr_text in a terminal, qr_svg in a window.
struct TwoFactorEnrolment {
  std::string secret;  // base32
  std::string otpauth_uri;
  std::string qr_svg;
  std::string qr_text;
};

struct Sticker {
  std::int64_t id = 0;
  std::string emoji;
  int width = 0, height = 0;
};

struct StickerPack {
  std::string name;
  std::string title;
  int count = 0;
  std::vector<Sticker> stickers;  // filled by Account::sticker_pack only
};

// A personal data export (GET /api/v1/me/export).
struct DataExport {
  std::string id;
  std::string state;  // pending, running, ready, failed, expired
  int progress = 0;   // percent
  std::optional<std::int64_t> size;
  std::string sha256;
  std::string error;
};

struct MediaInfo {
  MediaId id;
  std::string name;
  std::int64_t size = 0;
  std::string content_type;
  std::optional<int> width, height;
};

enum class ConnectionState {
  offline,      // not connected; the engine waits before the next attempt
  connecting,   // opening the WebSocket
  syncing,      // connected, receiving what was missed (or reloading after resync_required)
  online,       // up to date: live events arrive as they happen
  signed_out,   // no session (never signed in, signed out, or revoked by the server)
};

// What changed in the store, as one notification per applied batch. An app
// re-reads what it shows when its ids appear here.
struct Changes {
  bool conversation_list = false;               // conversations added, removed, reordered, renamed
  std::vector<ConversationId> conversations;    // whose messages or fields changed
  std::vector<Message> new_messages;            // arrived from the network (not this device's own)
  std::vector<MediaId> thumbnails;              // small thumbnails the engine fetched into the cache
  bool contacts = false;
  bool invitations = false;
  bool settings = false;
  [[nodiscard]] bool empty() const {
    return !conversation_list && conversations.empty() && new_messages.empty() && thumbnails.empty() && !contacts &&
           !invitations && !settings;
  }
};

// Progress of an upload or a download, in bytes.
struct Progress {
  std::int64_t done = 0;
  std::int64_t total = 0;  // 0 when unknown
};

// A file being sent (Account::send_file), kept across restarts of the app
// until its message is queued.
struct PendingUpload {
  std::string client_id;  // the client id its message will have
  ConversationId conversation_id = 0;
  std::filesystem::path path;
  std::string caption;
  Progress progress;  // what the server has confirmed so far
};

// An incoming message that should notify the user, after the engine applied
// mutes and settings. Carries what a notification shows.
struct Notification {
  ConversationId conversation_id = 0;
  MessageId message_id = 0;
  std::string conversation_title;  // group name, or the sender's display name
  User sender;
  std::string preview;  // the text, shortened to 200 bytes on a character boundary; "[file]" etc. without text
  bool group = false;
  bool mentions_me = false;
  Millis created_at = 0;
};

}  // namespace parley
