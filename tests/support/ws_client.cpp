#include "support/ws_client.hpp"

#include <atomic>

#include <gtest/gtest.h>

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace parley::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

struct WsClient::Impl {
  asio::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;
  websocket::response_type upgrade_response;
  // try_next(): a read that outlived its timeout stays pending (cancelling a
  // read fails a Beast websocket stream) and the next call resumes it.
  bool read_pending = false;
  bool read_done = false;
  beast::error_code read_result;

  // Runs the io_context until `done` or the timeout; on timeout cancels and
  // throws.
  void run_until(bool& done, std::chrono::milliseconds timeout, const char* what) {
    io.restart();
    io.run_for(timeout);
    if (!done) {
      beast::get_lowest_layer(ws).cancel();
      io.restart();
      io.run();
      if (!done) throw std::runtime_error(std::string("timeout: ") + what);
    }
  }
};

namespace {

void decorate(websocket::stream<beast::tcp_stream>& ws, const WsOptions& options) {
  ws.set_option(websocket::stream_base::decorator([options](websocket::request_type& req) {
    if (!options.authorization.empty()) req.set(beast::http::field::authorization, options.authorization);
    if (!options.origin.empty()) req.set(beast::http::field::origin, options.origin);
  }));
  if (options.deflate) {
    websocket::permessage_deflate deflate;
    deflate.client_enable = true;
    ws.set_option(deflate);
  }
  ws.read_message_max(64 << 20);
}

// A frame the rate limit refused is not read, so its error has no "ref"
// (docs/protocol.md): a helper waiting for the answer to a frame it just
// sent would wait for its whole timeout. Said at once instead.
void throw_if_dropped(const boost::json::object& frame, const std::string& ref) {
  if (frame.at("type").as_string() != "error" || frame.contains("ref")) return;
  if (frame.contains("code") && frame.at("code") == "too_many_requests") {
    throw std::runtime_error("the frame with ref " + ref + " was dropped by the frame rate limit: " +
                             boost::json::serialize(frame));
  }
}

}  // namespace

WsClient::WsClient(std::uint16_t port, WsOptions options) : impl_(std::make_unique<Impl>()) {
  beast::get_lowest_layer(impl_->ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  decorate(impl_->ws, options);
  impl_->ws.handshake(impl_->upgrade_response, "127.0.0.1:" + std::to_string(port), "/ws");
}

WsClient::~WsClient() {
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).socket().close(ignored);
}

void WsClient::send(const boost::json::object& frame) { send_text(boost::json::serialize(frame)); }

void WsClient::send_text(const std::string& text) {
  impl_->ws.text(true);
  impl_->ws.write(asio::buffer(text));
}

void WsClient::send_binary(const std::string& bytes) {
  impl_->ws.binary(true);
  impl_->ws.write(asio::buffer(bytes));
  impl_->ws.text(true);
}

boost::json::object WsClient::next(std::chrono::milliseconds timeout) {
  if (closed_) throw std::runtime_error("connection closed");
  if (impl_->read_pending) {  // a read started by try_next(): finish that one
    if (auto frame = try_next(timeout)) return std::move(*frame);
    beast::get_lowest_layer(impl_->ws).cancel();
    impl_->io.restart();
    impl_->io.run();
    impl_->read_pending = false;
    closed_ = true;
    close_code_ = 1006;
    throw std::runtime_error("connection closed: timeout waiting for a frame");
  }
  impl_->buffer.clear();
  bool done = false;
  beast::error_code result;
  impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  impl_->run_until(done, timeout, "waiting for a frame");
  if (result) {
    closed_ = true;
    close_code_ = result == websocket::error::closed ? impl_->ws.reason().code : 1006;
    throw std::runtime_error("connection closed: " + result.message() + " code " + std::to_string(close_code_));
  }
  return boost::json::parse(beast::buffers_to_string(impl_->buffer.data())).as_object();
}

boost::json::object WsClient::next_of_type(const std::string& type, std::chrono::milliseconds timeout,
                                           std::vector<boost::json::object>* skipped) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("timeout waiting for " + type);
    auto frame = next(left);
    if (frame.at("type").as_string() == type) return frame;
    if (skipped != nullptr) skipped->push_back(std::move(frame));
  }
}

bool WsClient::quiet_for(std::chrono::milliseconds wait) {
  try {
    next(wait);
    return false;
  } catch (const std::runtime_error&) {
    return !closed_;
  }
}

Caught WsClient::hello(const std::string& token, std::optional<std::int64_t> position) {
  boost::json::object hello{{"type", "hello"}, {"token", token}};
  if (position) hello["position"] = *position;
  send(hello);
  Caught caught;
  caught.welcome = next_of_type("welcome");
  for (;;) {
    auto frame = next(10s);
    auto type = frame.at("type").as_string();
    if (type == "event") {
      caught.events.push_back(std::move(frame));
    } else if (type == "synced" || type == "resync_required") {
      caught.position = frame.at("position").as_int64();
      caught.marker = std::move(frame);
      return caught;
    }
  }
}

boost::json::object WsClient::request(boost::json::object frame, std::vector<boost::json::object>* skipped,
                                      std::chrono::milliseconds timeout) {
  if (!frame.contains("ref")) frame["ref"] = "req-" + std::to_string(++next_ref_);
  std::string ref(frame.at("ref").as_string());
  send(frame);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no answer to " + boost::json::serialize(frame));
    auto reply = next(left);
    if (reply.contains("ref") && reply.at("ref").is_string() && reply.at("ref").as_string() == ref) return reply;
    throw_if_dropped(reply, ref);
    if (skipped != nullptr) skipped->push_back(std::move(reply));
  }
}

boost::json::object WsClient::send_message(std::int64_t conversation_id, const std::string& client_id,
                                           const std::string& text, std::chrono::milliseconds timeout) {
  send({{"type", "send"}, {"conversation_id", conversation_id}, {"client_id", client_id}, {"text", text},
        {"ref", client_id}});
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto frame = next(std::max(left, std::chrono::milliseconds(1)));
    auto type = frame.at("type").as_string();
    if ((type == "ack" || type == "error") && frame.contains("ref") && frame.at("ref").as_string() == client_id) {
      return frame;
    }
    throw_if_dropped(frame, client_id);
  }
}

int WsClient::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("the server did not close the connection");
    try {
      next(left);
    } catch (const std::runtime_error&) {
      if (!closed_) throw;
    }
  }
  return close_code_;
}

void WsClient::drop() {
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(impl_->ws).socket().close(ignored);
  closed_ = true;
  close_code_ = 1006;
}

std::optional<boost::json::object> WsClient::try_next(std::chrono::milliseconds timeout) {
  if (closed_) throw std::runtime_error("connection closed");
  if (!impl_->read_pending) {
    impl_->buffer.clear();
    impl_->read_pending = true;
    impl_->read_done = false;
    impl_->ws.async_read(impl_->buffer, [impl = impl_.get()](beast::error_code ec, std::size_t) {
      impl->read_result = ec;
      impl->read_done = true;
    });
  }
  impl_->io.restart();
  impl_->io.run_for(timeout);
  if (!impl_->read_done) return std::nullopt;  // still pending: resumed by the next call
  impl_->read_pending = false;
  if (impl_->read_result) {
    closed_ = true;
    close_code_ = impl_->read_result == websocket::error::closed ? impl_->ws.reason().code : 1006;
    throw std::runtime_error("connection closed: " + impl_->read_result.message() + " code " +
                             std::to_string(close_code_));
  }
  return boost::json::parse(beast::buffers_to_string(impl_->buffer.data())).as_object();
}

std::string WsClient::negotiated_extensions() const {
  return std::string(impl_->upgrade_response[beast::http::field::sec_websocket_extensions]);
}

int WsClient::peer_close_code() const { return impl_->ws.reason().code; }

int refused_upgrade_status(std::uint16_t port, WsOptions options) {
  asio::io_context io;
  websocket::stream<beast::tcp_stream> ws(io);
  beast::get_lowest_layer(ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  decorate(ws, options);
  websocket::response_type response;
  beast::error_code ec;
  ws.handshake(response, "127.0.0.1:" + std::to_string(port), "/ws", ec);
  if (!ec) throw std::runtime_error("the upgrade was accepted");
  return static_cast<int>(response.result_int());
}

std::int64_t send_text_ok(WsClient& ws, std::int64_t conversation, const std::string& text,
                          boost::json::array attachments) {
  static std::atomic<std::int64_t> next_client_id{0};
  boost::json::object frame{{"type", "send"},
                            {"conversation_id", conversation},
                            {"client_id", "c-" + std::to_string(++next_client_id)},
                            {"text", text}};
  if (!attachments.empty()) frame["attachments"] = std::move(attachments);
  auto ack = ws.request(frame);
  if (ack.at("type") != "ack") throw std::runtime_error("send refused: " + boost::json::serialize(ack));
  return ack.at("message_id").as_int64();
}

void expect_ok(WsClient& ws, const boost::json::object& frame, std::vector<boost::json::object>* skipped) {
  auto reply = ws.request(frame, skipped);
  EXPECT_EQ(reply.at("type"), "ok") << boost::json::serialize(frame) << " -> " << boost::json::serialize(reply);
}

}  // namespace parley::test
