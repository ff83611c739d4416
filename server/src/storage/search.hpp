// Full-text search over messages, as the storage layer sees it: a query
// already parsed and made safe (search/search_query.hpp) and the access
// rules applied in the backend's one statement (docs/security.md "Search").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/records.hpp"

namespace parley::storage {

struct SearchQuery {
  UserId viewer = 0;
  // A MATCH expression built only from quoted terms (never user text as is);
  // empty when the query has only filters.
  std::string match;
  std::optional<UserId> from;
  std::optional<ConversationId> in;
  bool has_file = false;
  bool has_image = false;
  bool mentions_viewer = false;
  std::optional<UnixMillis> before;      // created_at < before
  std::optional<UnixMillis> not_before;  // created_at >= not_before
  MessageId max_id = 0;                  // the page set's snapshot: ids above are left out
  std::int64_t offset = 0;
  std::int64_t limit = 20;
  int time_limit_ms = 200;  // the statement is interrupted past this
  // Text queries rank only the newest this many matching messages the viewer
  // may read (0: every match). Ranking every match of a common word in a
  // long history costs time in proportion to the history; the newest
  // matches are found in rowid order and stop the scan early.
  std::int64_t ranked_matches = 0;
};

struct SearchHit {
  Message message;
  std::string snippet;  // plain text around the matches
  // [start, end) ranges in code points of `snippet` that matched.
  std::vector<std::pair<std::int64_t, std::int64_t>> highlights;
};

struct SearchPage {
  std::vector<SearchHit> hits;
  bool has_more = false;
  bool timed_out = false;
  MessageId max_id = 0;  // the snapshot used (query.max_id, or the newest id when that was 0)
};

}  // namespace parley::storage
