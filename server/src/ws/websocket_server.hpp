// The WebSocket endpoint (/ws): authenticates a device, brings it up to date
// from its last position, then carries messages and events both ways. The
// protocol is written down in docs/protocol.md.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>

#include "core/config.hpp"

namespace parley::api {
struct Services;
}
namespace parley::http {
struct Upgrade;
struct TlsUpgrade;
}  // namespace parley::http
namespace parley::realtime {
class Hub;
class Presence;
}  // namespace parley::realtime

namespace parley::ws {

class ConnectionLimits;
// What every WebSocket connection shares (the layer's options and timer
// wheel); defined in websocket_server.cpp.
class Transport;

// Makes the Transport for `options`; its timer wheel ticks on `executor`.
std::shared_ptr<Transport> make_transport(boost::asio::any_io_executor executor, const WebSocketOptions& options);

struct Context {
  api::Services& services;
  realtime::Hub& hub;
  realtime::Presence& presence;
  const WebSocketOptions& options;
  ConnectionLimits& limits;  // per user, session and address (ws/connection_limits.hpp)
  Transport* transport;      // make_transport(); outlives every connection
};

// Takes one upgraded connection through the WebSocket handshake and the
// hello, then leaves it to a session that lives as long as the connection.
// Refuses the upgrade (HTTP 429 too_many_requests) when the client address
// or the user authenticated by the upgrade request holds its cap of
// connections already; closes with 4429 when the user authenticated by the
// hello frame does.
// One function per transport (plain TCP, TLS), so that each connection's
// session holds only what its transport needs.
boost::asio::awaitable<void> serve(http::Upgrade upgrade, Context& context);
boost::asio::awaitable<void> serve(http::TlsUpgrade upgrade, Context& context);

// serve() for TLS connections as an HTTP server's upgrade handler, built
// here where the TLS types are complete. `context` must outlive it.
std::function<boost::asio::awaitable<void>(http::TlsUpgrade)> tls_upgrade_handler(Context& context);

}  // namespace parley::ws
