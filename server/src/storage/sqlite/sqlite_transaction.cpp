#include "storage/sqlite/sqlite_transaction.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "storage/sqlite/database.hpp"

namespace parley::storage::sqlite {
namespace {

constexpr std::string_view kUserColumns =
    "u.id, u.username, u.display_name, u.status_text, u.avatar_media_id, u.last_seen_visibility, "
    "u.notifications_enabled, u.created_at, u.last_online_at, u.deleted_at IS NOT NULL, u.notification_previews";
constexpr int kUserColumnCount = 11;

// Reads the kUserColumns starting at `first`.
User read_user(const Statement& row, int first = 0) {
  User user;
  user.id = row.int64(first);
  user.username = row.text(first + 1);
  user.display_name = row.text(first + 2);
  user.status_text = row.text(first + 3);
  user.avatar_media_id = row.optional_text(first + 4);
  user.last_seen_visibility = static_cast<LastSeenVisibility>(row.int64(first + 5));
  user.notifications_enabled = row.int64(first + 6) != 0;
  user.created_at = row.int64(first + 7);
  if (!row.is_null(first + 8)) user.last_online_at = row.int64(first + 8);
  user.deleted = row.int64(first + 9) != 0;
  user.notification_previews = row.int64(first + 10) != 0;
  return user;
}

Session read_session(const Statement& row) {
  return Session{row.int64(0), row.int64(1), row.text(2), row.int64(3), row.int64(4)};
}

Invitation read_invitation(const Statement& row) {
  return Invitation{row.int64(0), row.int64(1), row.int64(2), row.int64(3)};
}

// Statements composed from the column lists above. Each call site keeps its
// statement in a function-local static, so that it is built once, not on
// every call of a hot path.
std::string sql(std::string_view head, std::string_view tail = "") {
  std::string s(head);
  s += tail;
  return s;
}

constexpr std::string_view kSessionColumns = "id, user_id, device_name, created_at, last_seen_at";
constexpr std::string_view kInvitationColumns = "id, from_user, to_user, created_at";

}  // namespace

std::vector<SessionId> SqliteTransaction::purge_account(UserId user, std::string_view placeholder_username,
                                                       UnixMillis now) {
  std::vector<SessionId> ended;
  Statement& sessions = db_.prepare("SELECT id FROM sessions WHERE user_id = ?1");
  sessions.bind(1, user);
  while (sessions.step()) ended.push_back(sessions.int64(0));
  sessions.reset();
  db_.prepare("DELETE FROM sessions WHERE user_id = ?1").bind(1, user).run();
  delete_two_factor(user);
  db_.prepare("DELETE FROM conversation_mutes WHERE user_id = ?1").bind(1, user).run();
  db_.prepare("DELETE FROM contacts WHERE user_id = ?1 OR contact_id = ?1").bind(1, user).run();
  db_.prepare("DELETE FROM invitations WHERE from_user = ?1 OR to_user = ?1").bind(1, user).run();
  db_.prepare("DELETE FROM blocks WHERE user_id = ?1 OR blocked_id = ?1").bind(1, user).run();
  if (auto* c = cache()) c->forget_blocks_of(user);
  db_.prepare("DELETE FROM user_sticker_packs WHERE user_id = ?1").bind(1, user).run();
  // Cleared first: the avatar is then a file nothing refers to.
  db_.prepare(
         "UPDATE users SET username = ?2, password_hash = '', display_name = 'Deleted user', status_text = '', "
         "avatar_media_id = NULL, deleted_at = ?3 WHERE id = ?1")
      .bind(1, user)
      .bind(2, placeholder_username)
      .bind(3, now)
      .run();
  // Stored events (for devices that resume) that show them: their own
  // stream, and others' events carrying their profile (a user object under
  // "user", "from", "to" or "peer": contact, invitation, block and member
  // events). A resuming device then misses an event about someone who is
  // gone anyway; gaps in positions are harmless (docs/protocol.md).
  db_.prepare("DELETE FROM events WHERE user_id = ?1").bind(1, user).run();
  db_.prepare(
         "DELETE FROM events WHERE instr(payload, '\"id\":' || ?1) > 0 AND EXISTS ("
         "SELECT 1 FROM json_tree(events.payload) t WHERE t.key = 'id' AND t.type = 'integer' AND t.atom = ?1 "
         "AND (t.path LIKE '%.user' OR t.path LIKE '%.from' OR t.path LIKE '%.to' OR t.path LIKE '%.peer'))")
      .bind(1, user)
      .run();
  // Files others received stay theirs; the rest goes now.
  std::vector<std::string> unused;
  Statement& media = db_.prepare(
      "SELECT id FROM media m WHERE owner_id = ?1 "
      "AND NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.media_id = m.id) "
      "AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.avatar_media_id = m.id)");
  media.bind(1, user);
  while (media.step()) unused.push_back(media.text(0));
  media.reset();
  for (const auto& id : unused) delete_media(id);
  return ended;
}

void SqliteTransaction::reserve_username(std::string_view username_hash, UnixMillis until) {
  db_.prepare(
         "INSERT INTO reserved_usernames (username_hash, reserved_until) VALUES (?1, ?2) "
         "ON CONFLICT (username_hash) DO UPDATE SET reserved_until = MAX(reserved_until, excluded.reserved_until)")
      .bind_blob(1, username_hash)
      .bind(2, until)
      .run();
}

void SqliteTransaction::update_user(UserId id, const ProfilePatch& patch) {
  // COALESCE keeps a column when its parameter is NULL; the avatar needs a
  // separate flag because NULL is also a value it can be set to.
  Statement& update = db_.prepare(
      "UPDATE users SET display_name = COALESCE(?2, display_name), status_text = COALESCE(?3, status_text), "
      "avatar_media_id = CASE WHEN ?4 THEN ?5 ELSE avatar_media_id END, "
      "last_seen_visibility = COALESCE(?6, last_seen_visibility), "
      "notifications_enabled = COALESCE(?7, notifications_enabled), "
      "notification_previews = COALESCE(?8, notification_previews) WHERE id = ?1");
  update.bind(1, id).bind_optional(2, patch.display_name).bind_optional(3, patch.status_text);
  update.bind(4, std::int64_t{patch.avatar_media_id.has_value()});
  update.bind_optional(5, patch.avatar_media_id ? *patch.avatar_media_id : std::nullopt);
  if (patch.last_seen_visibility) {
    update.bind(6, static_cast<std::int64_t>(*patch.last_seen_visibility));
  } else {
    update.bind_null(6);
  }
  if (patch.notifications_enabled) {
    update.bind(7, std::int64_t{*patch.notifications_enabled});
  } else {
    update.bind_null(7);
  }
  if (patch.notification_previews) {
    update.bind(8, std::int64_t{*patch.notification_previews});
  } else {
    update.bind_null(8);
  }
  update.run();
}

bool SqliteTransaction::block_between(UserId a, UserId b) {
  auto* c = cache();
  if (c != nullptr) {
    if (auto known = c->block_between(a, b)) return *known;
  }
  Statement& query = db_.prepare(
      "SELECT 1 FROM blocks WHERE (user_id = ?1 AND blocked_id = ?2) OR (user_id = ?2 AND blocked_id = ?1)");
  query.bind(1, a).bind(2, b);
  bool blocked = query.step();
  if (c != nullptr) c->put_block(a, b, blocked);
  return blocked;
}

bool SqliteTransaction::insert_block(UserId user, UserId blocked, UnixMillis now) {
  db_.prepare("INSERT INTO blocks (user_id, blocked_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")
      .bind(1, user)
      .bind(2, blocked)
      .bind(3, now)
      .run();
  bool added = db_.changes() > 0;
  if (auto* c = cache()) c->forget_block(user, blocked);
  return added;
}

bool SqliteTransaction::delete_block(UserId user, UserId blocked) {
  db_.prepare("DELETE FROM blocks WHERE user_id = ?1 AND blocked_id = ?2").bind(1, user).bind(2, blocked).run();
  bool removed = db_.changes() > 0;
  // The block the other way, if any, still stands: read again next time.
  if (auto* c = cache()) c->forget_block(user, blocked);
  return removed;
}

// --- Conversations --------------------------------------------------------

namespace {

constexpr std::string_view kConversationColumns =
    "c.id, c.kind, c.name, c.topic, c.created_by, c.created_at, c.last_seq, c.last_pos, c.avatar_media_id";
constexpr int kConversationColumnCount = 9;

Conversation read_conversation(const Statement& row, int first = 0) {
  Conversation c;
  c.id = row.int64(first);
  c.kind = static_cast<ConversationKind>(row.int64(first + 1));
  c.name = row.text(first + 2);
  c.topic = row.text(first + 3);
  c.created_by = row.int64(first + 4);
  c.created_at = row.int64(first + 5);
  c.last_seq = row.int64(first + 6);
  c.last_pos = row.int64(first + 7);
  c.avatar_media_id = row.optional_text(first + 8);
  return c;
}

constexpr std::string_view kMemberColumns =
    "m.conversation_id, m.user_id, m.role, m.joined_at, m.joined_pos, m.read_seq, m.delivered_seq";
constexpr int kMemberColumnCount = 7;

Member read_member(const Statement& row, int first = 0) {
  Member m;
  m.conversation_id = row.int64(first);
  m.user_id = row.int64(first + 1);
  m.role = static_cast<Role>(row.int64(first + 2));
  m.joined_at = row.int64(first + 3);
  m.joined_pos = row.int64(first + 4);
  m.read_seq = row.int64(first + 5);
  m.delivered_seq = row.int64(first + 6);
  return m;
}

constexpr std::string_view kMessageColumns =
    "g.id, g.conversation_id, g.seq, g.pos, g.sender_id, g.client_id, g.body, g.reply_to_id, g.created_at, "
    "g.edited_at, g.deleted_at, g.attachment_count";

Message read_message(const Statement& row, int first = 0) {
  Message m;
  m.id = row.int64(first);
  m.conversation_id = row.int64(first + 1);
  m.seq = row.int64(first + 2);
  m.pos = row.int64(first + 3);
  m.sender_id = row.int64(first + 4);
  m.client_id = row.text(first + 5);
  m.body = row.text(first + 6);
  if (!row.is_null(first + 7)) m.reply_to_id = row.int64(first + 7);
  m.created_at = row.int64(first + 8);
  if (!row.is_null(first + 9)) m.edited_at = row.int64(first + 9);
  if (!row.is_null(first + 10)) m.deleted_at = row.int64(first + 10);
  m.attachment_count = row.int64(first + 11);
  return m;
}

}  // namespace

std::optional<Conversation> SqliteTransaction::conversation_by_id(ConversationId id) {
  if (cache() != nullptr) {
    auto* entry = cached_conversation(id);
    if (entry == nullptr) return std::nullopt;
    return entry->row;
  }
  static const std::string kSql = sql(sql("SELECT ", kConversationColumns), " FROM conversations c WHERE c.id = ?1");
  Statement& query = db_.prepare(kSql);
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return read_conversation(query);
}

std::optional<Conversation> SqliteTransaction::conversation_by_direct_key(std::string_view direct_key) {
  static const std::string kSql =
      sql(sql("SELECT ", kConversationColumns), " FROM conversations c WHERE c.direct_key = ?1");
  Statement& query = db_.prepare(kSql);
  query.bind(1, direct_key);
  if (!query.step()) return std::nullopt;
  auto conversation = read_conversation(query);
  // The writer's counters may be newer than the row.
  if (auto* entry = cache() ? cache()->find(conversation.id) : nullptr) return entry->row;
  return conversation;
}

void SqliteTransaction::update_conversation(ConversationId id, const std::optional<std::string>& name,
                                            const std::optional<std::string>& topic) {
  db_.prepare("UPDATE conversations SET name = COALESCE(?2, name), topic = COALESCE(?3, topic) WHERE id = ?1")
      .bind(1, id)
      .bind_optional(2, name)
      .bind_optional(3, topic)
      .run();
  if (auto* entry = cache() ? cache()->change(id) : nullptr) {
    if (name) entry->row.name = *name;
    if (topic) entry->row.topic = *topic;
  }
}

std::vector<ConversationSummary> SqliteTransaction::conversations_of(UserId user) {
  static const std::string kSql =
      sql(sql(sql(sql("SELECT ", kConversationColumns), ", "), kMemberColumns),
          ", (SELECT COUNT(*) FROM members x WHERE x.conversation_id = c.id), "
          "(SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id AND u.seq > m.read_seq "
          "AND u.sender_id != m.user_id AND u.deleted_at IS NULL) "
          "FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ?1 "
          "ORDER BY c.last_pos DESC, c.id DESC");
  write_pending_counters();  // the statement orders by them
  write_pending_reads();     // and counts unread messages from the marks
  Statement& query = db_.prepare(kSql);
  query.bind(1, user);
  std::vector<ConversationSummary> result;
  while (query.step()) {
    ConversationSummary summary;
    summary.conversation = read_conversation(query);
    summary.membership = read_member(query, kConversationColumnCount);
    summary.member_count = static_cast<std::size_t>(query.int64(kConversationColumnCount + kMemberColumnCount));
    summary.unread_count = static_cast<std::size_t>(query.int64(kConversationColumnCount + kMemberColumnCount + 1));
    result.push_back(std::move(summary));
  }
  for (auto& summary : result) {
    if (summary.conversation.last_seq == 0) continue;
    auto last = messages_before(summary.conversation.id, summary.conversation.last_seq + 1, 1);
    if (!last.empty()) summary.last_message = std::move(last.front());
  }
  return result;
}

std::optional<Member> SqliteTransaction::member(ConversationId conversation, UserId user) {
  write_pending_read(conversation, user);
  static const std::string kSql =
      sql(sql("SELECT ", kMemberColumns), " FROM members m WHERE m.conversation_id = ?1 AND m.user_id = ?2");
  Statement& query = db_.prepare(kSql);
  query.bind(1, conversation).bind(2, user);
  if (!query.step()) return std::nullopt;
  return read_member(query);
}

std::vector<Member> SqliteTransaction::members(ConversationId conversation) {
  write_pending_reads();
  static const std::string kSql = sql(sql("SELECT ", kMemberColumns),
                                      " FROM members m WHERE m.conversation_id = ?1 ORDER BY m.joined_pos, m.user_id");
  Statement& query = db_.prepare(kSql);
  query.bind(1, conversation);
  std::vector<Member> result;
  while (query.step()) result.push_back(read_member(query));
  return result;
}

std::vector<UserId> SqliteTransaction::member_ids(ConversationId conversation) {
  if (cache() != nullptr) {
    std::vector<UserId> ids;
    if (auto* entry = cached_conversation(conversation)) {
      ids.reserve(entry->members.size());
      for (const auto& member : entry->members) ids.push_back(member.user);
    }
    return ids;
  }
  Statement& query = db_.prepare("SELECT user_id FROM members WHERE conversation_id = ?1");
  query.bind(1, conversation);
  std::vector<UserId> result;
  while (query.step()) result.push_back(query.int64(0));
  return result;
}

void SqliteTransaction::insert_member(const Member& m) {
  write_pending_read(m.conversation_id, m.user_id);
  db_.prepare(
         "INSERT INTO members (conversation_id, user_id, role, joined_at, joined_pos, read_seq, delivered_seq) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
      .bind(1, m.conversation_id)
      .bind(2, m.user_id)
      .bind(3, static_cast<std::int64_t>(m.role))
      .bind(4, m.joined_at)
      .bind(5, m.joined_pos)
      .bind(6, m.read_seq)
      .bind(7, m.delivered_seq)
      .run();
  if (auto* entry = cache() ? cache()->change(m.conversation_id) : nullptr) {
    auto at = std::lower_bound(entry->members.begin(), entry->members.end(), m.user_id,
                               [](const WriterCache::MemberState& s, UserId u) { return s.user < u; });
    entry->members.insert(at, WriterCache::MemberState{m.user_id, m.read_seq, false});
  }
}

bool SqliteTransaction::delete_member(ConversationId conversation, UserId user) {
  write_pending_read(conversation, user);
  // The membership ends at the newest position: its devices resume through
  // everything up to here.
  Statement& end = db_.prepare(
      "INSERT INTO past_memberships (conversation_id, user_id, joined_pos, left_pos) "
      "SELECT conversation_id, user_id, joined_pos, ?3 FROM members WHERE conversation_id = ?1 AND user_id = ?2");
  end.bind(1, conversation).bind(2, user).bind(3, current_position()).run();
  db_.prepare("DELETE FROM members WHERE conversation_id = ?1 AND user_id = ?2").bind(1, conversation).bind(2, user).run();
  bool removed = db_.changes() > 0;
  if (auto* entry = removed && cache() ? cache()->change(conversation) : nullptr) {
    std::erase_if(entry->members, [user](const WriterCache::MemberState& s) { return s.user == user; });
  }
  return removed;
}

bool SqliteTransaction::advance_read(ConversationId conversation, UserId user, Seq seq) {
  if (auto* c = cache()) {
    // The cached mark is the row's (or newer, pending): the answer needs no
    // statement, and the row is written once per batch.
    auto* entry = cached_conversation(conversation);
    auto* member = entry != nullptr ? entry->member(user) : nullptr;
    if (member == nullptr || member->read_seq >= seq) return false;
    c->raise_read(*entry, *member, seq);
    return true;
  }
  db_.prepare("UPDATE members SET read_seq = ?3 WHERE conversation_id = ?1 AND user_id = ?2 AND read_seq < ?3")
      .bind(1, conversation)
      .bind(2, user)
      .bind(3, seq)
      .run();
  return db_.changes() > 0;
}

// --- Messages -------------------------------------------------------------

std::optional<Message> SqliteTransaction::insert_message_row(const NewMessage& message, Position pos, bool if_new) {
  // The writer's cached row is the seq counter: the writer alone takes
  // seqs, so they are gapless and in commit order; the row is written once
  // per batch (SqliteStore::run_batch).
  auto* entry = cached_conversation(message.conversation_id);
  if (entry == nullptr) throw StorageError("insert_message: no such conversation");
  Seq seq = entry->row.last_seq + 1;
  // A send's idempotency check is the unique index's own probe: a
  // client_id its sender used before makes the INSERT change nothing. Only
  // that constraint is waived; any other violation still throws.
  constexpr std::string_view kInsert =
      "INSERT INTO messages (conversation_id, seq, pos, sender_id, client_id, body, reply_to_id, created_at, "
      "attachment_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
  static const std::string kInsertIfNew = sql(kInsert, " ON CONFLICT (sender_id, client_id) DO NOTHING");
  db_.prepare(if_new ? std::string_view(kInsertIfNew) : kInsert)
      .bind(1, message.conversation_id)
      .bind(2, seq)
      .bind(3, pos)
      .bind(4, message.sender_id)
      .bind_static(5, message.client_id)
      .bind_static(6, message.body)
      .bind_optional_int(7, message.reply_to_id)
      .bind(8, message.created_at)
      .bind(9, static_cast<std::int64_t>(message.attachments.size()))
      .run();
  if (if_new && db_.changes() == 0) return std::nullopt;
  if (writer_ && writer_->messages_inserted != nullptr) *writer_->messages_inserted = true;
  MessageId id = db_.last_insert_rowid();
  writer().cache->advance(*entry, seq, pos);
  // Nothing more for a message without attachments (the common send).
  for (std::size_t i = 0; i < message.attachments.size(); ++i) {
    db_.prepare("INSERT INTO message_attachments (message_id, media_id, position) VALUES (?1, ?2, ?3)")
        .bind(1, id)
        .bind(2, message.attachments[i])
        .bind(3, static_cast<std::int64_t>(i))
        .run();
  }
  for (UserId user : message.mentions) {
    db_.prepare("INSERT OR IGNORE INTO mentions (message_id, user_id) VALUES (?1, ?2)").bind(1, id).bind(2, user).run();
  }
  if (message.sticker_id) {
    db_.prepare("INSERT INTO message_stickers (message_id, sticker_id) VALUES (?1, ?2)")
        .bind(1, id)
        .bind(2, *message.sticker_id)
        .run();
  }
  return message_as_inserted(message, id, seq, pos);
}

namespace {

// "SELECT <message columns> <from_where>", for query_messages(); callers keep
// the result in a static so that it is built once.
std::string select_messages(std::string_view from_where) {
  return sql(sql(sql("SELECT ", kMessageColumns), " "), from_where);
}

}  // namespace

void SqliteTransaction::load_details(std::vector<Message>& messages) {
  for (auto& message : messages) load_details(message);
}

void SqliteTransaction::load_details(Message& message) {
  message.mentions.clear();
  message.reactions.clear();
  message.attachments.clear();
  load_sticker(message);
  if (message.deleted_at) return;
  if (message.attachment_count > 0) load_attachments(message);
  Statement& mentions = db_.prepare("SELECT user_id FROM mentions WHERE message_id = ?1 ORDER BY user_id");
  mentions.bind(1, message.id);
  while (mentions.step()) message.mentions.push_back(mentions.int64(0));
  Statement& reactions =
      db_.prepare("SELECT emoji, user_id FROM reactions WHERE message_id = ?1 ORDER BY emoji, created_at, user_id");
  reactions.bind(1, message.id);
  while (reactions.step()) message.reactions.emplace_back(reactions.text(0), reactions.int64(1));
}

bool SqliteTransaction::load_details_as_of(Message& message, Position end) {
  message.mentions.clear();
  message.reactions.clear();
  message.attachments.clear();
  // A sticker never changes (edits of sticker messages are refused).
  load_sticker(message);
  // A deleted message's content is gone from every table: the tombstone is
  // all anyone gets, whenever they left.
  if (message.deleted_at) return true;
  // Attachments never change while the message exists: as of any end they
  // are what they are now.
  if (message.attachment_count > 0) load_attachments(message);
  // The oldest version that lasted through `end`, if an edit came after it;
  // else the row is as it was at `end`.
  Statement& version = db_.prepare(
      "SELECT body, mentions, edited_at FROM message_versions WHERE message_id = ?1 AND through_pos >= ?2 "
      "ORDER BY through_pos LIMIT 1");
  version.bind(1, message.id).bind(2, end);
  if (version.step()) {
    if (version.is_null(0)) return false;  // overwritten before versions were kept: unknown
    message.body = version.text(0);
    message.edited_at = version.is_null(2) ? std::nullopt : std::optional<UnixMillis>(version.int64(2));
    Statement& mentions = db_.prepare("SELECT value FROM json_each(?1) ORDER BY value");
    mentions.bind(1, version.text(1));
    while (mentions.step()) message.mentions.push_back(mentions.int64(0));
  } else {
    Statement& mentions = db_.prepare("SELECT user_id FROM mentions WHERE message_id = ?1 ORDER BY user_id");
    mentions.bind(1, message.id);
    while (mentions.step()) message.mentions.push_back(mentions.int64(0));
  }
  // Reactions added by then, current or since taken back.
  Statement& reactions = db_.prepare(
      "SELECT emoji, user_id, created_at FROM reactions WHERE message_id = ?1 AND added_after < ?2 "
      "UNION ALL SELECT emoji, user_id, created_at FROM past_reactions "
      "WHERE message_id = ?1 AND added_after < ?2 AND removed_after >= ?2 ORDER BY 1, 3, 2");
  reactions.bind(1, message.id).bind(2, end);
  while (reactions.step()) message.reactions.emplace_back(reactions.text(0), reactions.int64(1));
  return true;
}

void SqliteTransaction::edit_message(MessageId id, std::string_view body, const std::vector<UserId>& mentions,
                                     UnixMillis now) {
  // The content being replaced lasted through the newest position. Kept
  // only if an ex-member saw the message (a membership that ended after it
  // was sent, and began before): their devices must still see it as it was.
  // Memberships that end later end after this edit and need only the new
  // content.
  db_.prepare(
         "INSERT INTO message_versions (message_id, through_pos, body, mentions, edited_at) "
         "SELECT g.id, ?2, g.body, "
         "(SELECT json_group_array(user_id) FROM (SELECT user_id FROM mentions WHERE message_id = g.id "
         "ORDER BY user_id)), g.edited_at FROM messages g WHERE g.id = ?1 AND EXISTS (SELECT 1 FROM "
         "past_memberships p WHERE p.conversation_id = g.conversation_id AND p.left_pos >= g.pos "
         "AND p.joined_pos < g.pos) ON CONFLICT DO NOTHING")
      .bind(1, id)
      .bind(2, current_position())
      .run();
  db_.prepare("UPDATE messages SET body = ?2, edited_at = ?3 WHERE id = ?1").bind(1, id).bind(2, body).bind(3, now).run();
  note_search_text_removed();
  db_.prepare("DELETE FROM mentions WHERE message_id = ?1").bind(1, id).run();
  for (UserId user : mentions) {
    db_.prepare("INSERT OR IGNORE INTO mentions (message_id, user_id) VALUES (?1, ?2)").bind(1, id).bind(2, user).run();
  }
}

void SqliteTransaction::delete_message(MessageId id, UnixMillis now) {
  // Every stored copy of the content: the row (and when it was last edited),
  // its attachments, mentions, reactions, the versions and reactions kept for ex-members, and
  // the stored events that carry any of it. The database overwrites what is
  // deleted (PRAGMA secure_delete), so the text does not linger in free
  // space either.
  db_.prepare("UPDATE messages SET body = '', edited_at = NULL, deleted_at = ?2, attachment_count = 0 WHERE id = ?1")
      .bind(1, id)
      .bind(2, now)
      .run();
  note_search_text_removed();
  db_.prepare("DELETE FROM mentions WHERE message_id = ?1").bind(1, id).run();
  db_.prepare("DELETE FROM reactions WHERE message_id = ?1").bind(1, id).run();
  // Its files are no longer shared through it; one that nothing else
  // refers to becomes an orphan (migration 0006) and is swept later.
  db_.prepare("DELETE FROM message_attachments WHERE message_id = ?1").bind(1, id).run();
  db_.prepare("DELETE FROM message_stickers WHERE message_id = ?1").bind(1, id).run();
  db_.prepare("DELETE FROM message_versions WHERE message_id = ?1").bind(1, id).run();
  db_.prepare("DELETE FROM past_reactions WHERE message_id = ?1").bind(1, id).run();
  db_.prepare("DELETE FROM events WHERE message_id = ?1").bind(1, id).run();
}

bool SqliteTransaction::add_reaction(MessageId id, UserId user, std::string_view emoji, UnixMillis now) {
  db_.prepare(
         "INSERT OR IGNORE INTO reactions (message_id, user_id, emoji, created_at, added_after) "
         "VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(1, id)
      .bind(2, user)
      .bind(3, emoji)
      .bind(4, now)
      .bind(5, current_position())
      .run();
  return db_.changes() > 0;
}

// --- The event stream -----------------------------------------------------

Position SqliteTransaction::next_position() { return ++*writer().last_position; }

WriterCache::Entry* SqliteTransaction::cached_conversation(ConversationId id) {
  WriterCache& c = *writer().cache;
  if (auto* found = c.find(id)) return found;
  static const std::string kSql = sql(sql("SELECT ", kConversationColumns), " FROM conversations c WHERE c.id = ?1");
  Statement& row = db_.prepare(kSql);
  row.bind(1, id);
  if (!row.step()) return nullptr;
  WriterCache::Entry entry;
  entry.row = read_conversation(row);
  Statement& members = db_.prepare("SELECT user_id, read_seq FROM members WHERE conversation_id = ?1");
  members.bind(1, id);
  while (members.step()) entry.members.push_back({members.int64(0), members.int64(1), false});
  return &c.put(std::move(entry));
}

void SqliteTransaction::write_pending_counters() {
  auto* c = cache();
  if (c == nullptr) return;
  for (auto* entry : c->pending_conversations()) {
    db_.prepare("UPDATE conversations SET last_seq = ?2, last_pos = ?3 WHERE id = ?1")
        .bind(1, entry->row.id)
        .bind(2, entry->row.last_seq)
        .bind(3, entry->row.last_pos)
        .run();
    c->counters_written(*entry);
  }
}

void SqliteTransaction::write_pending_read(ConversationId conversation, UserId user) {
  auto* c = cache();
  auto* entry = c != nullptr ? c->find(conversation) : nullptr;
  auto* member = entry != nullptr ? entry->member(user) : nullptr;
  if (member == nullptr || !member->read_pending) return;
  db_.prepare("UPDATE members SET read_seq = ?3 WHERE conversation_id = ?1 AND user_id = ?2 AND read_seq < ?3")
      .bind(1, conversation)
      .bind(2, user)
      .bind(3, member->read_seq)
      .run();
  c->read_written(*entry, *member);
}

void SqliteTransaction::write_pending_reads() {
  auto* c = cache();
  if (c == nullptr) return;
  for (auto [conversation, user, seq] : c->pending_reads()) write_pending_read(conversation, user);
}

void SqliteTransaction::note_search_text_removed() {
  if (writer_ && writer_->search_text_removed != nullptr) *writer_->search_text_removed = true;
}

Position SqliteTransaction::current_position() { return writer_ ? *writer_->last_position : committed_; }

void SqliteTransaction::emit(Event event, Keep keep) {
  if (keep == Keep::kStore) {
    db_.prepare(
           "INSERT INTO events (pos, conversation_id, user_id, payload, created_at, message_id) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(1, event.pos)
        .bind_optional_int(2, event.conversation_id)
        .bind_optional_int(3, event.user_id)
        .bind(4, std::string_view(*event.payload))
        .bind(5, now_millis())
        .bind_optional_int(6, event.content_of)
        .run();
    // Lists order conversations by their last message; until there is one,
    // by their first event (the creation).
    if (event.conversation_id) {
      db_.prepare("UPDATE conversations SET last_pos = ?2 WHERE id = ?1 AND last_pos = 0")
          .bind(1, *event.conversation_id)
          .bind(2, event.pos)
          .run();
      auto* c = cache();
      if (auto* entry = c ? c->find(*event.conversation_id) : nullptr; entry && entry->row.last_pos == 0) {
        c->change(*event.conversation_id)->row.last_pos = event.pos;
      }
    }
  }
  writer().events->push_back(std::move(event));
}

Seq SqliteTransaction::seq_at_or_before(ConversationId conversation, Position pos) {
  // The newest message at or below a seq: one probe of the
  // (conversation_id, seq) index. Seqs may have gaps (a failed send's).
  Statement& floor = db_.prepare(
      "SELECT seq, pos FROM messages WHERE conversation_id = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1");
  auto probe = [&](Seq at) -> std::optional<std::pair<Seq, Position>> {
    floor.bind(1, conversation).bind(2, at);
    std::optional<std::pair<Seq, Position>> found;
    if (floor.step()) found.emplace(floor.int64(0), floor.int64(1));
    floor.reset();
    return found;
  };
  // Within a conversation seq and pos rise together: the single writer
  // hands out both, in order. Invariant: every message with seq <= low is
  // at or before `pos`; the message `high` (and every later one) is after.
  auto newest = probe(std::numeric_limits<Seq>::max());
  if (!newest || newest->second <= pos) return newest ? newest->first : 0;
  Seq low = 0;
  Seq high = newest->first;
  // A resume asks for what is recent: step back 1, 2, 4 … messages from
  // the newest, then halve the interval left.
  for (Seq step = 1; high - step > low; step *= 2) {
    auto found = probe(high - step);
    if (!found) {
      low = high - step;
      break;
    }
    if (found->second <= pos) {
      low = found->first;
      break;
    }
    high = found->first;
  }
  while (high - low > 1) {
    Seq middle = low + (high - low) / 2;
    auto found = probe(middle);
    if (!found || found->first <= low) {
      low = middle;  // no message in (low, middle]
    } else if (found->second <= pos) {
      low = found->first;
    } else {
      high = found->first;
    }
  }
  return low;
}

std::vector<Transaction::StreamItem> SqliteTransaction::stream_since(UserId user, Position after, std::size_t limit) {
  // Three ordered sources, each read through an index, merged by position:
  // events addressed to the user, their conversations' events after they
  // joined, and those conversations' messages after they joined.
  std::vector<StreamItem> items;
  auto lim = static_cast<std::int64_t>(limit);
  Statement& own = db_.prepare("SELECT pos, payload FROM events WHERE user_id = ?1 AND pos > ?2 ORDER BY pos LIMIT ?3");
  own.bind(1, user).bind(2, after).bind(3, lim);
  while (own.step()) items.push_back({own.int64(0), std::make_shared<const std::string>(own.text(1)), std::nullopt});

  // Memberships that may hold something after `after`: current ones, and
  // ended ones that ended after it (up to their end).
  constexpr std::string_view kMemberships =
      "(SELECT conversation_id, joined_pos, NULL AS left_pos FROM members WHERE user_id = ?1 "
      "UNION ALL SELECT conversation_id, joined_pos, left_pos FROM past_memberships "
      "WHERE user_id = ?1 AND left_pos > ?2)";
  static const std::string kEventsSql =
      sql(sql("SELECT e.pos, e.payload FROM ", kMemberships),
          " m JOIN events e ON e.conversation_id = m.conversation_id AND e.pos > MAX(?2, m.joined_pos) "
          "AND (m.left_pos IS NULL OR e.pos <= m.left_pos) ORDER BY e.pos LIMIT ?3");
  Statement& shared = db_.prepare(kEventsSql);
  shared.bind(1, user).bind(2, after).bind(3, lim);
  while (shared.step()) {
    items.push_back({shared.int64(0), std::make_shared<const std::string>(shared.text(1)), std::nullopt});
  }

  // Each message with the end of the membership it is seen through, if it
  // ended: an ex-member sees the message as it was then, never later state
  // (docs/protocol.md, Visibility). Memberships of one user in one
  // conversation never overlap, so each message comes once. messages has no
  // index on positions (migration 0013): a membership's messages after a
  // position are those between the seqs its positions bound
  // (seq_at_or_before), searched only where the conversation's newest
  // message is after it (the common resume finds none: one seek per
  // membership, in one statement); then one statement reads every range
  // and keeps the first `limit` by position, as the index's join did.
  static const std::string kNewestSql =
      sql(sql("SELECT m.conversation_id, m.joined_pos, m.left_pos, (SELECT g.pos FROM messages g WHERE "
              "g.conversation_id = m.conversation_id ORDER BY g.seq DESC LIMIT 1) FROM ",
              kMemberships),
          " m");
  struct Range {
    ConversationId conversation;
    Position from;  // messages after this position
    std::optional<Position> through;
  };
  std::vector<Range> ranges;
  Statement& newest = db_.prepare(kNewestSql);
  newest.bind(1, user).bind(2, after);
  while (newest.step()) {
    Range range{newest.int64(0), std::max(after, newest.int64(1)),
                newest.is_null(2) ? std::nullopt : std::optional<Position>(newest.int64(2))};
    if (newest.is_null(3) || newest.int64(3) <= range.from) continue;  // nothing after it
    if (range.through && *range.through <= range.from) continue;
    ranges.push_back(range);
  }
  newest.reset();
  // The seq ranges, [[conversation, after seq, through seq], ...] for the
  // statement. A user may have had several memberships of one conversation
  // (they never overlap): a message belongs to the range holding its seq.
  struct SeqRange {
    ConversationId conversation;
    Seq after;
    Seq through;
    std::optional<Position> end;  // of an ended membership
    Seq newest_kept = 0;
    std::int64_t kept = 0;
  };
  std::vector<SeqRange> seq_ranges;
  std::unordered_map<ConversationId, std::vector<std::size_t>> of_conversation;
  std::string json = "[";
  for (const Range& range : ranges) {
    Seq first = seq_at_or_before(range.conversation, range.from);
    Seq last = range.through ? seq_at_or_before(range.conversation, *range.through)
                             : std::numeric_limits<Seq>::max();
    if (last <= first) continue;
    if (json.size() > 1) json += ',';
    json += fmt::format("[{},{},{}]", range.conversation, first, last);
    of_conversation[range.conversation].push_back(seq_ranges.size());
    seq_ranges.push_back({range.conversation, first, last, range.through});
  }
  json += ']';
  auto range_of = [&](const Message& message) -> SeqRange& {
    for (std::size_t i : of_conversation.at(message.conversation_id)) {
      if (message.seq > seq_ranges[i].after && message.seq <= seq_ranges[i].through) return seq_ranges[i];
    }
    throw StorageError("stream_since: a message outside the ranges read");
  };
  // The first `limit` by id: the sort key is in the (conversation_id, seq)
  // index, so a row past the limit is dropped without reading it. Rows the
  // writer inserts take ids in the order of their positions; that the rows
  // kept are the first by position is then checked
  // (kept_first_by_position), and if not (rows put there by other means)
  // the ranges are read again sorted by position, which reads every row.
  static const std::string kMessagesSql = select_messages(
      "FROM json_each(?1) r JOIN messages g ON g.conversation_id = json_extract(r.value, '$[0]') "
      "AND g.seq > json_extract(r.value, '$[1]') AND g.seq <= json_extract(r.value, '$[2]') "
      "ORDER BY g.id LIMIT ?2");
  static const std::string kMessagesByPosSql = kMessagesSql.substr(0, kMessagesSql.rfind("ORDER BY")) +
                                               "ORDER BY g.pos LIMIT ?2";
  std::vector<std::pair<Message, std::optional<Position>>> messages;
  auto read_ranges = [&](const std::string& statement) {
    messages.clear();
    Statement& query = db_.prepare(statement);
    query.bind(1, json).bind(2, lim);
    while (query.step()) {
      Message message = read_message(query);
      auto end = range_of(message).end;
      messages.emplace_back(std::move(message), end);
    }
    query.reset();
  };
  // Whether the rows kept are the first `limit` by position: in each range
  // they are the first by seq (as many as the index holds up to the newest
  // kept), and the next one comes after every row kept.
  auto kept_first_by_position = [&] {
    Position newest_kept = 0;
    for (const auto& [message, end] : messages) {
      newest_kept = std::max(newest_kept, message.pos);
      SeqRange& range = range_of(message);
      range.newest_kept = std::max(range.newest_kept, message.seq);
      ++range.kept;
    }
    Statement& count =
        db_.prepare("SELECT COUNT(*) FROM messages WHERE conversation_id = ?1 AND seq > ?2 AND seq <= ?3");
    Statement& next = db_.prepare(
        "SELECT pos FROM messages WHERE conversation_id = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq LIMIT 1");
    for (const SeqRange& range : seq_ranges) {
      Seq from = range.after;
      if (range.kept > 0) {
        count.bind(1, range.conversation).bind(2, range.after).bind(3, range.newest_kept);
        count.step();
        bool prefix = count.int64(0) == range.kept;
        count.reset();
        if (!prefix) return false;
        from = range.newest_kept;
      }
      next.bind(1, range.conversation).bind(2, from).bind(3, range.through);
      bool earlier = next.step() && next.int64(0) < newest_kept;
      next.reset();
      if (earlier) return false;
    }
    return true;
  };
  if (!seq_ranges.empty()) {
    read_ranges(kMessagesSql);
    if (messages.size() >= limit && !kept_first_by_position()) read_ranges(kMessagesByPosSql);
  }
  for (auto& [message, end] : messages) {
    if (end) {
      if (!load_details_as_of(message, *end)) continue;
    } else {
      load_details(message);
    }
    items.push_back({message.pos, nullptr, std::move(message)});
  }

  std::sort(items.begin(), items.end(), [](const StreamItem& a, const StreamItem& b) { return a.pos < b.pos; });
  // An event both addressed to the user and shared in their conversation
  // appears twice; keep it once.
  items.erase(std::unique(items.begin(), items.end(),
                          [](const StreamItem& a, const StreamItem& b) { return a.pos == b.pos; }),
              items.end());
  if (items.size() > limit) items.resize(limit);
  return items;
}

// The methods whose SQL is the same on both backends.
using BackendTransaction = SqliteTransaction;
#include "storage/sql/transaction_methods.inc"

}  // namespace parley::storage::sqlite
