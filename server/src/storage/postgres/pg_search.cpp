// PgTransaction::search_messages: PostgreSQL's full-text search over message
// bodies (migration 0001: a GIN index over parley_search_vector(body)), with
// the access rules of docs/security.md "Search" in the same statement, and a
// time bound enforced by statement_timeout.
//
// The query arrives as the SQLite backend's MATCH expression, built only
// from quoted terms (search/search_query.cpp): `"word" "a phrase" "pre" *`.
// Each term becomes a tsquery built by PostgreSQL's own functions from a
// bound parameter (phraseto_tsquery; a prefix term its words with :*), so
// no user text is ever tsquery syntax; the terms are ANDed, as FTS5 does.
#include <chrono>
#include <exception>

#include <fmt/format.h>

#include "core/error.hpp"
#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_transaction.hpp"

namespace parley::storage::postgres {
namespace {

// Which messages the viewer (?1) may find, as in the SQLite backend
// (sqlite_search.cpp kAccess).
constexpr std::string_view kAccess =
    " AND (EXISTS (SELECT 1 FROM members mm WHERE mm.conversation_id = g.conversation_id AND mm.user_id = ?1)"
    " OR EXISTS (SELECT 1 FROM past_memberships p WHERE p.user_id = ?1 AND p.conversation_id = g.conversation_id"
    " AND p.joined_pos < g.pos AND p.left_pos >= g.pos AND NOT EXISTS (SELECT 1 FROM message_versions v"
    " WHERE v.message_id = g.id AND v.through_pos >= p.left_pos)))";

// Control characters around matches in ts_headline(); message text cannot
// hold them (validation::text refuses control characters).
constexpr char kOpen = '\x01';
constexpr char kClose = '\x02';

struct Term {
  std::string text;
  bool prefix = false;
};

// The quoted terms of a MATCH expression built by search::parse_query.
std::vector<Term> parse_terms(std::string_view match) {
  std::vector<Term> terms;
  std::size_t i = 0;
  while (i < match.size()) {
    if (match[i] == ' ') {
      ++i;
      continue;
    }
    if (match[i] == '*') {
      if (!terms.empty()) terms.back().prefix = true;
      ++i;
      continue;
    }
    if (match[i] != '"') throw ApiError(ErrorCode::kValidationFailed, "q: this query cannot be searched");
    Term term;
    for (++i; i < match.size(); ++i) {
      if (match[i] == '"') {
        if (i + 1 < match.size() && match[i + 1] == '"') {
          term.text += '"';
          ++i;
          continue;
        }
        break;
      }
      term.text += match[i];
    }
    ++i;  // the closing quote
    terms.push_back(std::move(term));
  }
  return terms;
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

// The first `limit` code points of a UTF-8 text.
std::string first_code_points(const std::string& text, std::size_t limit) {
  std::size_t points = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && points++ == limit) return text.substr(0, i);
  }
  return text;
}

}  // namespace

SearchPage PgTransaction::search_messages(const SearchQuery& q) {
  // Parameters: ?1 viewer, ?2 max id, ?3 from, ?4 in, ?5 before, ?6 not
  // before, ?7 limit, ?8 offset, ?9 ranked matches, ?10.. the terms.
  std::vector<Term> terms = parse_terms(q.match);
  bool text = !terms.empty();
  std::string tsquery;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    if (!tsquery.empty()) tsquery += " && ";
    auto param = fmt::format("?{}", 10 + i);
    if (terms[i].prefix) {
      // Each word of the term a prefix (quote_literal: a word is never syntax).
      tsquery += fmt::format(
          "COALESCE(to_tsquery('simple', (SELECT string_agg(quote_literal(w) || ':*', ' & ') FROM "
          "unnest(tsvector_to_array(parley_search_vector({}))) w)), to_tsquery('simple', ''))",
          param);
    } else {
      tsquery += fmt::format("phraseto_tsquery('public.parley_search', {})", param);
    }
  }
  std::string sql;
  if (text) {
    sql = fmt::format(
        "SELECT id, body, query FROM (SELECT g.id AS id, g.body AS body, q.query AS query, "
        "ts_rank(parley_search_vector(g.body), q.query) AS score FROM (SELECT {} AS query) q JOIN messages g ON "
        "parley_search_vector(g.body) @@ q.query WHERE g.deleted_at IS NULL",
        tsquery);
  } else {
    sql = "SELECT g.id FROM messages g WHERE g.deleted_at IS NULL";
  }
  sql += " AND g.id <= ?2";
  sql += kAccess;
  if (q.from) sql += " AND g.sender_id = ?3";
  if (q.in) sql += " AND g.conversation_id = ?4";
  if (q.has_file) sql += " AND g.attachment_count > 0";
  if (q.has_image) {
    sql +=
        " AND g.attachment_count > 0 AND EXISTS (SELECT 1 FROM message_attachments a JOIN media md ON md.id = "
        "a.media_id WHERE a.message_id = g.id AND md.content_type LIKE 'image/%')";
  }
  if (q.mentions_viewer) sql += " AND EXISTS (SELECT 1 FROM mentions n WHERE n.message_id = g.id AND n.user_id = ?1)";
  if (q.before) sql += " AND g.created_at < ?5";
  if (q.not_before) sql += " AND g.created_at >= ?6";
  if (text) {
    // The newest matches only are ranked (SearchQuery::ranked_matches).
    sql += " ORDER BY g.id DESC";
    if (q.ranked_matches > 0) sql += " LIMIT ?9";
    sql += ") ranked ORDER BY score DESC, id DESC";
  } else {
    sql += " ORDER BY g.id DESC";
  }
  sql += " LIMIT ?7 OFFSET ?8";

  SearchPage page;
  page.max_id = q.max_id;
  if (page.max_id == 0) {
    Statement& newest = db_.prepare("SELECT COALESCE(MAX(id), 0) FROM messages");
    newest.step();
    page.max_id = newest.int64(0);
    newest.reset();
  }
  Statement& query = db_.prepare(sql);
  query.bind(1, q.viewer).bind(2, page.max_id).bind(7, q.limit + 1).bind(8, q.offset);
  if (q.from) query.bind(3, *q.from);
  if (q.in) query.bind(4, *q.in);
  if (q.before) query.bind(5, *q.before);
  if (q.not_before) query.bind(6, *q.not_before);
  if (text && q.ranked_matches > 0) query.bind(9, q.ranked_matches);
  for (std::size_t i = 0; i < terms.size(); ++i) query.bind(static_cast<int>(10 + i), terms[i].text);

  // A savepoint: a statement cancelled by the timeout aborts only it, and
  // the snapshot stays usable.
  db_.exec("SAVEPOINT search");
  db_.exec(fmt::format("SET LOCAL statement_timeout = {}", std::max(1, q.time_limit_ms)));
  struct Row {
    MessageId id;
    std::string body;
    std::string query;
  };
  std::vector<Row> rows;
  try {
    while (query.step()) rows.push_back({query.int64(0), text ? query.text(1) : "", text ? query.text(2) : ""});
    query.reset();
    db_.exec("SET LOCAL statement_timeout = 0");
    db_.exec("RELEASE SAVEPOINT search");
  } catch (const ConnectionLost&) {
    throw;
  } catch (const StorageError& e) {
    query.reset();
    db_.exec("ROLLBACK TO SAVEPOINT search");
    db_.exec("RELEASE SAVEPOINT search");
    // 57014: canceled by statement_timeout.
    if (std::string_view(e.what()).find("(57014)") != std::string_view::npos) {
      page.timed_out = true;
      return page;
    }
    throw ApiError(ErrorCode::kValidationFailed, "q: this query cannot be searched");
  }

  if (static_cast<std::int64_t>(rows.size()) > q.limit) {
    page.has_more = true;
    rows.pop_back();
  }
  for (const Row& row : rows) {
    auto message = message_by_id(row.id);
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
      // The words around the matches, for the page's messages only.
      Statement& headline = db_.prepare(
          "SELECT ts_headline('public.parley_search', ?1, ?2::tsquery, 'StartSel=\x01, StopSel=\x02, MaxWords=24, MinWords=8, ShortWord=0, "
          "MaxFragments=1, FragmentDelimiter=…')");
      headline.bind(1, row.body).bind(2, row.query);
      std::string marked = headline.step() ? headline.text(0) : std::string();
      headline.reset();
      split_snippet(marked, hit);
    } else {
      hit.snippet = first_code_points(hit.message.body, 200);
    }
    page.hits.push_back(std::move(hit));
  }
  return page;
}

}  // namespace parley::storage::postgres
