// HTTP/1.1 requests to parleyd over Beast, as coroutines on the engine's
// io_context. One connection per request: the engine's REST traffic is
// light (the WebSocket carries the stream), and a fresh connection never
// inherits a half-broken one.
//
// Every wait is bounded (connect, write, read: `timeout` in all), and every
// reply is bounded (protocol::kMaxRestBodyBytes; downloads stream to a file
// and are bounded by the caller's size).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "parley/account.hpp"
#include "parley/error.hpp"
#include "parley/types.hpp"

namespace parley::rest {

// The OpenSSL client context of a TLS endpoint (rest/tls.hpp). Opaque here,
// so that the engine's widely included headers stay free of OpenSSL's.
struct TlsContext;

struct Endpoint {
  std::string host;
  std::string port;
  // Set for https:// servers: every connection (REST, WebSocket, media)
  // then runs TLS with this context's trust.
  std::shared_ptr<TlsContext> tls;
};

// "http://host[:port]" (port 80) or "https://host[:port]" (port 443; the
// context is built from `trust`: a CA file that cannot be read is
// Errc::invalid_argument).
Result<Endpoint> parse_server_url(const std::string& url, const TlsTrust& trust = {});

struct Request {
  std::string method = "GET";
  std::string target;
  std::string body;
  std::string content_type = "application/json";
  std::string token;  // Authorization: Bearer, when not empty
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
};

// Throws Failure (Errc::network, Errc::timeout or Errc::bad_response).
boost::asio::awaitable<Reply> perform(const Endpoint& endpoint, Request request, std::chrono::milliseconds timeout);

// GET into `file` (truncated first), reporting progress. Returns the status;
// on a status other than 200 the file holds the error body.
boost::asio::awaitable<int> download(const Endpoint& endpoint, Request request, const std::filesystem::path& file,
                                     std::int64_t max_bytes, std::function<void(Progress)> progress,
                                     std::chrono::milliseconds timeout);

}  // namespace parley::rest
