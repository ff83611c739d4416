#include "storage/sqlite/sqlite_transaction.hpp"

#include "storage/sqlite/database.hpp"

namespace parley::storage::sqlite {
namespace {

constexpr std::string_view kUserColumns =
    "u.id, u.username, u.display_name, u.status_text, u.avatar_media_id, u.last_seen_visibility, "
    "u.notifications_enabled, u.created_at";

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
  return user;
}

Session read_session(const Statement& row) {
  return Session{row.int64(0), row.int64(1), row.text(2), row.int64(3), row.int64(4)};
}

Invitation read_invitation(const Statement& row) {
  return Invitation{row.int64(0), row.int64(1), row.int64(2), row.int64(3)};
}

std::string sql(std::string_view head, std::string_view tail = "") {
  std::string s(head);
  s += tail;
  return s;
}

constexpr std::string_view kSessionColumns = "id, user_id, device_name, created_at, last_seen_at";
constexpr std::string_view kInvitationColumns = "id, from_user, to_user, created_at";

}  // namespace

std::optional<User> SqliteTransaction::insert_user(const NewUser& user) {
  Statement& insert = db_.prepare(
      "INSERT INTO users (username, password_hash, display_name, created_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (username) DO NOTHING");
  insert.bind(1, user.username).bind(2, user.password_hash).bind(3, user.display_name).bind(4, user.created_at);
  insert.run();
  if (db_.changes() == 0) return std::nullopt;
  return user_by_id(db_.last_insert_rowid());
}

std::optional<User> SqliteTransaction::user_by_id(UserId id) {
  Statement& query = db_.prepare(sql(sql("SELECT ", kUserColumns), " FROM users u WHERE u.id = ?1"));
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return read_user(query);
}

std::optional<User> SqliteTransaction::user_by_username(std::string_view username) {
  Statement& query = db_.prepare(sql(sql("SELECT ", kUserColumns), " FROM users u WHERE u.username = ?1"));
  query.bind(1, username);
  if (!query.step()) return std::nullopt;
  return read_user(query);
}

std::optional<std::string> SqliteTransaction::password_hash(UserId id) {
  Statement& query = db_.prepare("SELECT password_hash FROM users WHERE id = ?1");
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return query.text(0);
}

void SqliteTransaction::set_password_hash(UserId id, std::string_view hash) {
  db_.prepare("UPDATE users SET password_hash = ?2 WHERE id = ?1").bind(1, id).bind(2, hash).run();
}

void SqliteTransaction::update_user(UserId id, const ProfilePatch& patch) {
  // COALESCE keeps a column when its parameter is NULL; the avatar needs a
  // separate flag because NULL is also a value it can be set to.
  Statement& update = db_.prepare(
      "UPDATE users SET display_name = COALESCE(?2, display_name), status_text = COALESCE(?3, status_text), "
      "avatar_media_id = CASE WHEN ?4 THEN ?5 ELSE avatar_media_id END, "
      "last_seen_visibility = COALESCE(?6, last_seen_visibility), "
      "notifications_enabled = COALESCE(?7, notifications_enabled) WHERE id = ?1");
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
  update.run();
}

std::vector<ConversationMute> SqliteTransaction::mutes(UserId user) {
  Statement& query = db_.prepare(
      "SELECT conversation_id, muted_until FROM conversation_mutes WHERE user_id = ?1 ORDER BY conversation_id");
  query.bind(1, user);
  std::vector<ConversationMute> result;
  while (query.step()) result.push_back({query.int64(0), query.int64(1)});
  return result;
}

void SqliteTransaction::set_mute(UserId user, ConversationId conversation, UnixMillis until) {
  db_.prepare(
         "INSERT INTO conversation_mutes (user_id, conversation_id, muted_until) VALUES (?1, ?2, ?3) "
         "ON CONFLICT (user_id, conversation_id) DO UPDATE SET muted_until = excluded.muted_until")
      .bind(1, user)
      .bind(2, conversation)
      .bind(3, until)
      .run();
}

bool SqliteTransaction::delete_mute(UserId user, ConversationId conversation) {
  db_.prepare("DELETE FROM conversation_mutes WHERE user_id = ?1 AND conversation_id = ?2")
      .bind(1, user)
      .bind(2, conversation)
      .run();
  return db_.changes() > 0;
}

Session SqliteTransaction::insert_session(UserId user, std::string_view token_hash, std::string_view device_name,
                                          UnixMillis now) {
  db_.prepare(
         "INSERT INTO sessions (user_id, token_hash, device_name, created_at, last_seen_at) "
         "VALUES (?1, ?2, ?3, ?4, ?4)")
      .bind(1, user)
      .bind_blob(2, token_hash)
      .bind(3, device_name)
      .bind(4, now)
      .run();
  return Session{db_.last_insert_rowid(), user, std::string(device_name), now, now};
}

std::optional<Session> SqliteTransaction::session_by_token_hash(std::string_view token_hash) {
  Statement& query = db_.prepare(sql(sql("SELECT ", kSessionColumns), " FROM sessions WHERE token_hash = ?1"));
  query.bind_blob(1, token_hash);
  if (!query.step()) return std::nullopt;
  return read_session(query);
}

std::vector<Session> SqliteTransaction::sessions(UserId user) {
  Statement& query =
      db_.prepare(sql(sql("SELECT ", kSessionColumns), " FROM sessions WHERE user_id = ?1 ORDER BY id"));
  query.bind(1, user);
  std::vector<Session> result;
  while (query.step()) result.push_back(read_session(query));
  return result;
}

void SqliteTransaction::touch_session(SessionId id, UnixMillis now) {
  db_.prepare("UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1").bind(1, id).bind(2, now).run();
}

bool SqliteTransaction::delete_session(UserId user, SessionId id) {
  db_.prepare("DELETE FROM sessions WHERE id = ?1 AND user_id = ?2").bind(1, id).bind(2, user).run();
  return db_.changes() > 0;
}

std::vector<SessionId> SqliteTransaction::delete_other_sessions(UserId user, SessionId keep) {
  Statement& query = db_.prepare("DELETE FROM sessions WHERE user_id = ?1 AND id != ?2 RETURNING id");
  query.bind(1, user).bind(2, keep);
  std::vector<SessionId> ids;
  while (query.step()) ids.push_back(query.int64(0));
  return ids;
}

std::size_t SqliteTransaction::delete_sessions_idle_since(UnixMillis cutoff) {
  db_.prepare("DELETE FROM sessions WHERE last_seen_at < ?1").bind(1, cutoff).run();
  return static_cast<std::size_t>(db_.changes());
}

Invitation SqliteTransaction::insert_invitation(UserId from, UserId to, UnixMillis now) {
  db_.prepare("INSERT INTO invitations (from_user, to_user, created_at) VALUES (?1, ?2, ?3)")
      .bind(1, from)
      .bind(2, to)
      .bind(3, now)
      .run();
  return Invitation{db_.last_insert_rowid(), from, to, now};
}

std::optional<Invitation> SqliteTransaction::invitation_by_id(InvitationId id) {
  Statement& query = db_.prepare(sql(sql("SELECT ", kInvitationColumns), " FROM invitations WHERE id = ?1"));
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return read_invitation(query);
}

std::optional<Invitation> SqliteTransaction::invitation_between(UserId from, UserId to) {
  Statement& query = db_.prepare(
      sql(sql("SELECT ", kInvitationColumns), " FROM invitations WHERE from_user = ?1 AND to_user = ?2"));
  query.bind(1, from).bind(2, to);
  if (!query.step()) return std::nullopt;
  return read_invitation(query);
}

std::vector<Invitation> SqliteTransaction::invitations_to(UserId user) {
  Statement& query =
      db_.prepare(sql(sql("SELECT ", kInvitationColumns), " FROM invitations WHERE to_user = ?1 ORDER BY id"));
  query.bind(1, user);
  std::vector<Invitation> result;
  while (query.step()) result.push_back(read_invitation(query));
  return result;
}

std::vector<Invitation> SqliteTransaction::invitations_from(UserId user) {
  Statement& query =
      db_.prepare(sql(sql("SELECT ", kInvitationColumns), " FROM invitations WHERE from_user = ?1 ORDER BY id"));
  query.bind(1, user);
  std::vector<Invitation> result;
  while (query.step()) result.push_back(read_invitation(query));
  return result;
}

void SqliteTransaction::delete_invitation(InvitationId id) {
  db_.prepare("DELETE FROM invitations WHERE id = ?1").bind(1, id).run();
}

bool SqliteTransaction::are_contacts(UserId a, UserId b) {
  Statement& query = db_.prepare("SELECT 1 FROM contacts WHERE user_id = ?1 AND contact_id = ?2");
  query.bind(1, a).bind(2, b);
  return query.step();
}

void SqliteTransaction::insert_contact_pair(UserId a, UserId b, UnixMillis now) {
  Statement& insert = db_.prepare(
      "INSERT INTO contacts (user_id, contact_id, created_at) VALUES (?1, ?2, ?3), (?2, ?1, ?3) "
      "ON CONFLICT DO NOTHING");
  insert.bind(1, a).bind(2, b).bind(3, now).run();
}

bool SqliteTransaction::delete_contact_pair(UserId a, UserId b) {
  db_.prepare(
         "DELETE FROM contacts WHERE (user_id = ?1 AND contact_id = ?2) OR (user_id = ?2 AND contact_id = ?1)")
      .bind(1, a)
      .bind(2, b)
      .run();
  return db_.changes() > 0;
}

std::vector<Contact> SqliteTransaction::contacts(UserId user) {
  Statement& query = db_.prepare(sql(sql("SELECT ", kUserColumns),
                                     ", c.created_at FROM contacts c JOIN users u ON u.id = c.contact_id "
                                     "WHERE c.user_id = ?1 ORDER BY u.username"));
  query.bind(1, user);
  std::vector<Contact> result;
  while (query.step()) result.push_back({read_user(query), query.int64(8)});
  return result;
}

bool SqliteTransaction::has_blocked(UserId user, UserId blocked) {
  Statement& query = db_.prepare("SELECT 1 FROM blocks WHERE user_id = ?1 AND blocked_id = ?2");
  query.bind(1, user).bind(2, blocked);
  return query.step();
}

void SqliteTransaction::insert_block(UserId user, UserId blocked, UnixMillis now) {
  db_.prepare("INSERT INTO blocks (user_id, blocked_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")
      .bind(1, user)
      .bind(2, blocked)
      .bind(3, now)
      .run();
}

bool SqliteTransaction::delete_block(UserId user, UserId blocked) {
  db_.prepare("DELETE FROM blocks WHERE user_id = ?1 AND blocked_id = ?2").bind(1, user).bind(2, blocked).run();
  return db_.changes() > 0;
}

std::vector<Block> SqliteTransaction::blocks(UserId user) {
  Statement& query = db_.prepare(sql(sql("SELECT ", kUserColumns),
                                     ", b.created_at FROM blocks b JOIN users u ON u.id = b.blocked_id "
                                     "WHERE b.user_id = ?1 ORDER BY u.username"));
  query.bind(1, user);
  std::vector<Block> result;
  while (query.step()) result.push_back({read_user(query), query.int64(8)});
  return result;
}

}  // namespace parley::storage::sqlite
