// Conditional requests (RFC 9110 §13): the one check every cached resource
// of parleyd needs.
//
// Thread safety: pure functions.
#pragma once

#include <string_view>

namespace parley::http {

// True when an If-None-Match header value (`*` or a comma-separated list of
// entity tags) matches `etag`, compared weakly as §13.1.2 says for GET and
// HEAD: `W/"x"` matches `"x"`. Empty header: false.
[[nodiscard]] bool if_none_match(std::string_view header, std::string_view etag);

}  // namespace parley::http
