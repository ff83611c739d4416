// SqliteTransaction::search_messages: FTS5 over message bodies (migration
// 0008), with the access rules of docs/security.md "Search" in the same
// statement, and a time bound enforced by SQLite's progress handler.
#include <sqlite3.h>

#include <chrono>
#include <exception>

#include "core/error.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/sqlite_transaction.hpp"

namespace parley::storage::sqlite {
namespace {

// Which messages the viewer (?1) may find: those of conversations they are
// a member of; through a membership that ended, those sent during it
// (joined_pos < pos <= left_pos, as media_shared_with), and only if not
// edited after it ended (a version kept at or after left_pos means the body
// changed later; the ex-member must not find words they never saw, and
// matching the old text exactly would need a second index of old versions).
constexpr std::string_view kAccess =
    " AND (EXISTS (SELECT 1 FROM members mm WHERE mm.conversation_id = g.conversation_id AND mm.user_id = ?1)"
    " OR EXISTS (SELECT 1 FROM past_memberships p WHERE p.user_id = ?1 AND p.conversation_id = g.conversation_id"
    " AND p.joined_pos < g.pos AND +p.left_pos >= g.pos AND NOT EXISTS (SELECT 1 FROM message_versions v"
    " WHERE v.message_id = g.id AND v.through_pos >= p.left_pos)))";

// Control characters around matches in snippet(); message text cannot hold
// them (validation::text refuses control characters), so they are only ours.
constexpr char kOpen = '\x01';
constexpr char kClose = '\x02';

struct Deadline {
  std::chrono::steady_clock::time_point at;
  bool expired = false;
};

int check_deadline(void* arg) {
  auto* deadline = static_cast<Deadline*>(arg);
  if (std::chrono::steady_clock::now() >= deadline->at) deadline->expired = true;
  return deadline->expired ? 1 : 0;
}

// Removes the markers and records the ranges they enclosed, in code points.
void split_snippet(const std::string& marked, SearchHit& hit) {
  std::int64_t points = 0;
  std::int64_t start = -1;
  for (char c : marked) {
    if (c == kOpen) {
      start = points;
    } else if (c == kClose) {
      if (start >= 0 && points > start) hit.highlights.emplace_back(start, points);
      start = -1;
    } else {
      hit.snippet.push_back(c);
      if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++points;
    }
  }
}

// The words around the matches of `match` in message `id`, marked with
// kOpen/kClose. One indexed lookup (MATCH with a rowid): snippets cost only
// the page's messages, never every match.
std::string snippet_of(Connection& db, const std::string& match, MessageId id) {
  Statement& statement = db.prepare(
      "SELECT snippet(message_search, 0, char(1), char(2), '…', 24) FROM message_search "
      "WHERE message_search MATCH ?1 AND rowid = ?2");
  statement.bind(1, match).bind(2, id);
  std::string marked = statement.step() ? statement.text(0) : std::string();
  statement.reset();
  return marked;
}

// The first `limit` code points of a UTF-8 text.
std::string first_code_points(const std::string& text, std::size_t limit) {
  std::size_t points = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && points++ == limit) return text.substr(0, i);
  }
  return text;
}

}  // namespace

SearchPage SqliteTransaction::search_messages(const SearchQuery& q) {
  // Text: the matches the viewer may read, newest first (FTS5 walks its
  // index in rowid order, so a LIMIT stops the scan), ranked by BM25 in an
  // outer query; snippets only for the page, below. Filters only: newest first.
  std::string sql;
  bool text = !q.match.empty();
  if (text) {
    sql =
        "SELECT id FROM (SELECT g.id AS id, bm25(message_search) AS score FROM message_search "
        "JOIN messages g ON g.id = message_search.rowid WHERE message_search MATCH ?2";
  } else {
    sql = "SELECT g.id FROM messages g WHERE 1";
  }
  sql += " AND g.deleted_at IS NULL AND g.id <= ?3";
  sql += kAccess;
  if (q.from) sql += " AND g.sender_id = ?4";
  if (q.in) sql += " AND g.conversation_id = ?5";
  if (q.has_file) sql += " AND g.attachment_count > 0";
  if (q.has_image) {
    sql +=
        " AND g.attachment_count > 0 AND EXISTS (SELECT 1 FROM message_attachments a JOIN media md ON md.id = "
        "a.media_id WHERE a.message_id = g.id AND md.content_type LIKE 'image/%')";
  }
  if (q.mentions_viewer) sql += " AND EXISTS (SELECT 1 FROM mentions n WHERE n.message_id = g.id AND n.user_id = ?1)";
  if (q.before) sql += " AND g.created_at < ?6";
  if (q.not_before) sql += " AND g.created_at >= ?7";
  if (text) {
    sql += " ORDER BY message_search.rowid DESC";
    if (q.ranked_matches > 0) sql += " LIMIT ?10";
    sql += ") ORDER BY score, id DESC";
  } else {
    sql += " ORDER BY g.id DESC";
  }
  sql += " LIMIT ?8 OFFSET ?9";

  SearchPage page;
  page.max_id = q.max_id;
  if (page.max_id == 0) {
    Statement& newest = db_.prepare("SELECT COALESCE(MAX(id), 0) FROM messages");
    newest.step();
    page.max_id = newest.int64(0);
    newest.reset();
  }
  Statement& query = db_.prepare(sql);
  query.bind(1, q.viewer).bind(3, page.max_id).bind(8, q.limit + 1).bind(9, q.offset);
  if (text) query.bind(2, q.match);
  if (q.from) query.bind(4, *q.from);
  if (q.in) query.bind(5, *q.in);
  if (q.before) query.bind(6, *q.before);
  if (q.not_before) query.bind(7, *q.not_before);
  if (text && q.ranked_matches > 0) query.bind(10, q.ranked_matches);

  Deadline deadline{std::chrono::steady_clock::now() + std::chrono::milliseconds(q.time_limit_ms)};
  sqlite3_progress_handler(db_.handle(), 1000, &check_deadline, &deadline);
  std::vector<MessageId> rows;
  try {
    while (query.step()) rows.push_back(query.int64(0));
  } catch (const std::exception&) {
    sqlite3_progress_handler(db_.handle(), 0, nullptr, nullptr);
    query.reset();
    if (deadline.expired) {
      page.timed_out = true;
      return page;
    }
    // Only quoted terms reach MATCH, so this is not expected; still the
    // caller's query, not a server fault.
    throw ApiError(ErrorCode::kValidationFailed, "q: this query cannot be searched");
  }
  sqlite3_progress_handler(db_.handle(), 0, nullptr, nullptr);
  query.reset();

  if (static_cast<std::int64_t>(rows.size()) > q.limit) {
    page.has_more = true;
    rows.pop_back();
  }
  for (MessageId id : rows) {
    auto message = message_by_id(id);
    if (!message) continue;
    // Through a membership that ended: the message as it was at its end
    // (its reactions then; its body is that already, see kAccess).
    if (!member(message->conversation_id, q.viewer)) {
      Statement& end = db_.prepare(
          "SELECT MIN(left_pos) FROM past_memberships WHERE user_id = ?1 AND conversation_id = ?2 "
          "AND joined_pos < ?3 AND left_pos >= ?3");
      end.bind(1, q.viewer).bind(2, message->conversation_id).bind(3, message->pos);
      bool found = end.step() && !end.is_null(0);
      Position left = found ? end.int64(0) : 0;
      end.reset();
      if (!found || !load_details_as_of(*message, left)) continue;
    }
    SearchHit hit;
    hit.message = std::move(*message);
    if (text) {
      split_snippet(snippet_of(db_, q.match, id), hit);
    } else {
      hit.snippet = first_code_points(hit.message.body, 200);
    }
    page.hits.push_back(std::move(hit));
  }
  return page;
}

}  // namespace parley::storage::sqlite
