#include "messaging/messages.hpp"

#include <algorithm>

#include <boost/json/object.hpp>
#include <fmt/format.h>

#include "api/views.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/validation.hpp"
#include "events/emit.hpp"
#include "media/media_access.hpp"

namespace parley::messaging {

using boost::json::object;
using storage::ConversationKind;
using storage::Role;
using storage::Transaction;

namespace {

[[noreturn]] void invalid(std::string_view why) { throw ApiError(ErrorCode::kValidationFailed, std::string(why)); }

storage::Message require_message(Transaction& tx, storage::MessageId id, storage::UserId user) {
  auto message = tx.message_by_id(id);
  // A message in a conversation the caller is not in does not exist for them.
  if (!message || !tx.member(message->conversation_id, user)) {
    throw ApiError(ErrorCode::kNotFound, "no such message");
  }
  return *message;
}

// Users named with @username in `text` who are members of the conversation.
std::vector<storage::UserId> find_mentions(Transaction& tx, storage::ConversationId conversation,
                                           std::string_view text) {
  std::vector<storage::UserId> mentioned;
  for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
    if (at > 0 && text[at - 1] != ' ' && text[at - 1] != '\n' && text[at - 1] != '(') continue;
    std::size_t end = at + 1;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_' ||
                                 text[end] == '.')) {
      ++end;
    }
    std::string_view name = text.substr(at + 1, end - at - 1);
    while (!name.empty() && name.back() == '.') name.remove_suffix(1);  // "@bob." ends a sentence
    auto username = validation::normalized_username(name);
    if (!username) continue;
    auto user = tx.user_by_username(*username);
    if (user && tx.member(conversation, user->id)) mentioned.push_back(user->id);
  }
  std::sort(mentioned.begin(), mentioned.end());
  mentioned.erase(std::unique(mentioned.begin(), mentioned.end()), mentioned.end());
  return mentioned;
}

// A sticker may be sent from the packs in the sender's set: the set is what
// a client offers to pick from, and the rule keeps sending tied to a choice
// the user made (docs/protocol.md, "send").
void check_sticker(Transaction& tx, storage::UserId sender, storage::StickerId id) {
  auto sticker = tx.sticker_by_id(id);
  if (!sticker || !sticker->available) invalid("sticker: no such sticker");
  if (!tx.user_has_sticker_pack(sender, sticker->pack_id)) invalid("sticker: its pack is not in your set");
}

std::vector<storage::UserId> mentions_for(Transaction& tx, const storage::Conversation& conversation,
                                          std::string_view text) {
  if (conversation.kind != ConversationKind::kGroup) return {};
  return find_mentions(tx, conversation.id, text);
}

}  // namespace

void validate_text(std::string_view text) {
  if (!validation::is_valid_utf8(text)) invalid("text: is not valid UTF-8");
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    // C0 controls but newline and tab, DEL, and C1 controls (C2 80..C2 9F).
    bool c1 = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F || c1) {
      invalid("text: must not contain control characters");
    }
  }
  std::size_t chars = validation::code_points(text);
  if (chars == 0 || chars > kMaxTextChars) invalid("text: must be 1 to 4000 characters");
  if (text.find_first_not_of(" \n\t") == std::string_view::npos) invalid("text: must not be blank");
}

void validate_emoji(std::string_view emoji) {
  if (emoji.empty() || emoji.size() > 32 || !validation::is_valid_utf8(emoji)) {
    invalid("emoji: must be one emoji (at most 32 bytes of UTF-8)");
  }
  bool has_symbol = false;
  for (unsigned char c : emoji) {
    if (c < 0x21 || c == 0x7F) invalid("emoji: must not contain spaces or control characters");
    if (c >= 0x80) has_symbol = true;
  }
  if (!has_symbol || validation::code_points(emoji) > 10) invalid("emoji: must be one emoji");
}

void validate_send(const SendRequest& request) {
  if (request.client_id.empty() || request.client_id.size() > kMaxClientIdBytes) {
    invalid("client_id: must be 1 to 64 characters");
  }
  for (char c : request.client_id) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) invalid("client_id: may contain only letters, digits, '-', '_', '.' and ':'");
  }
  if (request.attachments.size() > kMaxAttachments) invalid("attachments: at most 10 files");
  for (std::size_t i = 0; i < request.attachments.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (request.attachments[j] == request.attachments[i]) invalid("attachments: names the same file twice");
    }
  }
  if (request.sticker) {
    if (*request.sticker <= 0) invalid("sticker: must be a sticker id");
    if (!request.text.empty()) invalid("text: must be empty in a sticker message");
    if (!request.attachments.empty()) invalid("attachments: a sticker message carries no files");
    return;
  }
  // A message is its text, its files or both, never neither.
  if (!request.attachments.empty() && request.text.empty()) return;
  validate_text(request.text);
}

storage::Member require_member(Transaction& tx, storage::ConversationId conversation, storage::UserId user) {
  auto member = tx.member(conversation, user);
  if (!member) throw ApiError(ErrorCode::kNotFound, "no such conversation");
  return *member;
}

namespace {

// The answer to a send whose client_id its sender used before: the stored
// message if this is a retry of it, else a conflict.
SendResult retry_of(const storage::Message& existing, const SendRequest& request) {
  // A retry carries the same message; the same id on another message is a
  // client bug that must not silently lose that message.
  bool same_files = existing.attachments.size() == request.attachments.size();
  for (std::size_t i = 0; same_files && i < request.attachments.size(); ++i) {
    same_files = existing.attachments[i].media_id == request.attachments[i];
  }
  bool same = existing.conversation_id == request.conversation_id &&
              ((existing.body == request.text && same_files) || existing.edited_at || existing.deleted_at) &&
              (existing.deleted_at || (existing.sticker ? std::optional<storage::StickerId>(existing.sticker->id)
                                                        : std::nullopt) == request.sticker);
  if (!same) throw ApiError(ErrorCode::kConflict, "client_id: already used for a different message");
  return {existing, true};
}

// The checks a new message passes; returns the conversation's members.
std::vector<storage::UserId> check_send(Transaction& tx, storage::UserId sender, const SendRequest& request,
                                        storage::Conversation& conversation) {
  // The conversation, its members and blocks come from the writer's memory
  // (storage/sqlite/writer_cache.hpp): no statement.
  auto found = tx.conversation_by_id(request.conversation_id);
  auto members = tx.member_ids(request.conversation_id);
  if (!found || std::find(members.begin(), members.end(), sender) == members.end()) {
    throw ApiError(ErrorCode::kNotFound, "no such conversation");
  }
  conversation = std::move(*found);
  if (conversation.kind == ConversationKind::kDirect) {
    for (auto other : members) {
      if (other != sender && tx.block_between(other, sender)) {
        throw ApiError(ErrorCode::kBlocked, "a block between you and this user forbids messages");
      }
    }
  }
  if (request.reply_to) {
    auto original = tx.message_by_id(*request.reply_to);
    if (!original || original->conversation_id != request.conversation_id) {
      invalid("reply_to: no such message in this conversation");
    }
  }
  // Only a message with files pays for checking them.
  for (std::size_t i = 0; i < request.attachments.size(); ++i) {
    const auto& id = request.attachments[i];
    auto media = id.size() <= kMaxMediaIdBytes ? tx.media_by_id(id) : std::nullopt;
    if (!media || !media::MediaAccess::may_read(tx, sender, *media)) {
      throw ApiError(ErrorCode::kNotFound, fmt::format("attachments[{}]: no such media", i));
    }
  }
  if (request.sticker) check_sticker(tx, sender, *request.sticker);
  return members;
}

}  // namespace

SendResult send(Transaction& tx, storage::UserId sender, const SendRequest& request) {
  // Idempotency: a retry of a stored message gets the same answer even if
  // the sender has since left or been blocked. The common send is new, so
  // the stored one is looked up only when a check fails or the insert finds
  // the client_id taken (the unique index's own probe, no lookup first).
  storage::Conversation conversation;
  std::vector<storage::UserId> members;
  try {
    members = check_send(tx, sender, request, conversation);
  } catch (const ApiError&) {
    if (auto existing = tx.message_by_client_id(sender, request.client_id)) return retry_of(*existing, request);
    throw;
  }
  storage::NewMessage message;
  message.sticker_id = request.sticker;
  message.conversation_id = request.conversation_id;
  message.attachments = request.attachments;
  message.sender_id = sender;
  message.client_id = request.client_id;
  message.body = request.text;
  message.reply_to_id = request.reply_to;
  message.mentions = mentions_for(tx, conversation, request.text);
  message.created_at = now_millis();
  auto stored = tx.insert_message_if_new(message, tx.next_position());
  if (!stored) {
    // Taken: by this sender, so the lookup finds it.
    auto existing = tx.message_by_client_id(sender, request.client_id);
    if (!existing) throw ApiError(ErrorCode::kInternal, "client_id: taken but not found");
    return retry_of(*existing, request);
  }
  // Writing in a conversation implies having read it up to there (on the
  // writer, the row is written once per batch).
  tx.advance_read(stored->conversation_id, sender, stored->seq);
  events::new_message(tx, *stored, std::move(members));
  return {std::move(*stored), false};
}

void edit(Transaction& tx, storage::UserId actor, storage::MessageId id, const std::string& text) {
  validate_text(text);
  auto message = require_message(tx, id, actor);
  if (message.sender_id != actor) throw ApiError(ErrorCode::kForbidden, "only the sender may edit a message");
  if (message.deleted_at) throw ApiError(ErrorCode::kConflict, "the message was deleted");
  if (message.sticker) invalid("a sticker message cannot be edited");
  auto conversation = *tx.conversation_by_id(message.conversation_id);
  tx.edit_message(id, text, mentions_for(tx, conversation, text), now_millis());
  auto edited = *tx.message_by_id(id);
  events::about_message(tx, edited,
                        object{{"type", "message.edited"},
                               {"conversation_id", edited.conversation_id},
                               {"message", api::message_view(edited)}});
}

void remove(Transaction& tx, storage::UserId actor, storage::MessageId id) {
  auto message = require_message(tx, id, actor);
  if (message.sender_id != actor) {
    auto conversation = *tx.conversation_by_id(message.conversation_id);
    auto member = require_member(tx, message.conversation_id, actor);
    if (conversation.kind != ConversationKind::kGroup || member.role < Role::kAdmin) {
      throw ApiError(ErrorCode::kForbidden, "only the sender or a group admin may delete a message");
    }
  }
  if (message.deleted_at) return;  // already a tombstone: deleting again is a no-op
  tx.delete_message(id, now_millis());
  events::to_conversation(tx, message.conversation_id,
                          object{{"type", "message.deleted"},
                                 {"conversation_id", message.conversation_id},
                                 {"message_id", id},
                                 {"seq", message.seq},
                                 {"by", actor}});
}

void react(Transaction& tx, storage::UserId actor, storage::MessageId id, const std::string& emoji, bool add) {
  validate_emoji(emoji);
  auto message = require_message(tx, id, actor);
  if (message.deleted_at) throw ApiError(ErrorCode::kConflict, "the message was deleted");
  bool changed = add ? tx.add_reaction(id, actor, emoji, now_millis()) : tx.remove_reaction(id, actor, emoji);
  if (!changed) return;
  events::about_message(tx, message,
                        object{{"type", add ? "reaction.added" : "reaction.removed"},
                               {"conversation_id", message.conversation_id},
                               {"message_id", id},
                               {"user_id", actor},
                               {"emoji", emoji}});
}

namespace {

void mark(Transaction& tx, storage::UserId user, storage::ConversationId conversation, storage::Seq seq, bool read) {
  require_member(tx, conversation, user);
  if (seq <= 0) invalid("seq: must be positive");
  auto last = tx.conversation_by_id(conversation)->last_seq;
  seq = std::min(seq, last);
  bool moved = read ? tx.advance_read(conversation, user, seq) : tx.advance_delivered(conversation, user, seq);
  if (read) tx.advance_delivered(conversation, user, seq);  // read implies delivered
  if (!moved) return;
  events::to_conversation(tx, conversation,
                          object{{"type", read ? "receipt.read" : "receipt.delivered"},
                                 {"conversation_id", conversation},
                                 {"user_id", user},
                                 {"seq", seq}});
}

}  // namespace

void mark_read(Transaction& tx, storage::UserId user, storage::ConversationId conversation, storage::Seq seq) {
  mark(tx, user, conversation, seq, true);
}

void mark_delivered(Transaction& tx, storage::UserId user, storage::ConversationId conversation, storage::Seq seq) {
  mark(tx, user, conversation, seq, false);
}

void leave_group(Transaction& tx, storage::ConversationId conversation, const storage::Member& member) {
  auto user = member.user_id;
  tx.delete_member(conversation, user);
  events::to_conversation(
      tx, conversation, object{{"type", "member.left"}, {"conversation_id", conversation}, {"user_id", user}, {"by", user}},
      user);
  if (member.role != Role::kOwner) return;
  auto rest = tx.members(conversation);
  bool owner_left =
      std::any_of(rest.begin(), rest.end(), [](const storage::Member& m) { return m.role == Role::kOwner; });
  if (owner_left || rest.empty()) return;
  // Hand the group over: the longest-standing admin, else member.
  auto heir = std::max_element(rest.begin(), rest.end(), [](const storage::Member& a, const storage::Member& b) {
    return a.role != b.role ? a.role < b.role : a.joined_pos > b.joined_pos;
  });
  tx.set_role(conversation, heir->user_id, Role::kOwner);
  events::to_conversation(tx, conversation,
                          object{{"type", "member.role_changed"},
                                 {"conversation_id", conversation},
                                 {"user_id", heir->user_id},
                                 {"by", user},
                                 {"role", "owner"}});
}

}  // namespace parley::messaging
