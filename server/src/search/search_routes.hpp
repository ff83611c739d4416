// GET /api/v1/search (docs/openapi.yaml "Search"; docs/security.md
// "Search"): full-text search over the messages the caller may read.
#pragma once

#include <cstddef>

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::search {

inline constexpr std::size_t kDefaultResults = 20;
inline constexpr std::size_t kMaxResults = 100;
// Pages reach at most this many results deep: past it, a narrower query.
// Text queries rank the newest this many matches the user may read, so that
// a common word costs the same in a history of a thousand messages or of
// millions (docs/benchmarks.md "Search").
inline constexpr std::size_t kMaxDepth = 1000;
// A search statement is interrupted after this long (503 service_busy).
inline constexpr int kTimeLimitMs = 200;

void register_search_routes(http::Router& router, api::Services& services);

}  // namespace parley::search
