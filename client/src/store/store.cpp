#include "store/store.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <sstream>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "protocol/model.hpp"
#include "store/migrations.hpp"

namespace parley::store {

namespace json = boost::json;
using protocol::attachments_from_json;
using protocol::attachments_json;
using protocol::ids_from_json;
using protocol::ids_json;
using protocol::reactions_from_json;
using protocol::reactions_json;

namespace {

// The user in the six columns from `first` on: id, username, display name,
// status, avatar, deleted (every query that joins users selects them so).
User user_at(const Statement& statement, int first) {
  return User{statement.int64(first), statement.text(first + 1), statement.text(first + 2),
              statement.text(first + 3), statement.optional_text(first + 4), statement.int64(first + 5) != 0};
}

// Steps `statement` to its end and returns `row(statement)` of every row.
template <typename RowReader>
auto collect_rows(Statement& statement, RowReader row) {
  std::vector<decltype(row(statement))> rows;
  while (statement.step()) rows.push_back(row(statement));
  return rows;
}

// The columns read_message() expects, in its order.
constexpr const char* kMessageColumns =
    "m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.text, m.reply_to, m.mentions, m.reactions, "
    "m.attachments, m.sticker_id, m.created_at, m.edited_at, m.deleted";

std::string message_ad(MessageId id) { return "message:" + std::to_string(id); }
std::string outbox_ad(const std::string& client_id) { return "outbox:" + client_id; }

}  // namespace

Store::Store(const std::filesystem::path& file, std::optional<std::array<std::uint8_t, 32>> key, bool read_only)
    : cipher_(key) {
  if (read_only) {
    if (!std::filesystem::exists(file)) throw StoreError("no store at " + file.string());
    reader_ = std::make_unique<Database>(file, Database::Mode::read_only);
    if (reader_->query_int("PRAGMA user_version") != schema_version()) {
      throw StoreError("the store is of another version of libparley: open it read-write once to upgrade it");
    }
    auto mode = reader_->prepare("SELECT value FROM meta WHERE key = 'encryption'");
    const bool encrypted = mode.step() && mode.text(0) != "none";
    if (encrypted != cipher_.enabled()) {
      throw StoreError(encrypted ? "the store is encrypted: a key is needed to open it"
                                 : "the store is not encrypted, but a key was given");
    }
    if (encrypted) {
      auto check = reader_->prepare("SELECT value FROM meta WHERE key = 'key_check'");
      if (!check.step() || cipher_.open(check.text(0), "key_check") != "parley device store") {
        throw StoreError("wrong key for the store");
      }
    }
    return;
  }
  writer_ = std::make_unique<Database>(file, Database::Mode::read_write);
  // WAL: the app's reader never waits for the engine's writes. NORMAL
  // synchronous: a commit survives a crash of the process (what the outbox
  // needs); only power loss may drop the last commits, and everything but
  // the outbox is fetched again from the server.
  writer_->exec("PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  migrate(*writer_);
  // The store knows whether it was created with encryption and checks the key.
  const std::string check_plain = "parley device store";
  auto statement = writer_->prepare("SELECT value FROM meta WHERE key = 'encryption'");
  if (statement.step()) {
    const auto mode = statement.text(0);
    if ((mode == "none") == cipher_.enabled()) {
      throw StoreError(cipher_.enabled() ? "the store is not encrypted, but a key was given"
                                         : "the store is encrypted: a key is needed to open it");
    }
    if (cipher_.enabled()) {
      auto check = writer_->prepare("SELECT value FROM meta WHERE key = 'key_check'");
      if (!check.step() || cipher_.open(check.text(0), "key_check") != check_plain) {
        throw StoreError("wrong key for the store");
      }
    }
  } else {
    writer_->prepare("INSERT INTO meta(key, value) VALUES ('encryption', ?)")
        .bind(cipher_.enabled() ? "xchacha20poly1305" : "none")
        .run();
    if (cipher_.enabled()) {
      writer_->prepare("INSERT INTO meta(key, value) VALUES ('key_check', ?)")
          .bind_blob(cipher_.seal(check_plain, "key_check"))
          .run();
    }
  }
  reader_ = std::make_unique<Database>(file, Database::Mode::read_only);
}

Store::~Store() = default;

namespace {
Database& writable(const std::unique_ptr<Database>& writer) {
  if (!writer) throw StoreError("the store is open read-only");
  return *writer;
}
}  // namespace

Store::Write::Write(Store& store) : store_(store), lock_(store.write_mutex_), transaction_(writable(store.writer_)) {}

std::string Store::seal_text(std::string_view text, std::string_view associated) const {
  return cipher_.seal(text, associated);
}
std::string Store::open_text(std::string_view sealed, std::string_view associated) const {
  return cipher_.open(sealed, associated);
}

// --- writes -------------------------------------------------------------------

void Store::set_meta(Write&, const std::string& key, const std::string& value) {
  writer_->prepare("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .bind(key)
      .bind(value)
      .run();
}

void Store::erase_meta(Write&, const std::string& key) { writer_->prepare("DELETE FROM meta WHERE key = ?").bind(key).run(); }

void Store::put_user(Write&, const User& user) {
  writer_
      ->prepare(
          "INSERT INTO users(id, username, display_name, status_text, avatar_media_id, deleted) VALUES (?,?,?,?,?,?) "
          "ON CONFLICT(id) DO UPDATE SET username = excluded.username, display_name = excluded.display_name, "
          "status_text = excluded.status_text, avatar_media_id = excluded.avatar_media_id, deleted = excluded.deleted")
      .bind(user.id)
      .bind(user.username)
      .bind(user.display_name)
      .bind(user.status_text)
      .bind(user.avatar_media_id)
      .bind(user.deleted)
      .run();
}

void Store::put_conversation(Write& write, const Conversation& c, std::optional<UserId> created_by) {
  if (c.peer) put_user(write, *c.peer);
  writer_
      ->prepare(
          "INSERT INTO conversations(id, kind, name, topic, created_by, created_at, last_seq, avatar_media_id, role, "
          "read_seq, peer_id) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, "
          "name = excluded.name, topic = excluded.topic, created_by = COALESCE(excluded.created_by, created_by), "
          "created_at = excluded.created_at, last_seq = MAX(last_seq, excluded.last_seq), "
          "avatar_media_id = excluded.avatar_media_id, role = excluded.role, "
          "read_seq = MAX(read_seq, excluded.read_seq), peer_id = COALESCE(excluded.peer_id, peer_id)")
      .bind(c.id)
      .bind(c.kind == ConversationKind::group ? "group" : "direct")
      .bind(c.name)
      .bind(c.topic)
      .bind(created_by)
      .bind(c.created_at)
      .bind(c.last_seq)
      .bind(c.avatar_media_id)
      .bind(std::string(protocol::role_name(c.role)))
      .bind(c.read_seq)
      .bind(c.peer ? std::optional<std::int64_t>(c.peer->id) : std::nullopt)
      .run();
}

void Store::update_conversation_fields(Write&, ConversationId id, const std::string& name, const std::string& topic,
                                       const std::optional<MediaId>& avatar) {
  writer_->prepare("UPDATE conversations SET name = ?, topic = ?, avatar_media_id = ? WHERE id = ?")
      .bind(name)
      .bind(topic)
      .bind(avatar)
      .bind(id)
      .run();
}

void Store::remove_conversation(Write&, ConversationId id) {
  writer_->prepare("DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM messages WHERE conversation_id = ?)")
      .bind(id)
      .run();
  writer_->prepare("DELETE FROM messages WHERE conversation_id = ?").bind(id).run();
  writer_->prepare("DELETE FROM members WHERE conversation_id = ?").bind(id).run();
  writer_->prepare("DELETE FROM history_floor WHERE conversation_id = ?").bind(id).run();
  writer_->prepare("DELETE FROM conversations WHERE id = ?").bind(id).run();
}

bool Store::has_conversation(Write&, ConversationId id) {
  auto statement = writer_->prepare("SELECT 1 FROM conversations WHERE id = ?");
  statement.bind(id);
  return statement.step();
}

void Store::put_member(Write& write, ConversationId conversation, const Member& member) {
  put_user(write, member.user);
  writer_
      ->prepare(
          "INSERT INTO members(conversation_id, user_id, role, joined_at, read_seq, delivered_seq) VALUES (?,?,?,?,?,?) "
          "ON CONFLICT(conversation_id, user_id) DO UPDATE SET role = excluded.role, joined_at = excluded.joined_at, "
          "read_seq = MAX(read_seq, excluded.read_seq), delivered_seq = MAX(delivered_seq, excluded.delivered_seq)")
      .bind(conversation)
      .bind(member.user.id)
      .bind(std::string(protocol::role_name(member.role)))
      .bind(member.joined_at)
      .bind(member.read_seq)
      .bind(member.delivered_seq)
      .run();
}

void Store::replace_members(Write& write, ConversationId conversation, const std::vector<Member>& members) {
  writer_->prepare("DELETE FROM members WHERE conversation_id = ?").bind(conversation).run();
  for (const auto& member : members) put_member(write, conversation, member);
}

void Store::remove_member(Write&, ConversationId conversation, UserId user) {
  writer_->prepare("DELETE FROM members WHERE conversation_id = ? AND user_id = ?").bind(conversation).bind(user).run();
}

void Store::set_member_role(Write&, ConversationId conversation, UserId user, Role role) {
  writer_->prepare("UPDATE members SET role = ? WHERE conversation_id = ? AND user_id = ?")
      .bind(std::string(protocol::role_name(role)))
      .bind(conversation)
      .bind(user)
      .run();
}

void Store::raise_receipt(Write&, ConversationId conversation, UserId user, std::int64_t seq, Mark mark, UserId me) {
  if (mark != Mark::delivered) {
    writer_->prepare("UPDATE members SET read_seq = MAX(read_seq, ?) WHERE conversation_id = ? AND user_id = ?")
        .bind(seq)
        .bind(conversation)
        .bind(user)
        .run();
    if (user == me) {
      writer_->prepare("UPDATE conversations SET read_seq = MAX(read_seq, ?) WHERE id = ?").bind(seq).bind(conversation).run();
    }
  }
  if (mark != Mark::read_only) {
    writer_->prepare("UPDATE members SET delivered_seq = MAX(delivered_seq, ?) WHERE conversation_id = ? AND user_id = ?")
        .bind(seq)
        .bind(conversation)
        .bind(user)
        .run();
  }
}

void Store::write_fts(Write&, MessageId id, const std::string& text) {
  writer_->prepare("DELETE FROM messages_fts WHERE rowid = ?").bind(id).run();
  // With encryption the index would hold the words in clear: it stays
  // empty, and search_local() decrypts and scans instead.
  if (!cipher_.enabled() && !text.empty()) {
    writer_->prepare("INSERT INTO messages_fts(rowid, text) VALUES (?, ?)").bind(id).bind(text).run();
  }
}

bool Store::put_message(Write& write, const Message& m) {
  auto existing = writer_->prepare("SELECT 1 FROM messages WHERE id = ?");
  existing.bind(m.id);
  const bool is_new = !existing.step();
  // A different row holding the same (conversation, seq) can only be a
  // stale placeholder: the server's seq is the truth.
  writer_->prepare("DELETE FROM messages WHERE conversation_id = ? AND seq = ? AND id <> ?")
      .bind(m.conversation_id)
      .bind(m.seq)
      .bind(m.id)
      .run();
  writer_
      ->prepare(
          "INSERT INTO messages(id, conversation_id, seq, sender_id, client_id, text, reply_to, mentions, reactions, "
          "attachments, sticker_id, created_at, edited_at, deleted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
          "ON CONFLICT(id) DO UPDATE SET conversation_id = excluded.conversation_id, seq = excluded.seq, "
          "sender_id = excluded.sender_id, client_id = excluded.client_id, text = excluded.text, "
          "reply_to = excluded.reply_to, mentions = excluded.mentions, reactions = excluded.reactions, "
          "attachments = excluded.attachments, sticker_id = excluded.sticker_id, created_at = excluded.created_at, "
          "edited_at = excluded.edited_at, deleted = excluded.deleted")
      .bind(m.id)
      .bind(m.conversation_id)
      .bind(m.seq)
      .bind(m.sender_id)
      .bind(m.client_id)
      .bind_blob(seal_text(m.text, message_ad(m.id)))
      .bind(m.reply_to)
      .bind(ids_json(m.mentions))
      .bind(reactions_json(m.reactions))
      .bind(attachments_json(m.attachments))
      .bind(m.sticker_id)
      .bind(m.created_at)
      .bind(m.edited_at)
      .bind(m.deleted)
      .run();
  write_fts(write, m.id, m.text);
  writer_->prepare("UPDATE conversations SET last_seq = MAX(last_seq, ?) WHERE id = ?").bind(m.seq).bind(m.conversation_id).run();
  // The message is stored now: its outbox entry (if this device sent it) is done.
  if (!m.client_id.empty()) writer_->prepare("DELETE FROM outbox WHERE client_id = ?").bind(m.client_id).run();
  return is_new;
}

void Store::truncate_after(Write&, ConversationId conversation, std::int64_t last_seq) {
  writer_->prepare("DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM messages WHERE conversation_id = ? AND seq > ?)")
      .bind(conversation)
      .bind(last_seq)
      .run();
  writer_->prepare("DELETE FROM messages WHERE conversation_id = ? AND seq > ?").bind(conversation).bind(last_seq).run();
  writer_->prepare("UPDATE conversations SET last_seq = ? WHERE id = ?").bind(last_seq).bind(conversation).run();
}

void Store::delete_message(Write& write, ConversationId conversation, MessageId id, std::int64_t seq) {
  auto statement = writer_->prepare("SELECT 1 FROM messages WHERE id = ?");
  statement.bind(id);
  if (statement.step()) {
    writer_
        ->prepare("UPDATE messages SET text = ?, mentions = '[]', reactions = '[]', attachments = '[]', "
                  "sticker_id = NULL, edited_at = NULL, deleted = 1 WHERE id = ?")
        .bind_blob(seal_text("", message_ad(id)))
        .bind(id)
        .run();
    write_fts(write, id, "");
  }
  (void)conversation;
  (void)seq;
}

void Store::change_reaction(Write&, MessageId id, UserId user, const std::string& emoji, bool add) {
  auto statement = writer_->prepare("SELECT reactions FROM messages WHERE id = ?");
  statement.bind(id);
  if (!statement.step()) return;  // not on this device: its page brings the reactions
  auto reactions = reactions_from_json(statement.text(0));
  auto entry = std::find_if(reactions.begin(), reactions.end(), [&](const Reaction& r) { return r.emoji == emoji; });
  if (add) {
    if (entry == reactions.end()) {
      reactions.push_back(Reaction{emoji, {user}});
    } else if (std::find(entry->user_ids.begin(), entry->user_ids.end(), user) == entry->user_ids.end()) {
      entry->user_ids.push_back(user);
    }
  } else if (entry != reactions.end()) {
    std::erase(entry->user_ids, user);
    if (entry->user_ids.empty()) reactions.erase(entry);
  }
  writer_->prepare("UPDATE messages SET reactions = ? WHERE id = ?").bind(reactions_json(reactions)).bind(id).run();
}

void Store::put_contact(Write& write, const User& user, Millis since) {
  put_user(write, user);
  writer_->prepare("INSERT INTO contacts(user_id, since) VALUES (?, ?) ON CONFLICT(user_id) DO UPDATE SET since = excluded.since")
      .bind(user.id)
      .bind(since)
      .run();
}

void Store::remove_contact(Write&, UserId user) { writer_->prepare("DELETE FROM contacts WHERE user_id = ?").bind(user).run(); }
void Store::clear_contacts(Write&) { writer_->exec("DELETE FROM contacts"); }

void Store::put_invitation(Write& write, const Invitation& invitation) {
  put_user(write, invitation.user);
  writer_
      ->prepare("INSERT INTO invitations(id, user_id, incoming, created_at) VALUES (?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, incoming = excluded.incoming, "
                "created_at = excluded.created_at")
      .bind(invitation.id)
      .bind(invitation.user.id)
      .bind(invitation.incoming)
      .bind(invitation.created_at)
      .run();
}

void Store::remove_invitation(Write&, InvitationId id) { writer_->prepare("DELETE FROM invitations WHERE id = ?").bind(id).run(); }
void Store::remove_invitations_with(Write&, UserId user) {
  writer_->prepare("DELETE FROM invitations WHERE user_id = ?").bind(user).run();
}
void Store::clear_invitations(Write&) { writer_->exec("DELETE FROM invitations"); }
void Store::put_block(Write&, UserId user) { writer_->prepare("INSERT OR IGNORE INTO blocks(user_id) VALUES (?)").bind(user).run(); }
void Store::remove_block(Write&, UserId user) { writer_->prepare("DELETE FROM blocks WHERE user_id = ?").bind(user).run(); }
void Store::clear_blocks(Write&) { writer_->exec("DELETE FROM blocks"); }

void Store::set_mute(Write&, ConversationId conversation, std::optional<Millis> until) {
  writer_->prepare("UPDATE conversations SET muted_until = ? WHERE id = ?").bind(until).bind(conversation).run();
}
void Store::clear_mutes(Write&) { writer_->exec("UPDATE conversations SET muted_until = NULL"); }

void Store::set_position(Write& write, std::int64_t position) { set_meta(write, "position", std::to_string(position)); }

// --- outbox -------------------------------------------------------------------

namespace {

// The outbox's attachments: full objects; a store written by an earlier
// version holds bare media ids (shown by id until the server's event).
std::vector<Attachment> outbox_attachments(std::string_view text) {
  const auto value = protocol::parse_json(text);
  std::vector<Attachment> attachments;
  for (const auto& entry : value.as_array()) {
    if (entry.is_string()) {
      attachments.push_back(Attachment{std::string(entry.as_string()), "", 0, "", std::nullopt, std::nullopt});
    } else {
      auto one = attachments_from_json(json::serialize(json::array{entry}));
      attachments.insert(attachments.end(), one.begin(), one.end());
    }
  }
  return attachments;
}

}  // namespace

void Store::outbox_add(Write&, const OutboxEntry& e) {
  writer_
      ->prepare(
          "INSERT INTO outbox(client_id, conversation_id, text, reply_to, attachments, created_at, sticker_id, state) "
          "VALUES (?,?,?,?,?,?,?, 'pending')")
      .bind(e.client_id)
      .bind(e.conversation_id)
      .bind_blob(seal_text(e.text, outbox_ad(e.client_id)))
      .bind(e.reply_to)
      .bind(attachments_json(e.attachments))
      .bind(e.created_at)
      .bind(e.sticker_id)
      .run();
}

void Store::outbox_acked(Write& write, const std::string& client_id, MessageId id, std::int64_t seq,
                         Millis created_at, UserId me) {
  auto statement =
      writer_->prepare(
          "SELECT conversation_id, text, reply_to, attachments, sticker_id FROM outbox "
          "WHERE client_id = ? AND state = 'pending'");
  statement.bind(client_id);
  if (!statement.step()) return;
  auto existing = writer_->prepare("SELECT 1 FROM messages WHERE id = ?");
  existing.bind(id);
  if (!existing.step()) {
    Message message;
    message.id = id;
    message.conversation_id = statement.int64(0);
    message.seq = seq;
    message.sender_id = me;
    message.client_id = client_id;
    message.text = open_text(statement.text(1), outbox_ad(client_id));
    message.reply_to = statement.optional_int64(2);
    message.attachments = outbox_attachments(statement.text(3));
    message.sticker_id = statement.optional_int64(4);
    message.created_at = created_at;
    put_message(write, message);  // also removes the outbox entry
    // Sending moved this user's read mark to the message (docs/protocol.md "send").
    raise_receipt(write, message.conversation_id, me, seq, Mark::read_only, me);
  }
  writer_->prepare("DELETE FROM outbox WHERE client_id = ?").bind(client_id).run();
}

void Store::outbox_failed(Write&, const std::string& client_id, const std::string& error) {
  writer_->prepare("UPDATE outbox SET state = 'failed', error = ? WHERE client_id = ?").bind(error).bind(client_id).run();
}

// --- uploads in progress -----------------------------------------------------------

std::vector<UploadRecord> Store::uploads() {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare(
      "SELECT client_id, conversation_id, path, size, mtime_ns, caption, upload_id, offset, created_at FROM uploads "
      "ORDER BY created_at, client_id");
  return collect_rows(statement, [this](const Statement& row) {
    UploadRecord r;
    r.client_id = row.text(0);
    r.conversation_id = row.int64(1);
    r.path = row.text(2);
    r.size = row.int64(3);
    r.mtime_ns = row.int64(4);
    r.caption = open_text(row.text(5), outbox_ad(r.client_id));
    r.upload_id = row.optional_text(6).value_or("");
    r.offset = row.int64(7);
    r.created_at = row.int64(8);
    return r;
  });
}

void Store::put_upload(Write&, const UploadRecord& r) {
  writer_
      ->prepare(
          "INSERT OR REPLACE INTO uploads(client_id, conversation_id, path, size, mtime_ns, caption, upload_id, offset, "
          "created_at) VALUES (?,?,?,?,?,?,?,?,?)")
      .bind(r.client_id)
      .bind(r.conversation_id)
      .bind(r.path.string())
      .bind(r.size)
      .bind(r.mtime_ns)
      .bind_blob(seal_text(r.caption, outbox_ad(r.client_id)))
      .bind(r.upload_id.empty() ? std::optional<std::string>() : std::optional<std::string>(r.upload_id))
      .bind(r.offset)
      .bind(r.created_at)
      .run();
}

void Store::set_upload_progress(Write&, const std::string& client_id, const std::string& upload_id,
                                std::int64_t offset) {
  writer_->prepare("UPDATE uploads SET upload_id = ?, offset = ? WHERE client_id = ?")
      .bind(upload_id)
      .bind(offset)
      .bind(client_id)
      .run();
}

void Store::remove_upload(Write&, const std::string& client_id) {
  writer_->prepare("DELETE FROM uploads WHERE client_id = ?").bind(client_id).run();
}

std::vector<OutboxEntry> Store::outbox_pending() {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare(
      "SELECT client_id, conversation_id, text, reply_to, attachments, created_at, sticker_id FROM outbox "
      "WHERE state = 'pending' ORDER BY ordinal");
  return collect_rows(statement, [this](const Statement& row) {
    OutboxEntry e;
    e.client_id = row.text(0);
    e.conversation_id = row.int64(1);
    e.text = open_text(row.text(2), outbox_ad(e.client_id));
    e.reply_to = row.optional_int64(3);
    e.attachments = outbox_attachments(row.text(4));
    e.sticker_id = row.optional_int64(6);
    e.created_at = row.int64(5);
    return e;
  });
}

void Store::clear_outbox_and_users() {
  Write write(*this);
  writer_->exec(
      "DELETE FROM outbox; DELETE FROM uploads; DELETE FROM pending_reads; DELETE FROM users; "
      "DELETE FROM history_floor");
  write.commit();
}

void Store::pending_read_set(Write&, ConversationId conversation, std::int64_t seq) {
  writer_
      ->prepare("INSERT INTO pending_reads(conversation_id, seq) VALUES (?, ?) "
                "ON CONFLICT(conversation_id) DO UPDATE SET seq = MAX(seq, excluded.seq)")
      .bind(conversation)
      .bind(seq)
      .run();
}

void Store::pending_read_done(Write&, ConversationId conversation, std::int64_t seq) {
  writer_->prepare("DELETE FROM pending_reads WHERE conversation_id = ? AND seq <= ?").bind(conversation).bind(seq).run();
}

std::vector<std::pair<ConversationId, std::int64_t>> Store::pending_reads() {
  std::lock_guard lock(read_mutex_);
  std::vector<std::pair<ConversationId, std::int64_t>> reads;
  auto statement = reader_->prepare("SELECT conversation_id, seq FROM pending_reads ORDER BY conversation_id");
  while (statement.step()) reads.emplace_back(statement.int64(0), statement.int64(1));
  return reads;
}

// --- media cache index -------------------------------------------------------------

void Store::media_put(Write&, const std::string& key, std::int64_t size, Millis now) {
  writer_
      ->prepare("INSERT INTO media_cache(key, size, last_used) VALUES (?,?,?) "
                "ON CONFLICT(key) DO UPDATE SET size = excluded.size, last_used = excluded.last_used")
      .bind(key)
      .bind(size)
      .bind(now)
      .run();
}

void Store::media_touch(const std::string& key, Millis now) {
  Write write(*this);
  writer_->prepare("UPDATE media_cache SET last_used = MAX(last_used, ?) WHERE key = ?").bind(now).bind(key).run();
  write.commit();
}

void Store::media_remove(Write&, const std::string& key) { writer_->prepare("DELETE FROM media_cache WHERE key = ?").bind(key).run(); }

std::vector<std::pair<std::string, std::int64_t>> Store::media_lru() {
  std::lock_guard lock(read_mutex_);
  std::vector<std::pair<std::string, std::int64_t>> entries;
  auto statement = reader_->prepare("SELECT key, size FROM media_cache ORDER BY last_used, key");
  while (statement.step()) entries.emplace_back(statement.text(0), statement.int64(1));
  return entries;
}

std::int64_t Store::media_total() {
  std::lock_guard lock(read_mutex_);
  return reader_->query_int("SELECT COALESCE(SUM(size), 0) FROM media_cache");
}

std::optional<std::int64_t> Store::media_size(const std::string& key) {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare("SELECT size FROM media_cache WHERE key = ?");
  statement.bind(key);
  if (!statement.step()) return std::nullopt;
  return statement.int64(0);
}

// --- eviction ---------------------------------------------------------------------

std::int64_t Store::used_bytes() {
  std::lock_guard lock(write_mutex_);
  return (writer_->query_int("PRAGMA page_count") - writer_->query_int("PRAGMA freelist_count")) *
         writer_->query_int("PRAGMA page_size");
}

std::int64_t Store::evict_history(std::int64_t limit, int keep_per_conversation) {
  std::int64_t evicted = 0;
  // Rounds of a bounded batch each: the oldest messages (by server time)
  // outside every conversation's newest page go first. The history floor
  // remembers, per conversation, that older messages exist on the server.
  for (int round = 0; round < 1000 && used_bytes() > limit; ++round) {
    std::size_t removed = 0;
    {
      Write write(*this);
      auto candidates = writer_->prepare(
          "SELECT m.id, m.conversation_id, m.seq FROM messages m "
          "WHERE m.seq <= (SELECT MAX(seq) FROM messages x WHERE x.conversation_id = m.conversation_id) - ? "
          "ORDER BY m.created_at, m.id LIMIT 500");
      candidates.bind(keep_per_conversation);
      std::vector<std::tuple<MessageId, ConversationId, std::int64_t>> batch;
      while (candidates.step()) batch.emplace_back(candidates.int64(0), candidates.int64(1), candidates.int64(2));
      for (const auto& [id, conversation, seq] : batch) {
        writer_->prepare("DELETE FROM messages_fts WHERE rowid = ?").bind(id).run();
        writer_->prepare("DELETE FROM messages WHERE id = ?").bind(id).run();
        writer_
            ->prepare("INSERT INTO history_floor(conversation_id, seq) VALUES (?, ?) "
                      "ON CONFLICT(conversation_id) DO UPDATE SET seq = MAX(seq, excluded.seq)")
            .bind(conversation)
            .bind(seq)
            .run();
      }
      write.commit();
      removed = batch.size();
    }
    if (removed == 0) break;
    evicted += static_cast<std::int64_t>(removed);
    // Freed pages go back to the file system (auto_vacuum = INCREMENTAL).
    std::lock_guard lock(write_mutex_);
    writer_->exec("PRAGMA incremental_vacuum");
  }
  return evicted;
}

// --- reads --------------------------------------------------------------------------

std::optional<std::string> Store::meta(const std::string& key) {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare("SELECT value FROM meta WHERE key = ?");
  statement.bind(key);
  if (!statement.step()) return std::nullopt;
  return statement.text(0);
}

std::set<ConversationId> Store::pending_loads() {
  std::set<ConversationId> ids;
  std::istringstream in(meta("pending_loads").value_or(""));
  ConversationId id = 0;
  while (in >> id) ids.insert(id);
  return ids;
}

namespace {
std::string join_ids(const std::set<ConversationId>& ids) {
  std::string out;
  for (auto id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}
}  // namespace

// Read-modify-write of one meta value: only the engine thread writes it,
// one transaction at a time (the Write's lock), so the committed value read
// here is the current one.
void Store::add_pending_loads(Write& write, const std::vector<ConversationId>& ids) {
  if (ids.empty()) return;
  auto all = pending_loads();
  all.insert(ids.begin(), ids.end());
  set_meta(write, "pending_loads", join_ids(all));
}

void Store::remove_pending_load(Write& write, ConversationId id) {
  auto all = pending_loads();
  if (all.erase(id) == 0) return;
  if (all.empty()) {
    erase_meta(write, "pending_loads");
  } else {
    set_meta(write, "pending_loads", join_ids(all));
  }
}

std::int64_t Store::position() {
  auto value = meta("position");
  return value ? std::stoll(*value) : 0;
}

std::optional<StoredSession> Store::session() {
  auto token = meta("token");
  auto user = meta("user_id");
  if (!token || !user) return std::nullopt;
  StoredSession session;
  session.token = *token;
  session.user_id = std::stoll(*user);
  session.session_id = std::stoll(meta("session_id").value_or("0"));
  return session;
}

std::optional<User> Store::user(UserId id) {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare(
      "SELECT id, username, display_name, status_text, avatar_media_id, deleted FROM users WHERE id = ?");
  statement.bind(id);
  if (!statement.step()) return std::nullopt;
  return user_at(statement, 0);
}

Message Store::read_message(Statement& s, int c, Database&) {
  Message m;
  m.id = s.int64(c);
  m.conversation_id = s.int64(c + 1);
  m.seq = s.int64(c + 2);
  m.sender_id = s.int64(c + 3);
  m.client_id = s.text(c + 4);
  m.text = open_text(s.text(c + 5), message_ad(m.id));
  m.reply_to = s.optional_int64(c + 6);
  m.mentions = ids_from_json(s.text(c + 7));
  m.reactions = reactions_from_json(s.text(c + 8));
  m.attachments = attachments_from_json(s.text(c + 9));
  m.sticker_id = s.optional_int64(c + 10);
  m.created_at = s.int64(c + 11);
  m.edited_at = s.optional_int64(c + 12);
  m.deleted = s.int64(c + 13) != 0;
  return m;
}

std::vector<Conversation> Store::conversations(UserId me, std::optional<ConversationId> only) {
  std::lock_guard lock(read_mutex_);
  std::vector<Conversation> list;
  // The newest message by seq through the (conversation_id, seq) index, so
  // that the list costs one index probe per conversation however long the
  // histories are.
  std::string sql =
      "SELECT c.id, c.kind, c.name, c.topic, c.created_at, c.last_seq, c.avatar_media_id, c.role, c.read_seq, "
      "c.muted_until, u.id, u.username, u.display_name, u.status_text, u.avatar_media_id, u.deleted, "
      "(SELECT COUNT(*) FROM messages x WHERE x.conversation_id = c.id AND x.seq > c.read_seq "
      "  AND x.sender_id <> ?1 AND x.deleted = 0), "
      "(SELECT id FROM messages x WHERE x.conversation_id = c.id ORDER BY seq DESC LIMIT 1) AS last_id "
      "FROM conversations c LEFT JOIN users u ON u.id = c.peer_id";
  if (only) sql += " WHERE c.id = ?2";
  auto statement = reader_->prepare(sql);
  statement.bind(me);
  if (only) statement.bind(*only);
  std::vector<std::optional<MessageId>> last_ids;
  while (statement.step()) {
    Conversation c;
    c.id = statement.int64(0);
    c.kind = statement.text(1) == "group" ? ConversationKind::group : ConversationKind::direct;
    c.name = statement.text(2);
    c.topic = statement.text(3);
    c.created_at = statement.int64(4);
    c.last_seq = statement.int64(5);
    c.avatar_media_id = statement.optional_text(6);
    c.role = protocol::parse_role(statement.text(7));
    c.read_seq = statement.int64(8);
    c.muted_until = statement.optional_int64(9);
    if (!statement.is_null(10)) {
      c.peer = user_at(statement, 10);
    }
    c.unread_count = statement.int64(16);
    last_ids.push_back(statement.optional_int64(17));
    list.push_back(std::move(c));
  }
  auto last = reader_->prepare(std::string("SELECT ") + kMessageColumns + " FROM messages m WHERE m.id = ?");
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!last_ids[i]) continue;
    last.reset();
    last.bind(*last_ids[i]);
    if (last.step()) list[i].last_message = read_message(last, 0, *reader_);
  }
  std::stable_sort(list.begin(), list.end(), [](const Conversation& a, const Conversation& b) {
    const auto at = a.last_message ? a.last_message->created_at : a.created_at;
    const auto bt = b.last_message ? b.last_message->created_at : b.created_at;
    return at != bt ? at > bt : a.id > b.id;
  });
  return list;
}

std::vector<Member> Store::members(ConversationId id) {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare(
      "SELECT u.id, u.username, u.display_name, u.status_text, u.avatar_media_id, u.deleted, m.role, m.joined_at, "
      "m.read_seq, m.delivered_seq FROM members m JOIN users u ON u.id = m.user_id WHERE m.conversation_id = ? "
      "ORDER BY m.joined_at, u.id");
  statement.bind(id);
  return collect_rows(statement, [](const Statement& row) {
    Member member;
    member.user = user_at(row, 0);
    member.role = protocol::parse_role(row.text(6));
    member.joined_at = row.int64(7);
    member.read_seq = row.int64(8);
    member.delivered_seq = row.int64(9);
    return member;
  });
}

HistoryPage Store::history(ConversationId id, std::int64_t before_seq, int limit, UserId me) {
  std::lock_guard lock(read_mutex_);
  HistoryPage page;
  limit = std::clamp(limit, 1, 500);
  auto statement = reader_->prepare(std::string("SELECT ") + kMessageColumns +
                                    " FROM messages m WHERE m.conversation_id = ? AND (? = 0 OR m.seq < ?) "
                                    "ORDER BY m.seq DESC LIMIT ?");
  statement.bind(id).bind(before_seq).bind(before_seq).bind(limit + 1);
  std::vector<Message> newest_first;
  while (statement.step()) newest_first.push_back(read_message(statement, 0, *reader_));
  // Stop at the first gap: what is below it is not contiguous with this page.
  std::int64_t expected = before_seq > 0 ? before_seq - 1 : (newest_first.empty() ? 0 : newest_first.front().seq);
  std::size_t kept = 0;
  bool gap = false;
  for (; kept < newest_first.size() && kept < static_cast<std::size_t>(limit); ++kept) {
    if (newest_first[kept].seq != expected) {
      gap = true;
      break;
    }
    --expected;
  }
  const bool more_stored_contiguous = !gap && newest_first.size() > static_cast<std::size_t>(limit) &&
                                      newest_first[static_cast<std::size_t>(limit)].seq == expected;
  newest_first.resize(kept);
  page.more_in_store = more_stored_contiguous;
  page.more_on_server = !more_stored_contiguous && expected >= 1;
  page.messages.assign(newest_first.rbegin(), newest_first.rend());
  if (before_seq == 0) {
    // The device's own messages not yet acknowledged, after the newest page.
    auto pending = reader_->prepare(
        "SELECT client_id, text, reply_to, created_at, state, error, attachments, sticker_id FROM outbox "
        "WHERE conversation_id = ? ORDER BY ordinal");
    pending.bind(id);
    while (pending.step()) {
      Message m;
      m.conversation_id = id;
      m.sender_id = me;
      m.client_id = pending.text(0);
      m.text = open_text(pending.text(1), outbox_ad(m.client_id));
      m.reply_to = pending.optional_int64(2);
      m.created_at = pending.int64(3);
      m.state = pending.text(4) == "failed" ? MessageState::failed : MessageState::pending;
      m.error = pending.optional_text(5).value_or("");
      m.attachments = outbox_attachments(pending.text(6));
      m.sticker_id = pending.optional_int64(7);
      page.messages.push_back(std::move(m));
    }
  }
  return page;
}

std::optional<Message> Store::message(MessageId id) {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare(std::string("SELECT ") + kMessageColumns + " FROM messages m WHERE m.id = ?");
  statement.bind(id);
  if (!statement.step()) return std::nullopt;
  return read_message(statement, 0, *reader_);
}

std::optional<Message> Store::message_by_client_id(const std::string& client_id) {
  std::lock_guard lock(read_mutex_);
  auto statement =
      reader_->prepare(std::string("SELECT ") + kMessageColumns + " FROM messages m WHERE m.client_id = ? LIMIT 1");
  statement.bind(client_id);
  if (!statement.step()) return std::nullopt;
  return read_message(statement, 0, *reader_);
}

std::int64_t Store::max_seq(ConversationId id) {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare("SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = ?");
  statement.bind(id);
  statement.step();
  return statement.int64(0);
}

std::vector<ConversationId> Store::conversation_ids() {
  std::lock_guard lock(read_mutex_);
  std::vector<ConversationId> ids;
  auto statement = reader_->prepare("SELECT id FROM conversations ORDER BY id");
  while (statement.step()) ids.push_back(statement.int64(0));
  return ids;
}

std::vector<Contact> Store::contacts() {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare(
      "SELECT u.id, u.username, u.display_name, u.status_text, u.avatar_media_id, u.deleted, c.since "
      "FROM contacts c JOIN users u ON u.id = c.user_id ORDER BY u.username");
  return collect_rows(statement, [](const Statement& row) {
    Contact contact;
    contact.user = user_at(row, 0);
    contact.since = row.int64(6);
    return contact;
  });
}

std::vector<Invitation> Store::invitations() {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare(
      "SELECT i.id, i.incoming, i.created_at, u.id, u.username, u.display_name, u.status_text, u.avatar_media_id, "
      "u.deleted FROM invitations i JOIN users u ON u.id = i.user_id ORDER BY i.id");
  return collect_rows(statement, [](const Statement& row) {
    Invitation invitation;
    invitation.id = row.int64(0);
    invitation.incoming = row.int64(1) != 0;
    invitation.created_at = row.int64(2);
    invitation.user = user_at(row, 3);
    return invitation;
  });
}

std::optional<Millis> Store::muted_until(ConversationId id) {
  std::lock_guard lock(read_mutex_);
  auto statement = reader_->prepare("SELECT muted_until FROM conversations WHERE id = ?");
  statement.bind(id);
  if (!statement.step()) return std::nullopt;
  return statement.optional_int64(0);
}

namespace {

// Lower-cases ASCII letters (enough for the scan of encrypted stores; the
// FTS index of plain stores folds case and diacritics properly).
std::string fold(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::vector<SearchHit> Store::search(const std::string& query, int limit, std::optional<ConversationId> in) {
  std::lock_guard lock(read_mutex_);
  std::vector<SearchHit> hits;
  limit = std::clamp(limit, 1, 500);
  if (query.empty()) return hits;
  if (!cipher_.enabled()) {
    auto statement = reader_->prepare(
        std::string("SELECT ") + kMessageColumns +
        ", snippet(messages_fts, 0, '[', ']', '…', 12) FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
        "WHERE messages_fts MATCH ? AND (? IS NULL OR m.conversation_id = ?) ORDER BY m.created_at DESC, m.id DESC "
        "LIMIT ?");
    statement.bind(query).bind(in).bind(in).bind(limit);
    try {
      while (statement.step()) {
        SearchHit hit;
        hit.message = read_message(statement, 0, *reader_);
        hit.snippet = statement.text(14);
        hits.push_back(std::move(hit));
      }
    } catch (const StoreError&) {
      // A query FTS5 cannot parse (a lone quote, a bare operator): search
      // for it as a phrase instead of failing.
      std::string phrase = "\"";
      for (char c : query) phrase += c == '"' ? std::string("\"\"") : std::string(1, c);
      phrase += "\"";
      statement.reset();
      statement.bind(phrase).bind(in).bind(in).bind(limit);
      hits.clear();
      while (statement.step()) {
        SearchHit hit;
        hit.message = read_message(statement, 0, *reader_);
        hit.snippet = statement.text(14);
        hits.push_back(std::move(hit));
      }
    }
    return hits;
  }
  // Encrypted: decrypt and scan, newest first (bounded by the store's size limit).
  const auto needle = fold(query);
  auto statement = reader_->prepare(std::string("SELECT ") + kMessageColumns +
                                    " FROM messages m WHERE m.deleted = 0 AND (? IS NULL OR m.conversation_id = ?) "
                                    "ORDER BY m.created_at DESC, m.id DESC");
  statement.bind(in).bind(in);
  while (statement.step() && static_cast<int>(hits.size()) < limit) {
    auto message = read_message(statement, 0, *reader_);
    const auto folded = fold(message.text);
    const auto at = folded.find(needle);
    if (at == std::string::npos) continue;
    SearchHit hit;
    hit.snippet = message.text.substr(0, at) + "[" + message.text.substr(at, needle.size()) + "]" +
                  message.text.substr(at + needle.size());
    hit.message = std::move(message);
    hits.push_back(std::move(hit));
  }
  return hits;
}

std::string Store::canonical_dump() {
  std::lock_guard lock(read_mutex_);
  // One JSON array per row, tables and rows in a fixed order, local-only
  // state (outbox, media cache, sync position, session) left out: the
  // content the server's events define.
  std::string out;
  const auto rows = [&](const std::string& name, const std::string& sql, int columns, int sealed_column) {
    auto statement = reader_->prepare(sql);
    while (statement.step()) {
      json::array row;
      row.emplace_back(name);
      for (int i = 0; i < columns; ++i) {
        if (statement.is_null(i)) {
          row.emplace_back(nullptr);
        } else if (i == sealed_column) {
          row.emplace_back(open_text(statement.text(i), message_ad(statement.int64(0))));
        } else {
          row.emplace_back(statement.text(i));
        }
      }
      out += json::serialize(row);
      out += '\n';
    }
  };
  rows("user", "SELECT id, username, display_name, status_text, avatar_media_id, deleted FROM users ORDER BY id", 6, -1);
  rows("conversation",
       "SELECT id, kind, name, topic, created_at, last_seq, avatar_media_id, role, read_seq, peer_id, muted_until "
       "FROM conversations ORDER BY id",
       11, -1);
  rows("member",
       "SELECT conversation_id, user_id, role, joined_at, read_seq, delivered_seq FROM members "
       "ORDER BY conversation_id, user_id",
       6, -1);
  rows("message",
       "SELECT id, conversation_id, seq, sender_id, client_id, text, reply_to, mentions, reactions, attachments, "
       "sticker_id, created_at, edited_at, deleted FROM messages ORDER BY id",
       14, 5);
  rows("contact", "SELECT user_id, since FROM contacts ORDER BY user_id", 2, -1);
  rows("invitation", "SELECT id, user_id, incoming, created_at FROM invitations ORDER BY id", 4, -1);
  rows("block", "SELECT user_id FROM blocks ORDER BY user_id", 1, -1);
  return out;
}

}  // namespace parley::store
