// Handing a connection over from HTTP to another protocol (WebSocket).
// Included only by the HTTP server and the protocol that takes over, so that
// Beast's HTTP types stay out of everything else.
//
// A connection is plain TCP (beast::tcp_stream) or TLS (net::TlsStream, see
// net/tls_stream.hpp); each has its own Upgrade type and handler, so that
// the plain path carries nothing of TLS.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/message.hpp"

namespace parley::net {
class TlsStream;
}

namespace parley::http {

template <class Stream>
struct BasicUpgrade {
  // The connection, now owned by the handler: the HTTP server has let go of
  // it and of everything it held for it.
  Stream stream;
  boost::beast::http::request<boost::beast::http::string_body> request;
  std::string remote_address;
  // For the request metrics, which the handler records once it knows the
  // outcome (101, or the status it refused the upgrade with).
  std::string route;
  std::chrono::steady_clock::time_point started;
  // The connection's place in http.max_connections: the handler keeps it as
  // long as the connection lives, so that upgraded connections count too.
  std::shared_ptr<void> slot;
};

// Classes rather than aliases, so that other headers can declare them.
// TlsUpgrade is defined in http/tls_upgrade.hpp, away from the files that
// do not need the SSL headers.
struct Upgrade : BasicUpgrade<boost::beast::tcp_stream> {};
struct TlsUpgrade;

// Writes `response` on the stream (to refuse an upgrade with a JSON error).
boost::asio::awaitable<void> write_response(boost::beast::tcp_stream& stream, Response response, bool keep_alive);
boost::asio::awaitable<void> write_response(net::TlsStream& stream, Response response, bool keep_alive);

}  // namespace parley::http
