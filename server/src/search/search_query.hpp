// Parsing the text of a search (GET /api/v1/search?q=...). The user's text
// is never handed to FTS5 as is: every word becomes a quoted FTS5 string
// (with `*` kept only as a trailing prefix marker), phrases become one quoted
// string, and the operators become typed filters. FTS5 syntax in the text
// (NEAR(, column:, ^, AND/OR/NOT, stray quotes) is thereby searched for
// literally; what cannot be searched at all is a 422 validation_failed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/records.hpp"

namespace parley::search {

inline constexpr std::size_t kMaxQueryBytes = 256;
inline constexpr std::size_t kMaxTerms = 16;

struct ParsedQuery {
  std::string match;                // the safe FTS5 MATCH expression; empty: filters only
  std::optional<std::string> from;  // username
  std::optional<std::string> in;    // conversation id or group name
  bool has_file = false;
  bool has_image = false;
  bool mentions_me = false;
  std::optional<UnixMillis> before;      // created before this instant (UTC midnight starting that day)
  std::optional<UnixMillis> not_before;  // `after:D`: created from the UTC midnight ending day D
};

// Throws ApiError(kValidationFailed) for a query too long, with too many
// terms, a bad operator value, or nothing to search for.
ParsedQuery parse_query(std::string_view text);

}  // namespace parley::search
