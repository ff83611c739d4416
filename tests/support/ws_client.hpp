// A WebSocket client for black-box tests: real sockets, Parley's frames as
// JSON objects, every wait bounded by a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace parley::test {

using namespace std::chrono_literals;

struct WsOptions {
  std::string authorization;  // an Authorization header for the upgrade, if any
  std::string origin;         // an Origin header, if any
  bool deflate = false;       // offer permessage-deflate
};

// The result of a hello: everything up to and including "synced" (or
// "resync_required").
struct Caught {
  boost::json::object welcome;
  std::vector<boost::json::object> events;  // "event" frames, in order
  boost::json::object marker;               // synced or resync_required
  std::int64_t position = 0;
};

class WsClient {
 public:
  // Connects and completes the upgrade. Throws on failure (including an HTTP
  // refusal; see upgrade_status()).
  explicit WsClient(std::uint16_t port, WsOptions options = {});
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  void send(const boost::json::object& frame);
  void send_text(const std::string& text);
  void send_binary(const std::string& bytes);

  // The next frame; throws std::runtime_error on timeout or if the
  // connection closed (closed() then says so).
  boost::json::object next(std::chrono::milliseconds timeout = 5s);
  // Frames until one of `type` arrives, which is returned; the skipped ones
  // are appended to `skipped` if given.
  boost::json::object next_of_type(const std::string& type, std::chrono::milliseconds timeout = 5s,
                                   std::vector<boost::json::object>* skipped = nullptr);
  // True if no frame arrives within `wait`.
  bool quiet_for(std::chrono::milliseconds wait);

  // hello {token, position}, then reads welcome, events and the marker.
  Caught hello(const std::string& token, std::optional<std::int64_t> position = std::nullopt);

  // Sends `frame` and returns the server's answer to it: the ack, ok, pong or
  // error frame carrying its "ref" (a fresh one is added unless the frame
  // has one). Every other frame read meanwhile is appended to `skipped` if
  // given, else dropped. Throws std::runtime_error if no answer comes within
  // `timeout` or the connection closes.
  boost::json::object request(boost::json::object frame, std::vector<boost::json::object>* skipped = nullptr,
                              std::chrono::milliseconds timeout = 10s);

  // Sends and waits for the ack (or error) with this client_id / ref.
  boost::json::object send_message(std::int64_t conversation_id, const std::string& client_id,
                                   const std::string& text, std::chrono::milliseconds timeout = 10s);

  // Waits for the server to close; returns the close code (1006 if the
  // connection dropped without a close frame).
  int wait_closed(std::chrono::milliseconds timeout = 5s);
  [[nodiscard]] bool closed() const { return closed_; }
  [[nodiscard]] int close_code() const { return close_code_; }

  // Closes the TCP connection abruptly (no close frame).
  void drop();

  // The next frame, or nullopt if none arrives within `timeout`; unlike
  // next() (and quiet_for()), a timeout leaves the connection usable: the
  // read stays pending and the next try_next() or next() completes it.
  // Throws std::runtime_error if the connection closed (closed() then says
  // so).
  std::optional<boost::json::object> try_next(std::chrono::milliseconds timeout);
  // The Sec-WebSocket-Extensions header of the server's upgrade response
  // ("" if none): says whether permessage-deflate was negotiated.
  [[nodiscard]] std::string negotiated_extensions() const;
  // The code of the close frame the server sent, 0 if none arrived. Unlike
  // close_code(), it is known even when the close handshake then failed
  // (e.g. the server reset the connection before the client's reply).
  [[nodiscard]] int peer_close_code() const;
  // Stops reading: frames pile up in the kernel buffers, then on the server.
  // (Nothing to call: just don't call next().)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool closed_ = false;
  int close_code_ = 0;
  std::uint64_t next_ref_ = 0;  // request()'s refs: "req-1", "req-2", ...
};

// Sends `text` (with `attachments`, media ids) to a conversation under a new
// client id and returns the acknowledged message id; throws if the server
// answers anything but an ack.
std::int64_t send_text_ok(WsClient& ws, std::int64_t conversation, const std::string& text,
                          boost::json::array attachments = {});
// Sends a frame and fails the test unless the answer is "ok" (`skipped` as
// for WsClient::request).
void expect_ok(WsClient& ws, const boost::json::object& frame, std::vector<boost::json::object>* skipped = nullptr);

// Starts a connection that fails the upgrade; returns the HTTP status.
int refused_upgrade_status(std::uint16_t port, WsOptions options);

}  // namespace parley::test
