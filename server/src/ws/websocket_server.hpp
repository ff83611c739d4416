// The WebSocket endpoint (/ws): authenticates a device, brings it up to date
// from its last position, then carries messages and events both ways. The
// protocol is written down in docs/protocol.md.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "core/config.hpp"

namespace parley::api {
struct Services;
}
namespace parley::http {
struct Upgrade;
}
namespace parley::realtime {
class Hub;
class Presence;
}  // namespace parley::realtime

namespace parley::ws {

class ConnectionLimits;

struct Context {
  api::Services& services;
  realtime::Hub& hub;
  realtime::Presence& presence;
  const WebSocketOptions& options;
  ConnectionLimits& limits;  // per user, session and address (ws/connection_limits.hpp)
};

// Takes one upgraded connection through the WebSocket handshake and the
// hello, then leaves it to a session that lives as long as the connection.
// Refuses the upgrade (HTTP 429 too_many_requests) when the client address
// or the user authenticated by the upgrade request holds its cap of
// connections already; closes with 4429 when the user authenticated by the
// hello frame does.
boost::asio::awaitable<void> serve(http::Upgrade upgrade, Context& context);

}  // namespace parley::ws
