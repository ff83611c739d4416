// The request and response as handlers see them: plain values with no Beast
// types, so that handler files compile without the HTTP machinery.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>

#include "core/error.hpp"
#include "core/unique_fd.hpp"

namespace parley::http {

// The body of a request to a streaming route (Router::add_streaming), read
// as it arrives instead of whole. Belongs to the connection; valid while the
// handler runs, on the connection's strand.
//
// Limits: the route's size limit was checked against Content-Length before
// the handler ran (413 without reading); a chunked body is cut off with
// kPayloadTooLarge as soon as it passes the limit. Each read must arrive
// within the server's read timeout, and after that timeout the body must
// have averaged at least 1 KiB/s: a large upload may take longer than one
// request normally may, as long as it keeps moving.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads the next bytes of the body into `buffer`; returns how many, 0 only
  // at the end of the body. Throws ApiError: kPayloadTooLarge past the limit,
  // kMalformedRequest when the body is malformed or ends before its declared
  // length (the peer closed, or stopped sending for the read timeout).
  virtual boost::asio::awaitable<std::size_t> read_some(std::span<char> buffer) = 0;
  // The declared length (Content-Length), or nullopt for a chunked body.
  [[nodiscard]] virtual std::optional<std::uint64_t> content_length() const = 0;
  // True once the whole body has been read.
  [[nodiscard]] virtual bool done() const = 0;
};

// A response body that is a byte range of an open file: sent with
// sendfile(2) over plain TCP (no copy through user space), and through a
// bounded buffer over TLS. The file must not shrink while it is sent (blobs
// never change).
struct FileBody {
  UniqueFd fd;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Request {
  std::string_view method;        // "GET", "POST", ...
  std::string_view path;          // percent-decoded path without the query
  std::string_view query;         // raw query string after '?', or empty
  std::string_view body;           // empty for streaming routes: see body_stream
  BodyReader* body_stream = nullptr;  // set for streaming routes only
  std::string_view content_type;  // the Content-Type header, or empty
  std::string_view authorization; // the Authorization header, or empty
  std::string_view user_agent;
  // Looks up any header by name, ignoring case (set by the server).
  std::function<std::string_view(std::string_view)> header_lookup;
  std::string remote_address;     // the peer's IP address
  std::map<std::string, std::string, std::less<>> params;  // from {name} route segments

  // The value of a route parameter; the router guarantees it exists.
  [[nodiscard]] const std::string& param(std::string_view name) const;
  // The value of a header (the first, if repeated), or empty. For the few
  // handlers that read others than the fields above (Range, If-None-Match,
  // Content-Range, ...).
  [[nodiscard]] std::string_view header(std::string_view name) const {
    return header_lookup ? header_lookup(name) : std::string_view();
  }
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is this file range and `body` must be empty. Its
  // Content-Length is the range's length. Shared so that Response stays
  // copyable; the descriptor closes when the response is sent.
  std::shared_ptr<FileBody> file;

  // 200 (or `status`) with `value` serialised as the JSON body.
  static Response json(const boost::json::value& value, int status = 200);
  // 204 with no body.
  static Response no_content();
  // The JSON error body {"error": {"code", "message"}} with the code's status
  // (and Retry-After where the error carries one).
  static Response error(const ApiError& error);
};

}  // namespace parley::http
