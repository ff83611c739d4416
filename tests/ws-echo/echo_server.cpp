#include "echo_server.hpp"

#include <boost/asio/strand.hpp>
#include <functional>

namespace parley::ws_echo {
namespace {

namespace asio = boost::asio;
using wsproto::Opcode;

class Echo final : public wsproto::SessionHandler {
 public:
  Echo(const wsproto::ConnectionOptions& options, std::function<void(std::uint16_t, boost::system::error_code)> closed)
      : options_(options), closed_(std::move(closed)) {}

  void on_message(wsproto::Session& session, Opcode opcode, std::string&& payload) override {
    session.send(
        wsproto::PreparedMessage::make(opcode, std::move(payload), {.fragment_bytes = options_.fragment_bytes}));
  }
  void on_closed(wsproto::Session&, std::uint16_t code, boost::system::error_code ec) override { closed_(code, ec); }

 private:
  const wsproto::ConnectionOptions& options_;
  std::function<void(std::uint16_t, boost::system::error_code)> closed_;
};

}  // namespace

EchoServer::EchoServer(asio::io_context& io, const std::string& address, std::uint16_t port,
                       const wsproto::ConnectionOptions& options, std::shared_ptr<wsproto::SessionHandler> handler)
    : io_(io),
      acceptor_(io, {asio::ip::make_address(address), port}),
      options_(options),
      wheel_(io.get_executor(), std::chrono::milliseconds(100)),
      handler_(std::move(handler)) {
  if (!handler_) {
    handler_ = std::make_shared<Echo>(options_, [stats = stats_](std::uint16_t code, boost::system::error_code ec) {
      std::lock_guard lock(stats->mutex);
      ++stats->closed.count;
      stats->closed.code = code;
      stats->closed.error = ec;
      stats->changed.notify_all();
    });
  }
}

EchoServer::Closed EchoServer::wait_closed(std::uint64_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(stats_->mutex);
  stats_->changed.wait_for(lock, timeout, [&] { return stats_->closed.count >= count; });
  return stats_->closed;
}

void EchoServer::start() {
  wheel_.start();
  accept();
}

void EchoServer::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  wheel_.stop();
}

void EchoServer::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      std::make_shared<wsproto::Connection<asio::ip::tcp::socket>>(std::move(socket), options_, wheel_, handler_)
          ->run();
    }
    accept();
  });
}

}  // namespace parley::ws_echo
