// PgTransaction's personal data exports (migration 0010) and the
// conversations a user was in before (past_memberships), for the export.
#include <stdexcept>

#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_transaction.hpp"

namespace parley::storage::postgres {
namespace {

ExportState parse_state(std::string_view name) {
  if (name == "pending") return ExportState::kPending;
  if (name == "running") return ExportState::kRunning;
  if (name == "ready") return ExportState::kReady;
  if (name == "failed") return ExportState::kFailed;
  if (name == "expired") return ExportState::kExpired;
  throw StorageError("data_exports: unknown state");
}

constexpr std::string_view kColumns =
    "SELECT id, user_id, state, created_at, finished_at, expires_at, size, sha256, error FROM data_exports ";

DataExport read_export(const Statement& row) {
  DataExport e;
  e.id = row.text(0);
  e.user_id = row.int64(1);
  e.state = parse_state(row.text(2));
  e.created_at = row.int64(3);
  if (!row.is_null(4)) e.finished_at = row.int64(4);
  if (!row.is_null(5)) e.expires_at = row.int64(5);
  if (!row.is_null(6)) e.size = row.int64(6);
  e.sha256 = row.optional_text(7).value_or("");
  e.error = row.optional_text(8).value_or("");
  return e;
}

std::vector<ExportId> ids_of(Statement& query) {
  std::vector<ExportId> ids;
  while (query.step()) ids.push_back(query.text(0));
  query.reset();
  return ids;
}

}  // namespace

void PgTransaction::insert_export(const DataExport& e) {
  db_.prepare("INSERT INTO data_exports (id, user_id, state, created_at) VALUES (?1, ?2, ?3, ?4)")
      .bind(1, e.id)
      .bind(2, e.user_id)
      .bind(3, export_state_name(e.state))
      .bind(4, e.created_at)
      .run();
}

std::optional<DataExport> PgTransaction::export_by_id(std::string_view id) {
  static const std::string kSql = std::string(kColumns) + "WHERE id = ?1";
  Statement& query = db_.prepare(kSql);
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  auto e = read_export(query);
  query.reset();
  return e;
}

std::optional<DataExport> PgTransaction::latest_export(UserId user) {
  static const std::string kSql = std::string(kColumns) + "WHERE user_id = ?1 ORDER BY created_at DESC, id LIMIT 1";
  Statement& query = db_.prepare(kSql);
  query.bind(1, user);
  if (!query.step()) return std::nullopt;
  auto e = read_export(query);
  query.reset();
  return e;
}

std::optional<UnixMillis> PgTransaction::last_counted_export(UserId user) {
  Statement& query = db_.prepare("SELECT MAX(created_at) FROM data_exports WHERE user_id = ?1 AND state <> 'failed'");
  query.bind(1, user);
  std::optional<UnixMillis> last;
  if (query.step() && !query.is_null(0)) last = query.int64(0);
  query.reset();
  return last;
}

bool PgTransaction::start_export(std::string_view id) {
  db_.prepare("UPDATE data_exports SET state = 'running' WHERE id = ?1 AND state = 'pending'").bind(1, id).run();
  return db_.changes() > 0;
}

bool PgTransaction::finish_export(std::string_view id, std::int64_t size, std::string_view sha256, UnixMillis now,
                                      UnixMillis expires_at) {
  db_.prepare(
         "UPDATE data_exports SET state = 'ready', size = ?2, sha256 = ?3, finished_at = ?4, expires_at = ?5 "
         "WHERE id = ?1 AND state = 'running'")
      .bind(1, id)
      .bind(2, size)
      .bind(3, sha256)
      .bind(4, now)
      .bind(5, expires_at)
      .run();
  return db_.changes() > 0;
}

bool PgTransaction::fail_export(std::string_view id, std::string_view error, UnixMillis now) {
  db_.prepare(
         "UPDATE data_exports SET state = 'failed', error = ?2, finished_at = ?3 "
         "WHERE id = ?1 AND state IN ('pending', 'running')")
      .bind(1, id)
      .bind(2, error)
      .bind(3, now)
      .run();
  return db_.changes() > 0;
}

std::vector<ExportId> PgTransaction::fail_unfinished_exports(std::string_view error, UnixMillis now) {
  auto ids = ids_of(db_.prepare("SELECT id FROM data_exports WHERE state IN ('pending', 'running')"));
  db_.prepare(
         "UPDATE data_exports SET state = 'failed', error = ?1, finished_at = ?2 "
         "WHERE state IN ('pending', 'running')")
      .bind(1, error)
      .bind(2, now)
      .run();
  return ids;
}

std::vector<ExportId> PgTransaction::expire_exports(UnixMillis now, std::size_t limit) {
  Statement& query = db_.prepare(
      "SELECT id FROM data_exports WHERE state = 'ready' AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2");
  query.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  auto ids = ids_of(query);
  for (const auto& id : ids) {
    db_.prepare("UPDATE data_exports SET state = 'expired' WHERE id = ?1").bind(1, id).run();
  }
  return ids;
}

std::vector<ExportId> PgTransaction::ready_exports() {
  return ids_of(db_.prepare("SELECT id FROM data_exports WHERE state = 'ready'"));
}

std::vector<ExportId> PgTransaction::delete_exports(UserId user) {
  Statement& query = db_.prepare("SELECT id FROM data_exports WHERE user_id = ?1");
  query.bind(1, user);
  auto ids = ids_of(query);
  db_.prepare("DELETE FROM data_exports WHERE user_id = ?1").bind(1, user).run();
  return ids;
}

std::vector<PastConversation> PgTransaction::past_conversations(UserId user) {
  Statement& query = db_.prepare(
      "SELECT conversation_id, joined_pos, left_pos FROM past_memberships p WHERE p.user_id = ?1 "
      "AND NOT EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = p.conversation_id AND m.user_id = ?1) "
      "ORDER BY conversation_id, joined_pos");
  query.bind(1, user);
  std::vector<std::pair<ConversationId, std::pair<Position, Position>>> rows;
  while (query.step()) rows.push_back({query.int64(0), {query.int64(1), query.int64(2)}});
  query.reset();
  std::vector<PastConversation> result;
  for (const auto& [id, membership] : rows) {
    if (result.empty() || result.back().conversation.id != id) {
      auto conversation = conversation_by_id(id);
      if (!conversation) continue;
      result.push_back({std::move(*conversation), {}});
    }
    result.back().memberships.push_back(membership);
  }
  return result;
}

}  // namespace parley::storage::postgres
