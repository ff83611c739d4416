#include "search/search_routes.hpp"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/url/params_view.hpp>
#include <charconv>

#include "api/services.hpp"
#include "api/views.hpp"
#include "auth/authenticator.hpp"
#include "core/error.hpp"
#include "http/router.hpp"
#include "search/search_query.hpp"
#include "storage/store.hpp"

namespace parley::search {
namespace {

using boost::asio::awaitable;
using boost::json::array;
using boost::json::object;
using http::Request;
using http::Response;
using storage::Transaction;

std::optional<std::string> param(const Request& request, std::string_view name) {
  boost::urls::params_view params(request.query);
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

bool parse_int(std::string_view text, std::int64_t& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && value >= 0;
}

// The cursor is opaque to clients: "<snapshot id>.<offset>". The snapshot
// (the newest message id when the first page was taken) keeps later messages
// from shifting the pages.
struct Cursor {
  std::int64_t max_id = 0;
  std::int64_t offset = 0;
};

Cursor parse_cursor(std::string_view text) {
  Cursor cursor;
  auto dot = text.find('.');
  if (dot == std::string_view::npos || !parse_int(text.substr(0, dot), cursor.max_id) ||
      !parse_int(text.substr(dot + 1), cursor.offset) || cursor.max_id < 1 || cursor.offset < 1 ||
      cursor.offset > static_cast<std::int64_t>(kMaxDepth)) {
    throw ApiError(ErrorCode::kValidationFailed, "cursor: not a cursor this server returned");
  }
  return cursor;
}

array ranges(const storage::SearchHit& hit) {
  array list;
  for (auto [start, end] : hit.highlights) list.push_back(array{start, end});
  return list;
}

class SearchRoutes {
 public:
  explicit SearchRoutes(api::Services& services) : s_(services) {}

  awaitable<Response> search(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto q = param(request, "q");
    if (!q) throw ApiError(ErrorCode::kValidationFailed, "q: required");
    ParsedQuery parsed = parse_query(*q);
    std::int64_t limit = kDefaultResults;
    if (auto text = param(request, "limit")) {
      if (!parse_int(*text, limit) || limit < 1 || limit > static_cast<std::int64_t>(kMaxResults)) {
        throw ApiError(ErrorCode::kValidationFailed, fmt::format("limit: must be 1 to {}", kMaxResults));
      }
    }
    Cursor cursor;
    if (auto text = param(request, "cursor")) cursor = parse_cursor(*text);

    auto result = s_.store.read([&](Transaction& tx) -> std::optional<object> {
      storage::SearchQuery query;
      query.viewer = me.user_id;
      query.match = parsed.match;
      query.has_file = parsed.has_file;
      query.has_image = parsed.has_image;
      query.mentions_viewer = parsed.mentions_me;
      query.before = parsed.before;
      query.not_before = parsed.not_before;
      query.offset = cursor.offset;
      query.limit = std::min<std::int64_t>(limit, static_cast<std::int64_t>(kMaxDepth) - cursor.offset);
      query.max_id = cursor.max_id;
      query.time_limit_ms = kTimeLimitMs;
      query.ranked_matches = static_cast<std::int64_t>(kMaxDepth);
      // Unknown names match nothing rather than fail: whether a user or a
      // group exists is not for the search to tell.
      if (parsed.from) {
        auto user = tx.user_by_username(*parsed.from);
        if (!user) return std::nullopt;
        query.from = user->id;
      }
      if (parsed.in) {
        std::int64_t id = 0;
        if (parse_int(*parsed.in, id)) {
          query.in = id;
        } else {
          for (const auto& summary : tx.conversations_of(me.user_id)) {
            if (summary.conversation.kind == storage::ConversationKind::kGroup &&
                summary.conversation.name == *parsed.in) {
              query.in = summary.conversation.id;
              break;
            }
          }
          if (!query.in) return std::nullopt;
        }
      }
      storage::SearchPage page = query.limit > 0 ? tx.search_messages(query) : storage::SearchPage{};
      if (page.timed_out) {
        throw ApiError(ErrorCode::kServiceBusy, "search took too long: narrow the query (more words, in:, from:)",
                       std::chrono::seconds(1));
      }
      array results;
      for (const auto& hit : page.hits) {
        results.push_back(
            object{{"message", api::message_view(hit.message)}, {"snippet", hit.snippet}, {"highlights", ranges(hit)}});
      }
      object body{{"results", std::move(results)}};
      std::int64_t next = cursor.offset + static_cast<std::int64_t>(page.hits.size());
      if (page.has_more && next < static_cast<std::int64_t>(kMaxDepth)) {
        body["next_cursor"] = fmt::format("{}.{}", page.max_id, next);
      } else {
        body["next_cursor"] = nullptr;
      }
      return body;
    });
    if (!result) result = object{{"results", array{}}, {"next_cursor", nullptr}};
    co_return Response::json(*result);
  }

 private:
  api::Services& s_;
};

}  // namespace

void register_search_routes(http::Router& router, api::Services& services) {
  auto routes = std::make_shared<SearchRoutes>(services);
  router.add("GET", "/api/v1/search", http::member_handler(routes, &SearchRoutes::search));
}

}  // namespace parley::search
