#include "storage/postgres/pg_transaction.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <stdexcept>

#include "core/clock.hpp"
#include "storage/postgres/database.hpp"

namespace parley::storage::postgres {
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

std::vector<SessionId> PgTransaction::purge_account(UserId user, std::string_view placeholder_username,
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
         "DELETE FROM events WHERE strpos(payload, '\"id\":' || ?1) > 0 AND jsonb_path_exists(payload::jsonb, "
         "'$.** ? (@.user.id == $id || @.from.id == $id || @.to.id == $id || @.peer.id == $id)', "
         "jsonb_build_object('id', ?1))")
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

void PgTransaction::reserve_username(std::string_view username_hash, UnixMillis until) {
  db_.prepare(
         "INSERT INTO reserved_usernames (username_hash, reserved_until) VALUES (?1, ?2) "
         "ON CONFLICT (username_hash) DO UPDATE SET reserved_until = GREATEST(reserved_usernames.reserved_until, excluded.reserved_until)")
      .bind_blob(1, username_hash)
      .bind(2, until)
      .run();
}

void PgTransaction::update_user(UserId id, const ProfilePatch& patch) {
  // COALESCE keeps a column when its parameter is NULL; the avatar needs a
  // separate flag because NULL is also a value it can be set to.
  Statement& update = db_.prepare(
      "UPDATE users SET display_name = COALESCE(?2, display_name), status_text = COALESCE(?3, status_text), "
      "avatar_media_id = CASE WHEN ?4 = 1 THEN ?5 ELSE avatar_media_id END, "
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

bool PgTransaction::block_between(UserId a, UserId b) {
  if (auto* batch = sends()) {
    // A direct conversation of the batch's with both as members knows every
    // block between them (a send asks about its own conversation's).
    for (const auto& [id, conversation] : batch->conversations) {
      if (!conversation || conversation->row.kind != ConversationKind::kDirect) continue;
      const auto& members = conversation->members;
      if (std::find(members.begin(), members.end(), a) == members.end() ||
          std::find(members.begin(), members.end(), b) == members.end()) {
        continue;
      }
      for (auto [user, blocked] : conversation->blocks) {
        if ((user == a && blocked == b) || (user == b && blocked == a)) return true;
      }
      return false;
    }
  }
  if (prefetch_ && prefetch_->blocks_known) {
    if (const auto* prefetch = prefetched(prefetch_->conversation)) {
      const auto& members = prefetch->members;
      if (std::find(members.begin(), members.end(), a) != members.end() &&
          std::find(members.begin(), members.end(), b) != members.end()) {
        // Both are members: every block between them is in the list.
        for (auto [user, blocked] : prefetch->blocks) {
          if ((user == a && blocked == b) || (user == b && blocked == a)) return true;
        }
        return false;
      }
    }
  }
  Statement& query = db_.prepare(
      "SELECT 1 FROM blocks WHERE (user_id = ?1 AND blocked_id = ?2) OR (user_id = ?2 AND blocked_id = ?1)");
  query.bind(1, a).bind(2, b);
  return query.step();
}

bool PgTransaction::insert_block(UserId user, UserId blocked, UnixMillis now) {
  db_.prepare("INSERT INTO blocks (user_id, blocked_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")
      .bind(1, user)
      .bind(2, blocked)
      .bind(3, now)
      .run();
  bool added = db_.changes() > 0;
  return added;
}

bool PgTransaction::delete_block(UserId user, UserId blocked) {
  db_.prepare("DELETE FROM blocks WHERE user_id = ?1 AND blocked_id = ?2").bind(1, user).bind(2, blocked).run();
  bool removed = db_.changes() > 0;
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

namespace {

// What follows kConversationColumns in the writer's conversation reads: the
// member ids, and for a direct conversation the blocks between its
// members, as "id,id,..." and "user:blocked,..." (?2 is kDirect).
constexpr std::string_view kMembersAndBlocks =
    ", (SELECT string_agg(m.user_id::text, ',' ORDER BY m.user_id) FROM members m WHERE m.conversation_id = c.id), "
    "CASE WHEN c.kind = ?2 THEN (SELECT string_agg(b.user_id::text || ':' || b.blocked_id::text, ',') "
    "FROM members x JOIN blocks b ON b.user_id = x.user_id JOIN members y ON y.user_id = b.blocked_id "
    "AND y.conversation_id = x.conversation_id WHERE x.conversation_id = c.id) END ";

std::int64_t parse_id(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) throw StorageError("conversation read: bad id list");
  return value;
}

// The two columns of kMembersAndBlocks starting at `first`.
void read_members_and_blocks(const Statement& row, int first, std::vector<UserId>& members,
                             std::vector<std::pair<UserId, UserId>>& blocks) {
  auto each = [](std::string_view list, auto&& fn) {
    while (!list.empty()) {
      auto comma = list.find(',');
      fn(list.substr(0, comma));
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  };
  std::string member_list = row.text(first);
  each(member_list, [&](std::string_view item) { members.push_back(parse_id(item)); });
  std::string block_list = row.text(first + 1);
  each(block_list, [&](std::string_view item) {
    auto colon = item.find(':');
    if (colon == std::string_view::npos) throw StorageError("conversation read: bad block list");
    blocks.emplace_back(parse_id(item.substr(0, colon)), parse_id(item.substr(colon + 1)));
  });
}

// PostgreSQL array literals, for arrays bound as one parameter
// (`?1::bigint[]`).
template <typename T, typename Fn>
std::string int_array(const std::vector<T>& items, Fn&& value) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    std::optional<std::int64_t> v = value(item);
    out += v ? std::to_string(*v) : std::string("NULL");
  }
  out += '}';
  return out;
}

template <typename T, typename Fn>
std::string text_array(const std::vector<T>& items, Fn&& value) {
  std::string out = "{";
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ',';
    first = false;
    // Quoted, with backslash before '"' and '\\': the only characters an
    // element in double quotes must escape.
    out += '"';
    for (char c : std::string_view(value(item))) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

void SendBatch::prefetch(Connection& db, Statement& lock, const std::vector<Store::SendHint>& hints) {
  std::vector<ConversationId> wanted;
  for (const auto& hint : hints) wanted.push_back(hint.conversation);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  // As kMembersAndBlocks, and the members' read marks (a send moves its
  // sender's) as "mark,mark,..." in the members' order.
  static const std::string kConversations =
      sql(sql(sql("SELECT ", kConversationColumns), kMembersAndBlocks),
          ", (SELECT string_agg(m.read_seq::text, ',' ORDER BY m.user_id) FROM members m "
          "WHERE m.conversation_id = c.id) FROM conversations c WHERE c.id = ANY(?1::bigint[])");
  Statement& conversations_query = db.prepare(kConversations);
  conversations_query.bind_untyped(1, int_array(wanted, [](ConversationId id) { return std::optional(id); }))
      .bind(2, static_cast<std::int64_t>(ConversationKind::kDirect));
  // The idempotency probe of every send at once, through the unique
  // (sender_id, client_id) index.
  Statement& probe = db.prepare(
      "SELECT m.sender_id, m.client_id FROM messages m JOIN unnest(?1::bigint[], ?2::text[]) AS h(sender, client) "
      "ON m.sender_id = h.sender AND m.client_id = h.client");
  probe.bind_untyped(1, int_array(hints, [](const Store::SendHint& h) { return std::optional(h.sender); }))
      .bind_untyped(2, text_array(hints, [](const Store::SendHint& h) -> std::string_view { return h.client_id; }));
  // Ids for the batch's messages, taken from the identity's sequence:
  // inserting a known id lets the insert wait (a sequence is not
  // transactional: ids a send does not use are skipped, as a rolled-back
  // insert's are).
  Statement& reserve = db.prepare(
      "SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence('messages', 'id')::regclass AS seq) s, "
      "generate_series(1, ?1)");
  reserve.bind(1, static_cast<std::int64_t>(hints.size()));
  db.run_together({&lock, &conversations_query, &probe, &reserve});

  conversations.clear();
  for (ConversationId id : wanted) conversations[id] = std::nullopt;
  while (conversations_query.step()) {
    Conversation found;
    found.row = read_conversation(conversations_query);
    read_members_and_blocks(conversations_query, kConversationColumnCount, found.members, found.blocks);
    std::string marks = conversations_query.text(kConversationColumnCount + 2);
    for (std::string_view list = marks; !list.empty();) {
      auto comma = list.find(',');
      found.read_marks.push_back(parse_id(list.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    if (found.read_marks.size() != found.members.size()) throw StorageError("conversation read: bad read marks");
    conversations[found.row.id] = std::move(found);
  }
  client_ids.clear();
  while (probe.step()) client_ids.emplace(probe.int64(0), probe.text(1));
  ids.clear();
  next_id = 0;
  while (reserve.step()) ids.push_back(reserve.int64(0));
  valid = true;
}

void SendBatch::clear_held() {
  messages.clear();
  attachments.clear();
  mentions.clear();
  stickers.clear();
}

void defer_held_writes(Connection& db, SendBatch& batch) {
  if (batch.messages.empty()) return;
  const auto& rows = batch.messages;
  // The messages, in one statement.
  Statement& insert = db.prepare(
      "INSERT INTO messages (id, conversation_id, seq, pos, sender_id, client_id, body, reply_to_id, created_at, "
      "attachment_count) SELECT * FROM unnest(?1::bigint[], ?2::bigint[], ?3::bigint[], ?4::bigint[], "
      "?5::bigint[], ?6::text[], ?7::text[], ?8::bigint[], ?9::bigint[], ?10::bigint[])");
  using Row = SendBatch::Row;
  insert.bind_untyped(1, int_array(rows, [](const Row& r) { return std::optional(r.id); }))
      .bind_untyped(2, int_array(rows, [](const Row& r) { return std::optional(r.conversation); }))
      .bind_untyped(3, int_array(rows, [](const Row& r) { return std::optional(r.seq); }))
      .bind_untyped(4, int_array(rows, [](const Row& r) { return std::optional(r.pos); }))
      .bind_untyped(5, int_array(rows, [](const Row& r) { return std::optional(r.sender); }))
      .bind_untyped(6, text_array(rows, [](const Row& r) -> std::string_view { return r.client_id; }))
      .bind_untyped(7, text_array(rows, [](const Row& r) -> std::string_view { return r.body; }))
      .bind_untyped(8, int_array(rows, [](const Row& r) { return r.reply_to; }))
      .bind_untyped(9, int_array(rows, [](const Row& r) { return std::optional(r.created_at); }))
      .bind_untyped(10, int_array(rows, [](const Row& r) { return std::optional(r.attachment_count); }));
  db.defer(insert);
  // What few messages carry, a statement per row (after their messages).
  for (const auto& [message, media, position] : batch.attachments) {
    Statement& row = db.prepare("INSERT INTO message_attachments (message_id, media_id, position) VALUES (?1, ?2, ?3)");
    row.bind(1, message).bind(2, media).bind(3, position);
    db.defer(row);
  }
  for (const auto& [message, user] : batch.mentions) {
    Statement& row = db.prepare("INSERT INTO mentions (message_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
    row.bind(1, message).bind(2, user);
    db.defer(row);
  }
  for (const auto& [message, sticker] : batch.stickers) {
    Statement& row = db.prepare("INSERT INTO message_stickers (message_id, sticker_id) VALUES (?1, ?2)");
    row.bind(1, message).bind(2, sticker);
    db.defer(row);
  }
  // Each conversation's newest seq and position, and each sender's read
  // mark (to their newest message): one row per conversation, per member.
  std::map<ConversationId, std::pair<Seq, Position>> newest;
  std::map<std::pair<ConversationId, UserId>, Seq> marks;
  for (const auto& r : rows) {
    auto& [seq, pos] = newest[r.conversation];
    seq = std::max(seq, r.seq);
    pos = std::max(pos, r.pos);
    auto& mark = marks[{r.conversation, r.sender}];
    mark = std::max(mark, r.seq);
  }
  std::vector<std::pair<ConversationId, std::pair<Seq, Position>>> counters(newest.begin(), newest.end());
  Statement& update = db.prepare(
      "UPDATE conversations c SET last_seq = u.seq, last_pos = u.pos "
      "FROM unnest(?1::bigint[], ?2::bigint[], ?3::bigint[]) AS u(id, seq, pos) WHERE c.id = u.id");
  update.bind_untyped(1, int_array(counters, [](const auto& c) { return std::optional(c.first); }))
      .bind_untyped(2, int_array(counters, [](const auto& c) { return std::optional(c.second.first); }))
      .bind_untyped(3, int_array(counters, [](const auto& c) { return std::optional(c.second.second); }));
  db.defer(update);
  std::vector<std::pair<std::pair<ConversationId, UserId>, Seq>> reads(marks.begin(), marks.end());
  Statement& read = db.prepare(
      "UPDATE members m SET read_seq = u.seq FROM unnest(?1::bigint[], ?2::bigint[], ?3::bigint[]) "
      "AS u(conversation, member, seq) WHERE m.conversation_id = u.conversation AND m.user_id = u.member "
      "AND m.read_seq < u.seq");
  read.bind_untyped(1, int_array(reads, [](const auto& r) { return std::optional(r.first.first); }))
      .bind_untyped(2, int_array(reads, [](const auto& r) { return std::optional(r.first.second); }))
      .bind_untyped(3, int_array(reads, [](const auto& r) { return std::optional(r.second); }));
  db.defer(read);
  batch.clear_held();
}

SendBatch* PgTransaction::sends() {
  if (!writer_ || writer_->sends == nullptr) return nullptr;
  SendBatch& batch = *writer_->sends;
  if (!batch.on || !batch.valid) return nullptr;
  if (db_.writes_run() != batch.writes) {
    // Something of this batch wrote for real: what was read may be stale.
    batch.valid = false;
    return nullptr;
  }
  return &batch;
}

std::optional<Conversation> PgTransaction::conversation_by_id(ConversationId id) {
  if (auto* batch = sends()) {
    auto found = batch->conversations.find(id);
    if (found != batch->conversations.end()) {
      if (!found->second) return std::nullopt;
      return found->second->row;
    }
  }
  if (writer_) {
    // In a write, the conversation comes with its member ids and, for a
    // direct conversation, the blocks between its members: what a send
    // checks next (messaging::check_send asks member_ids() and
    // block_between()), answered from this one statement instead of one
    // round trip each while the batch holds the stream lock.
    static const std::string kSql =
        sql(sql(sql("SELECT ", kConversationColumns), kMembersAndBlocks), "FROM conversations c WHERE c.id = ?1");
    Statement& query = db_.prepare(kSql);
    query.bind(1, id).bind(2, static_cast<std::int64_t>(ConversationKind::kDirect));
    if (!query.step()) {
      prefetch_.reset();
      return std::nullopt;
    }
    Conversation found = read_conversation(query);
    Prefetch prefetch;
    prefetch.conversation = id;
    prefetch.blocks_known = found.kind == ConversationKind::kDirect;
    read_members_and_blocks(query, kConversationColumnCount, prefetch.members, prefetch.blocks);
    query.reset();
    prefetch.statements_run = db_.statements_run();
    prefetch_ = std::move(prefetch);
    return found;
  }
  static const std::string kSql = sql(sql("SELECT ", kConversationColumns), " FROM conversations c WHERE c.id = ?1");
  Statement& query = db_.prepare(kSql);
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return read_conversation(query);
}

const PgTransaction::Prefetch* PgTransaction::prefetched(ConversationId conversation) const {
  // Valid only while no statement ran since it was read: nothing this
  // transaction did can have changed the rows, and no other node's batch
  // commits meanwhile (they wait for the stream lock this batch holds).
  if (!prefetch_ || prefetch_->conversation != conversation || prefetch_->statements_run != db_.statements_run()) {
    return nullptr;
  }
  return &*prefetch_;
}

std::optional<Conversation> PgTransaction::conversation_by_direct_key(std::string_view direct_key) {
  static const std::string kSql =
      sql(sql("SELECT ", kConversationColumns), " FROM conversations c WHERE c.direct_key = ?1");
  Statement& query = db_.prepare(kSql);
  query.bind(1, direct_key);
  if (!query.step()) return std::nullopt;
  return read_conversation(query);
}

void PgTransaction::update_conversation(ConversationId id, const std::optional<std::string>& name,
                                            const std::optional<std::string>& topic) {
  db_.prepare("UPDATE conversations SET name = COALESCE(?2, name), topic = COALESCE(?3, topic) WHERE id = ?1")
      .bind(1, id)
      .bind_optional(2, name)
      .bind_optional(3, topic)
      .run();
}

std::vector<ConversationSummary> PgTransaction::conversations_of(UserId user) {
  static const std::string kSql =
      sql(sql(sql(sql("SELECT ", kConversationColumns), ", "), kMemberColumns),
          ", (SELECT COUNT(*) FROM members x WHERE x.conversation_id = c.id), "
          "(SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id AND u.seq > m.read_seq "
          "AND u.sender_id != m.user_id AND u.deleted_at IS NULL) "
          "FROM members m JOIN conversations c ON c.id = m.conversation_id WHERE m.user_id = ?1 "
          "ORDER BY c.last_pos DESC, c.id DESC");
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

std::optional<Member> PgTransaction::member(ConversationId conversation, UserId user) {
  static const std::string kSql =
      sql(sql("SELECT ", kMemberColumns), " FROM members m WHERE m.conversation_id = ?1 AND m.user_id = ?2");
  Statement& query = db_.prepare(kSql);
  query.bind(1, conversation).bind(2, user);
  if (!query.step()) return std::nullopt;
  return read_member(query);
}

std::vector<Member> PgTransaction::members(ConversationId conversation) {
  static const std::string kSql = sql(sql("SELECT ", kMemberColumns),
                                      " FROM members m WHERE m.conversation_id = ?1 ORDER BY m.joined_pos, m.user_id");
  Statement& query = db_.prepare(kSql);
  query.bind(1, conversation);
  std::vector<Member> result;
  while (query.step()) result.push_back(read_member(query));
  return result;
}

std::vector<UserId> PgTransaction::member_ids(ConversationId conversation) {
  if (auto* batch = sends()) {
    auto found = batch->conversations.find(conversation);
    if (found != batch->conversations.end()) return found->second ? found->second->members : std::vector<UserId>{};
  }
  if (const auto* prefetch = prefetched(conversation)) return prefetch->members;
  Statement& query = db_.prepare("SELECT user_id FROM members WHERE conversation_id = ?1");
  query.bind(1, conversation);
  std::vector<UserId> result;
  while (query.step()) result.push_back(query.int64(0));
  return result;
}

void PgTransaction::insert_member(const Member& m) {
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
}

bool PgTransaction::delete_member(ConversationId conversation, UserId user) {
  // The membership ends at the newest position: its devices resume through
  // everything up to here.
  Statement& end = db_.prepare(
      "INSERT INTO past_memberships (conversation_id, user_id, joined_pos, left_pos) "
      "SELECT conversation_id, user_id, joined_pos, ?3 FROM members WHERE conversation_id = ?1 AND user_id = ?2");
  end.bind(1, conversation).bind(2, user).bind(3, current_position()).run();
  db_.prepare("DELETE FROM members WHERE conversation_id = ?1 AND user_id = ?2").bind(1, conversation).bind(2, user).run();
  return db_.changes() > 0;
}

bool PgTransaction::advance_read(ConversationId conversation, UserId user, Seq seq) {
  if (folded_read_ && folded_read_->conversation == conversation && folded_read_->user == user &&
      folded_read_->seq == seq) {
    // Done by the send's own statement (insert_message_row).
    bool moved = folded_read_->moved;
    folded_read_.reset();
    return moved;
  }
  db_.prepare("UPDATE members SET read_seq = ?3 WHERE conversation_id = ?1 AND user_id = ?2 AND read_seq < ?3")
      .bind(1, conversation)
      .bind(2, user)
      .bind(3, seq)
      .run();
  return db_.changes() > 0;
}

// --- Messages -------------------------------------------------------------

std::optional<Message> PgTransaction::insert_held(const NewMessage& message, Position pos, bool& answered) {
  answered = false;
  SendBatch* batch = sends();
  if (batch == nullptr || batch->next_id >= batch->ids.size()) return std::nullopt;
  auto found = batch->conversations.find(message.conversation_id);
  if (found == batch->conversations.end() || !found->second) return std::nullopt;
  answered = true;
  // The idempotency probe, as the statement's: a client_id stored before
  // the batch, or by an earlier send of it, is taken.
  if (!batch->client_ids.emplace(message.sender_id, message.client_id).second) return std::nullopt;
  auto& conversation = found->second->row;
  SendBatch::Row row;
  row.id = batch->ids[batch->next_id++];
  row.conversation = message.conversation_id;
  row.seq = ++conversation.last_seq;  // nobody else takes one while the batch holds the stream lock
  row.pos = pos;
  conversation.last_pos = pos;
  row.sender = message.sender_id;
  row.client_id = message.client_id;
  row.body = message.body;
  row.reply_to = message.reply_to_id;
  row.created_at = message.created_at;
  row.attachment_count = static_cast<std::int64_t>(message.attachments.size());
  for (std::size_t i = 0; i < message.attachments.size(); ++i) {
    batch->attachments.emplace_back(row.id, message.attachments[i], static_cast<std::int64_t>(i));
  }
  for (UserId user : message.mentions) batch->mentions.emplace_back(row.id, user);
  if (message.sticker_id) batch->stickers.emplace_back(row.id, *message.sticker_id);
  // The sender's read mark moves with it, if below (it goes with the
  // held rows: defer_held_writes).
  bool moved = false;
  const auto& members = found->second->members;
  auto member = std::find(members.begin(), members.end(), message.sender_id);
  if (member != members.end()) {
    Seq& mark = found->second->read_marks[static_cast<std::size_t>(member - members.begin())];
    moved = mark < row.seq;
    mark = std::max(mark, row.seq);
  }
  folded_read_ = FoldedRead{message.conversation_id, message.sender_id, row.seq, moved};
  const MessageId id = row.id;
  const Seq seq = row.seq;
  batch->messages.push_back(std::move(row));
  ++batch->inserted;
  // Its attachments and sticker are read after the held rows are sent.
  return message_as_inserted(message, id, seq, pos);
}

std::optional<Message> PgTransaction::insert_message_row(const NewMessage& message, Position pos, bool if_new) {
  if (if_new) {
    bool answered = false;
    auto held = insert_held(message, pos, answered);
    if (answered) return held;
  }
  // One statement: the seq, the row, and for a send its sender's read mark.
  // The conversation's row is the seq counter. The UPDATE locks the row
  // until commit and reads its newest committed version (READ COMMITTED),
  // so writers on any node take seqs one after another, without gaps: a
  // batch that fails rolls its increment back. An idempotent send takes no
  // seq (and inserts nothing: the INSERT selects from the UPDATE's rows)
  // when its client_id was used: the check is the unique index's probe in
  // the same statement. Write batches run one at a time (the stream lock,
  // PgStore), so nothing can store that client_id between the check and
  // the insert. A send (the `if_new` form, used by messaging::send only)
  // also moves its sender's read mark to the new seq, as send() asks next
  // with advance_read(): that call then finds it done (folded_read_) and
  // costs no statement.
  constexpr std::string_view kInsert =
      "WITH c AS (UPDATE conversations SET last_seq = last_seq + 1, last_pos = ?2 WHERE id = ?1 RETURNING last_seq), "
      "m AS (INSERT INTO messages (conversation_id, seq, pos, sender_id, client_id, body, reply_to_id, created_at, "
      "attachment_count) SELECT ?1, c.last_seq, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM c RETURNING id, seq) "
      "SELECT m.id, m.seq, 0 FROM m";
  constexpr std::string_view kInsertIfNew =
      "WITH c AS (UPDATE conversations SET last_seq = last_seq + 1, last_pos = ?2 WHERE id = ?1 AND NOT EXISTS "
      "(SELECT 1 FROM messages WHERE sender_id = ?3 AND client_id = ?4) RETURNING last_seq), "
      "m AS (INSERT INTO messages (conversation_id, seq, pos, sender_id, client_id, body, reply_to_id, created_at, "
      "attachment_count) SELECT ?1, c.last_seq, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM c RETURNING id, seq), "
      "r AS (UPDATE members SET read_seq = m.seq FROM m WHERE members.conversation_id = ?1 "
      "AND members.user_id = ?3 AND members.read_seq < m.seq RETURNING 1) "
      "SELECT m.id, m.seq, (SELECT count(*) FROM r) FROM m";
  Statement& insert = db_.prepare(if_new ? kInsertIfNew : kInsert);
  insert.bind(1, message.conversation_id)
      .bind(2, pos)
      .bind(3, message.sender_id)
      .bind_static(4, message.client_id)
      .bind_static(5, message.body)
      .bind_optional_int(6, message.reply_to_id)
      .bind(7, message.created_at)
      .bind(8, static_cast<std::int64_t>(message.attachments.size()));
  if (!insert.step()) {
    insert.reset();
    if (if_new && conversation_by_id(message.conversation_id)) {
      // A retry: nothing is stored at `pos`. The batch's range tells the
      // other nodes so (EventSink::publish_range).
      return std::nullopt;
    }
    throw StorageError("insert_message: no such conversation");
  }
  MessageId id = insert.int64(0);
  Seq seq = insert.int64(1);
  if (if_new) folded_read_ = FoldedRead{message.conversation_id, message.sender_id, seq, insert.int64(2) > 0};
  insert.reset();
  // Nothing more for a message without attachments (the common send).
  for (std::size_t i = 0; i < message.attachments.size(); ++i) {
    db_.prepare("INSERT INTO message_attachments (message_id, media_id, position) VALUES (?1, ?2, ?3)")
        .bind(1, id)
        .bind(2, message.attachments[i])
        .bind(3, static_cast<std::int64_t>(i))
        .run();
  }
  for (UserId user : message.mentions) {
    db_.prepare("INSERT INTO mentions (message_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING").bind(1, id).bind(2, user).run();
  }
  if (message.sticker_id) {
    db_.prepare("INSERT INTO message_stickers (message_id, sticker_id) VALUES (?1, ?2)")
        .bind(1, id)
        .bind(2, *message.sticker_id)
        .run();
  }
  return message_as_inserted(message, id, seq, pos);
}

std::string PgTransaction::select_messages(std::string_view from_where) {
  return sql(sql(sql("SELECT ", kMessageColumns), " "), from_where);
}

void PgTransaction::load_details(std::vector<Message>& messages) {
  for (auto& message : messages) load_details(message);
}

void PgTransaction::load_details(Message& message) {
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

bool PgTransaction::load_details_as_of(Message& message, Position end) {
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
    Statement& mentions =
        db_.prepare("SELECT value::BIGINT FROM jsonb_array_elements_text(?1::jsonb) AS value ORDER BY 1");
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

void PgTransaction::edit_message(MessageId id, std::string_view body, const std::vector<UserId>& mentions,
                                     UnixMillis now) {
  // The content being replaced lasted through the newest position. Kept
  // only if an ex-member saw the message (a membership that ended after it
  // was sent, and began before): their devices must still see it as it was.
  // Memberships that end later end after this edit and need only the new
  // content.
  db_.prepare(
         "INSERT INTO message_versions (message_id, through_pos, body, mentions, edited_at) "
         "SELECT g.id, ?2, g.body, "
         "COALESCE((SELECT json_agg(user_id ORDER BY user_id) FROM mentions WHERE message_id = g.id)::TEXT, '[]'), "
         "g.edited_at FROM messages g WHERE g.id = ?1 AND EXISTS (SELECT 1 FROM "
         "past_memberships p WHERE p.conversation_id = g.conversation_id AND p.left_pos >= g.pos "
         "AND p.joined_pos < g.pos) ON CONFLICT DO NOTHING")
      .bind(1, id)
      .bind(2, current_position())
      .run();
  db_.prepare("UPDATE messages SET body = ?2, edited_at = ?3 WHERE id = ?1").bind(1, id).bind(2, body).bind(3, now).run();
  db_.prepare("DELETE FROM mentions WHERE message_id = ?1").bind(1, id).run();
  for (UserId user : mentions) {
    db_.prepare("INSERT INTO mentions (message_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING").bind(1, id).bind(2, user).run();
  }
}

void PgTransaction::delete_message(MessageId id, UnixMillis now) {
  // Every stored copy of the content: the row (and when it was last edited),
  // its attachments, mentions, reactions, the versions and reactions kept for ex-members, and
  // the stored events that carry any of it. PostgreSQL leaves the old row
  // versions until VACUUM reclaims them (autovacuum; docs/security.md).
  db_.prepare("UPDATE messages SET body = '', edited_at = NULL, deleted_at = ?2, attachment_count = 0 WHERE id = ?1")
      .bind(1, id)
      .bind(2, now)
      .run();
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

bool PgTransaction::add_reaction(MessageId id, UserId user, std::string_view emoji, UnixMillis now) {
  db_.prepare(
         "INSERT INTO reactions (message_id, user_id, emoji, created_at, added_after) "
         "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING")
      .bind(1, id)
      .bind(2, user)
      .bind(3, emoji)
      .bind(4, now)
      .bind(5, current_position())
      .run();
  return db_.changes() > 0;
}

// --- The event stream -----------------------------------------------------

Position PgTransaction::next_position() { return ++*writer().last_position; }

Position PgTransaction::current_position() {
  if (writer_) return *writer_->last_position;
  // A read's snapshot: the newest position of the batches it sees.
  Statement& query = db_.prepare("SELECT last_pos FROM stream_state");
  query.step();
  Position pos = query.int64(0);
  query.reset();
  return pos;
}

void PgTransaction::emit(Event event, Keep keep) {
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
    }
  }
  writer().events->push_back(std::move(event));
}

std::vector<Transaction::StreamItem> PgTransaction::stream_since(UserId user, Position after, std::size_t limit) {
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
          " m JOIN events e ON e.conversation_id = m.conversation_id AND e.pos > GREATEST(?2, m.joined_pos) "
          "AND (m.left_pos IS NULL OR e.pos <= m.left_pos) ORDER BY e.pos LIMIT ?3");
  Statement& shared = db_.prepare(kEventsSql);
  shared.bind(1, user).bind(2, after).bind(3, lim);
  while (shared.step()) {
    items.push_back({shared.int64(0), std::make_shared<const std::string>(shared.text(1)), std::nullopt});
  }

  // Each message with the end of the membership it is seen through, if it
  // ended: an ex-member sees the message as it was then, never later state
  // (docs/protocol.md, Visibility). Memberships of one user in one
  // conversation never overlap, so each message comes once.
  static const std::string kMessagesSql = select_messages(
      sql(sql(", m.left_pos FROM ", kMemberships),
          " m JOIN messages g ON g.conversation_id = m.conversation_id AND g.pos > GREATEST(?2, m.joined_pos) "
          "AND (m.left_pos IS NULL OR g.pos <= m.left_pos) ORDER BY g.pos LIMIT ?3"));
  std::vector<std::pair<Message, std::optional<Position>>> messages;
  Statement& query = db_.prepare(kMessagesSql);
  query.bind(1, user).bind(2, after).bind(3, lim);
  while (query.step()) {
    constexpr int kLeftPos = 12;  // after the message columns
    messages.emplace_back(read_message(query),
                          query.is_null(kLeftPos) ? std::nullopt : std::optional<Position>(query.int64(kLeftPos)));
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
using BackendTransaction = PgTransaction;
#include "storage/sql/transaction_methods.inc"

}  // namespace parley::storage::postgres
