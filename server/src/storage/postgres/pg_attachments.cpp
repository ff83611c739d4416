// PgTransaction's methods for using media (migration 0006): who a file is
// shared with, message attachments, group avatars and orphaned media.
#include <string>

#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_transaction.hpp"

namespace parley::storage::postgres {
namespace {

std::optional<int> optional_int(const Statement& row, int column) {
  if (row.is_null(column)) return std::nullopt;
  return static_cast<int>(row.int64(column));
}

// Nothing refers to media ?1 (message attachments, user and group avatars).
constexpr std::string_view kUnreferenced =
    "NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.media_id = ?1) "
    "AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_media_id = ?1) "
    "AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.avatar_media_id = ?1)";

// Each branch is a lookup by media id (users_by_avatar,
// conversations_by_avatar, message_attachments_by_media) followed by
// primary-key probes of the reader's membership, as in the SQLite backend
// (sqlite_attachments.cpp). A current member sees the whole history; a
// former member what was posted while they were a member.
constexpr std::string_view kMediaSharedWithSql =
    "SELECT EXISTS (SELECT 1 FROM users u WHERE u.avatar_media_id = ?1) "
    "OR EXISTS (SELECT 1 FROM conversations c JOIN members m ON m.conversation_id = c.id AND m.user_id = ?2 "
    "WHERE c.avatar_media_id = ?1) "
    "OR EXISTS (SELECT 1 FROM message_attachments a JOIN messages g ON g.id = a.message_id WHERE a.media_id = ?1 "
    "AND (EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = g.conversation_id AND m.user_id = ?2) "
    "OR EXISTS (SELECT 1 FROM past_memberships p WHERE p.user_id = ?2 AND p.conversation_id = g.conversation_id "
    "AND p.joined_pos < g.pos AND +p.left_pos >= g.pos)))";

}  // namespace

void PgTransaction::load_attachments(Message& message) {
  Statement& query = db_.prepare(
      "SELECT m.id, m.name, m.size, m.content_type, m.width, m.height FROM message_attachments a "
      "JOIN media m ON m.id = a.media_id WHERE a.message_id = ?1 ORDER BY a.position");
  query.bind(1, message.id);
  while (query.step()) {
    message.attachments.push_back(Attachment{query.text(0), query.text(1), query.int64(2), query.text(3),
                                             optional_int(query, 4), optional_int(query, 5)});
  }
}

bool PgTransaction::media_shared_with(std::string_view id, UserId user) {
  Statement& query = db_.prepare(kMediaSharedWithSql);
  query.bind(1, id).bind(2, user);
  return query.step() && query.int64(0) != 0;
}

void PgTransaction::set_conversation_avatar(ConversationId id, const std::optional<std::string>& media_id) {
  db_.prepare("UPDATE conversations SET avatar_media_id = ?2 WHERE id = ?1")
      .bind(1, id)
      .bind_optional(2, media_id)
      .run();
}

std::vector<MediaId> PgTransaction::orphaned_media(UnixMillis before, std::size_t limit) {
  Statement& query = db_.prepare("SELECT media_id FROM media_orphans WHERE since < ?1 ORDER BY since LIMIT ?2");
  query.bind(1, before).bind(2, static_cast<std::int64_t>(limit));
  std::vector<MediaId> ids;
  while (query.step()) ids.push_back(query.text(0));
  return ids;
}

bool PgTransaction::delete_orphaned_media(std::string_view id, UnixMillis before) {
  // The triggers keep media_orphans, but the references are checked again
  // here: a file that is referenced must never be deleted, whatever the list
  // says.
  static const std::string kSql = std::string(
                                      "DELETE FROM media WHERE id = ?1 AND EXISTS (SELECT 1 FROM media_orphans o "
                                      "WHERE o.media_id = ?1 AND o.since < ?2) AND ") +
                                  std::string(kUnreferenced);
  // A failed statement aborts a PostgreSQL transaction: the savepoint
  // undoes just this one, and the write goes on.
  db_.exec("SAVEPOINT orphan_delete");
  try {
    db_.prepare(kSql).bind(1, id).bind(2, before).run();
    db_.exec("RELEASE SAVEPOINT orphan_delete");
  } catch (const ConstraintError&) {
    db_.exec("ROLLBACK TO SAVEPOINT orphan_delete");
    db_.exec("RELEASE SAVEPOINT orphan_delete");
    // A reference this query does not know (a foreign key with RESTRICT,
    // e.g. from a sticker) refused the delete; the statement changed
    // nothing. Forget the entry so the sweeper does not stop at it.
    db_.prepare("DELETE FROM media_orphans WHERE media_id = ?1").bind(1, id).run();
    return false;
  }
  if (db_.changes() > 0) return true;
  // Referenced after all (the list was stale): it is no orphan.
  static const std::string kStale =
      std::string("DELETE FROM media_orphans WHERE media_id = ?1 AND NOT (") + std::string(kUnreferenced) + ")";
  db_.prepare(kStale).bind(1, id).run();
  return false;
}

}  // namespace parley::storage::postgres
