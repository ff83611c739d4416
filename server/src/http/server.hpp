// The HTTP/1.1 server: accepts connections and runs one coroutine per
// connection, reading requests under size and time limits and dispatching
// them through the Router.
//
// Limits (HttpOptions): header size (431), body size (413), the time to send
// a whole request, the idle time between keep-alive requests, and the number
// of open connections. A connection that breaks a limit is answered (where a
// response still makes sense) and closed.
//
// With TLS enabled (enable_tls), every connection is TLS: the handshake
// must finish within its own timeout, counts toward max_connections, and a
// plain HTTP request on the port is answered 400 and closed. Responses
// then carry Strict-Transport-Security.
//
// Threading: construct and call listen() before running the io_context on
// several threads; shutdown() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "core/config.hpp"

namespace parley::metrics {
class Metrics;
}

namespace parley::net {
class TlsContexts;
}

namespace parley::http {

class Router;
struct Upgrade;
struct TlsUpgrade;

// Serves a connection that asked to switch protocols, until it ends. It runs
// on the connection's strand and owns the connection.
using UpgradeHandler = std::function<boost::asio::awaitable<void>(Upgrade)>;
// A TlsUpgrade is a complete type only where the SSL headers are included
// (http/tls_upgrade.hpp): such a handler is built there.
using TlsUpgradeHandler = std::function<boost::asio::awaitable<void>(TlsUpgrade)>;

class Server {
 public:
  Server(boost::asio::io_context& io, const HttpOptions& options, const Router& router,
         metrics::Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Requests for `path` that ask for a WebSocket upgrade go to `handler`.
  // Such a connection leaves the HTTP server (and its shutdown drain); the
  // handler's owner closes it at shutdown. Call before listen().
  void set_upgrade_handler(std::string path, UpgradeHandler handler);
  // The same, for connections over TLS (the path is set_upgrade_handler's).
  void set_tls_upgrade_handler(TlsUpgradeHandler handler);

  // Serves every connection over TLS, each with the context `contexts` holds
  // when it is accepted. Call before listen().
  void enable_tls(std::shared_ptr<net::TlsContexts> contexts, const TlsOptions& options);

  // Binds host:port and starts accepting. Port 0 picks a free port. Returns
  // the bound "host:port". Throws boost::system::system_error.
  std::string listen(const std::string& host, std::uint16_t port);

  // Graceful shutdown: stop accepting, close idle connections, let requests in
  // flight finish (their responses say Connection: close), then call
  // `on_drained` once the last connection is gone. Connections still busy
  // after `grace` are closed.
  void shutdown(std::chrono::seconds grace, std::function<void()> on_drained);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley::http
