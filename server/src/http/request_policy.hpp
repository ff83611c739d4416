// The HTTP server's per-request decisions, apart from its sockets: the limits
// a request is parsed under, which framings are refused, what a read error is
// answered with, and how a parsed request reaches its route. The server
// (http/server.cpp) and the HTTP fuzz target (tests/fuzz/) both call these,
// so what is fuzzed is what serves.
//
// Thread-safety: free functions without shared state; dispatch() may run on
// any thread that the router's handlers allow (all of them, see router.hpp).
#pragma once

#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include "core/config.hpp"
#include "core/error.hpp"
#include "http/message.hpp"

namespace parley::http {

class Router;
struct Route;

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using RequestMessage = boost::beast::http::request<boost::beast::http::string_body>;

// The route label of a request that matched no route (404, 405, malformed
// target, unreadable request): one value, so that raw paths never become
// metrics labels.
inline constexpr std::string_view kUnmatchedRoute = "other";

// Sets the header and body limits of `options` on a fresh parser.
void apply_limits(RequestParser& parser, const HttpOptions& options);

// Checks how a request whose header has been read says its body is framed,
// before any of the body is read. Returns an error when the framing is
// ambiguous, and then the connection must be closed after the 400 (RFC 9112
// §6.3): the bytes after the header cannot be told apart from a next request,
// and a proxy in front may have split them differently (request smuggling).
// Refused:
//   - Transfer-Encoding other than a single "chunked" (a final coding that is
//     not chunked leaves the body length unknown; no other coding is
//     implemented),
//   - Transfer-Encoding in an HTTP/1.0 request,
//   - Transfer-Encoding together with Content-Length,
//   - more than one Content-Length, or one that is not a plain decimal number.
// Beast refuses some of these itself (conflicting Content-Length values,
// chunked with Content-Length) and accepts others; this check does not rely
// on which.
[[nodiscard]] std::optional<ApiError> check_framing(const RequestParser& parser);

// Once the header is read, before any of the body: refuses a Content-Length
// over `limit` (413; the body is left unread and the connection closes) and
// limits the rest of the body to `limit` bytes. The header is read under a
// body limit large enough for every route (the route, and so its limit, is
// known only once the header is), so this must be called before the body is
// read.
[[nodiscard]] std::optional<ApiError> limit_body(RequestParser& parser, std::uint64_t limit);

// What to do after reading a request failed with `error`.
struct ReadFailure {
  // The response to send before closing, or none: the peer went away or
  // timed out, and nothing is sent.
  std::optional<ApiError> answer;
  // The request's body was left unread; it is drained briefly before closing
  // so that the peer can read the response (see server.cpp).
  bool body_unread = false;
};
[[nodiscard]] ReadFailure classify_read_error(boost::system::error_code error, const HttpOptions& options);

// Builds the handler's Request from a parsed message (target percent-decoded,
// split into path and query), matches it against `router` and runs the
// route's handler. Every ApiError becomes its error response; any other
// exception a logged 500. Sets `route_label` to the matched pattern, or
// leaves it alone when no route matched. `message` must outlive the
// returned awaitable.
boost::asio::awaitable<Response> dispatch(const Router& router, const RequestMessage& message, std::string remote,
                                          std::string& route_label);

// The same for a request whose handler reads the body itself from `body`
// (a streaming route; see streaming_route). `header` and `body` must
// outlive the returned awaitable.
using RequestHeader = boost::beast::http::request_header<>;
boost::asio::awaitable<Response> dispatch_streaming(const Router& router, const RequestHeader& header,
                                                    BodyReader& body, std::string remote, std::string& route_label);

// The streaming route that a request with this header goes to, or nullptr
// when it goes to an ordinary route (or to none: dispatch answers it).
[[nodiscard]] const Route* streaming_route(const Router& router, const RequestHeader& header);

}  // namespace parley::http
