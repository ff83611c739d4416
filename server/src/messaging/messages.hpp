// Message operations: the rules of sending, editing, deleting, reacting and
// receipts. Each runs inside a write transaction and emits its events there,
// so that a change and its event commit together or not at all.
//
// Failures throw ApiError. Whoever is not a member of a conversation gets
// kNotFound, the same answer as for a conversation that does not exist.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/store.hpp"

namespace parley::messaging {

// Limits, documented in docs/protocol.md.
inline constexpr std::size_t kMaxTextChars = 4000;
inline constexpr std::size_t kMaxClientIdBytes = 64;
// Files one message may carry: an album's worth, and a bound on the rows and
// access checks a single frame can cause.
inline constexpr std::size_t kMaxAttachments = 10;
// Longer strings are no media id (ids are 22 characters): not looked up.
inline constexpr std::size_t kMaxMediaIdBytes = 64;

struct SendRequest {
  storage::ConversationId conversation_id = 0;
  std::string client_id;  // the sender's idempotency key
  std::string text;  // may be empty when there are attachments
  std::optional<storage::MessageId> reply_to;
  // Media ids, distinct, at most kMaxAttachments; each must be readable by
  // the sender (media/media_access.hpp): their own uploads, or files they can
  // already see, so that forwarding works.
  std::vector<std::string> attachments;
  // A sticker message: text must be empty. The sticker must be available
  // and its pack in the sender's set.
  std::optional<storage::StickerId> sticker;
};

struct SendResult {
  storage::Message message;
  bool duplicate = false;  // an earlier send with this client_id already stored it
};

// Checks what can be checked without the database; throws kValidationFailed.
void validate_send(const SendRequest& request);
void validate_text(std::string_view text);
void validate_emoji(std::string_view emoji);

// The caller's membership, or kNotFound.
storage::Member require_member(storage::Transaction& tx, storage::ConversationId conversation, storage::UserId user);

// Stores the message with the next seq and emits message.new, or, if the
// sender already sent this client_id, returns that message and changes
// nothing (the same conversation, text and attachments, else kConflict). In
// a direct conversation a block in either direction forbids it. An
// attachment the sender may not read is kNotFound naming it, as an unknown
// id is, and nothing is stored.
SendResult send(storage::Transaction& tx, storage::UserId sender, const SendRequest& request);

// The sender may edit; message.edited. A sticker message cannot be edited
// (kValidationFailed).
void edit(storage::Transaction& tx, storage::UserId actor, storage::MessageId id, const std::string& text);

// The sender may delete, and in a group an admin or owner; message.deleted.
void remove(storage::Transaction& tx, storage::UserId actor, storage::MessageId id);

// reaction.added / reaction.removed; adding twice or removing what is not
// there changes nothing and emits nothing.
void react(storage::Transaction& tx, storage::UserId actor, storage::MessageId id, const std::string& emoji,
           bool add);

// Raise the caller's read (or delivered) mark up to `seq` (at most the last
// message); receipt.read / receipt.delivered when it moved.
void mark_read(storage::Transaction& tx, storage::UserId user, storage::ConversationId conversation, storage::Seq seq);
void mark_delivered(storage::Transaction& tx, storage::UserId user, storage::ConversationId conversation,
                    storage::Seq seq);

// `user` leaves the group `conversation`, of which `member` is their
// membership: member.left to the members and to them; when the last owner
// leaves, the longest-standing admin (else member) becomes owner
// (member.role_changed). Used by the leave route and by account deletion.
void leave_group(storage::Transaction& tx, storage::ConversationId conversation, const storage::Member& member);

}  // namespace parley::messaging
