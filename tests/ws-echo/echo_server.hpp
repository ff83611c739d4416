// An echo server on Parley's WebSocket layer (server/src/wsproto), not part
// of parleyd: every text or binary message comes back as it came, so that
// conformance suites (Autobahn|Testsuite's fuzzingclient, see README.md) and
// the tests beside it can exercise the layer over real sockets.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "wsproto/connection.hpp"
#include "wsproto/timer_wheel.hpp"

namespace parley::ws_echo {

class EchoServer {
 public:
  // Listens on `address`:`port` (0: any free port) of `io`; serves once
  // start()ed. `options` must outlive the server.
  // `handler` replaces the echo (tests give their own).
  EchoServer(boost::asio::io_context& io, const std::string& address, std::uint16_t port,
             const wsproto::ConnectionOptions& options, std::shared_ptr<wsproto::SessionHandler> handler = nullptr);

  void start();
  // Stops accepting and the timer wheel; connections end as io stops.
  void stop();

  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] wsproto::TimerWheel& wheel() { return wheel_; }
  // How the connections of the echo handler ended, for tests: waits until
  // `count` have ended or `timeout` passed; the last one's close code and
  // error (close_code::kAbnormal and the error for a cut connection).
  struct Closed {
    std::uint64_t count = 0;
    std::uint16_t code = 0;
    boost::system::error_code error;
  };
  [[nodiscard]] Closed wait_closed(std::uint64_t count, std::chrono::milliseconds timeout) const;

 private:
  struct Stats {
    std::mutex mutex;
    std::condition_variable changed;
    Closed closed;
  };
  void accept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  const wsproto::ConnectionOptions& options_;
  wsproto::TimerWheel wheel_;
  std::shared_ptr<Stats> stats_ = std::make_shared<Stats>();
  std::shared_ptr<wsproto::SessionHandler> handler_;
};

}  // namespace parley::ws_echo
