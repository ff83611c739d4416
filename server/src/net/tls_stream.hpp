// The stream type of a TLS connection: Beast's ssl_stream over a tcp_stream
// (for its timeouts), owning a reference to the OpenSSL context it was made
// from. Included only by the translation units that serve connections: it
// pulls in Asio's and OpenSSL's SSL headers.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <memory>
#include <utility>

namespace parley::net {

namespace detail {
// A base class rather than a member so that it is built before the SSL
// stream (which needs the context) and destroyed after it.
struct ContextHolder {
  std::shared_ptr<boost::asio::ssl::context> held_context;
};
}  // namespace detail

class TlsStream : private detail::ContextHolder, public boost::beast::ssl_stream<boost::beast::tcp_stream> {
 public:
  // Wraps an accepted socket; `context` must not be null. The stream keeps
  // the context alive for as long as it exists, whatever a reload does.
  TlsStream(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> context)
      : ContextHolder{std::move(context)}, ssl_stream(boost::beast::tcp_stream(std::move(socket)), *held_context) {}

  TlsStream(TlsStream&&) = default;
  TlsStream& operator=(TlsStream&&) = delete;
};

// A WebSocket's closing handshake ends with the TLS one (close_notify).
// Beast provides this for its ssl_stream; these overloads make it apply to
// the derived class too (Beast's catch-all template would match better).
template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, TlsStream& stream, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, static_cast<boost::beast::ssl_stream<boost::beast::tcp_stream>&>(stream),
                 std::forward<TeardownHandler>(handler));
}

inline void teardown(boost::beast::role_type role, TlsStream& stream, boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, static_cast<boost::beast::ssl_stream<boost::beast::tcp_stream>&>(stream), ec);
}

}  // namespace parley::net
