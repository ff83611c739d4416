// The WebSocket layer over real sockets: the echo server on one side, and
// on the other Beast's WebSocket client (an independent implementation of
// RFC 6455 and RFC 7692) or a raw TCP socket for what no correct client
// would send.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <mutex>
#include <thread>

#include "echo_server.hpp"
#include "wsproto/test_frames.hpp"

namespace parley::ws_echo {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using namespace std::chrono_literals;

// The echo server on its own thread, for the length of a test.
class Server {
 public:
  explicit Server(wsproto::ConnectionOptions options = {}, std::shared_ptr<wsproto::SessionHandler> handler = nullptr)
      : options_(std::move(options)), server_(io_, "127.0.0.1", 0, options_, std::move(handler)) {
    server_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Server() {
    asio::post(io_, [this] { server_.stop(); });
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() { return server_.port(); }
  EchoServer& echo() { return server_; }

 private:
  asio::io_context io_;
  wsproto::ConnectionOptions options_;
  EchoServer server_;
  std::thread thread_;
};

struct Client {
  asio::io_context io;
  websocket::stream<tcp::socket> ws{io};
  explicit Client(std::uint16_t port, bool deflate = false, bool client_takeover = true) {
    if (deflate) {
      websocket::permessage_deflate pmd;
      pmd.client_enable = true;
      pmd.client_no_context_takeover = !client_takeover;
      ws.set_option(pmd);
    }
    ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    ws.handshake("localhost", "/");
  }
  std::string echo(const std::string& message, bool binary = false) {
    ws.binary(binary);
    ws.write(asio::buffer(message));
    beast::flat_buffer buffer;
    ws.read(buffer);
    EXPECT_EQ(ws.got_binary(), binary);
    return beast::buffers_to_string(buffer.data());
  }
};

// A raw TCP client that has done the opening handshake.
struct RawClient {
  asio::io_context io;
  tcp::socket socket{io};
  std::string response;
  explicit RawClient(std::uint16_t port, std::string request = {}) {
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    if (request.empty()) {
      request =
          "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    }
    asio::write(socket, asio::buffer(request));
    asio::streambuf buf;
    asio::read_until(socket, buf, "\r\n\r\n");
    response = std::string(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
    // Anything after the response's end is kept for read_all.
    auto end = response.find("\r\n\r\n") + 4;
    rest = response.substr(end);
    response.resize(end);
  }
  void send(const std::string& bytes) { asio::write(socket, asio::buffer(bytes)); }
  // Everything until the server closes the connection.
  std::string read_all() {
    std::string out = rest;
    boost::system::error_code ec;
    char buf[4096];
    while (true) {
      std::size_t n = socket.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }
  std::string rest;
};

TEST(EchoServer, TextAndBinaryMessagesComeBack) {
  Server server;
  Client client(server.port());
  EXPECT_EQ(client.echo("Hello, world!"), "Hello, world!");
  EXPECT_EQ(client.echo(""), "");
  std::string binary(200'000, '\0');
  for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7);
  EXPECT_EQ(client.echo(binary, true), binary);
  std::string utf8 = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 \xf0\x9f\x98\x80";
  EXPECT_EQ(client.echo(utf8), utf8);
}

TEST(EchoServer, FragmentedMessagesAreAssembled) {
  Server server;
  Client client(server.port());
  client.ws.auto_fragment(true);
  client.ws.write_buffer_bytes(256);  // Beast's smallest frames
  std::string message(10'000, 'f');
  EXPECT_EQ(client.echo(message), message);
}

TEST(EchoServer, ServerFragmentsLargeMessagesWhenAsked) {
  wsproto::ConnectionOptions options;
  options.fragment_bytes = 1300;
  Server server(options);
  RawClient raw(server.port());
  raw.send(wsproto::testing::binary(std::string(3000, 'x')) + wsproto::testing::close(1000));
  std::string bytes = raw.read_all();
  // Three frames of 1300, 1300 and 400 bytes, then the close frame.
  ASSERT_GE(bytes.size(), 3000u + 3 * 4 + 4);
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[0]), 0x02);  // binary, no FIN
  std::size_t second = 4 + 1300;
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[second]), 0x00);                // continuation
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[2 * second]), 0x80);            // continuation, FIN
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[2 * second + 4 + 400]), 0x88);  // close
}

TEST(EchoServer, CompressedMessagesWithoutContextTakeover) {
  wsproto::ConnectionOptions options;
  options.deflate.enabled = true;
  Server server(options);
  Client client(server.port(), true);
  std::string message;
  for (int i = 0; i < 500; ++i) message += "{\"type\":\"message.new\",\"n\":" + std::to_string(i) + "} ";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.echo(message), message);
  EXPECT_EQ(client.echo("short"), "short");  // left uncompressed by the server
  EXPECT_EQ(client.echo(std::string(100'000, 'b'), true), std::string(100'000, 'b'));
}

TEST(EchoServer, CompressedMessagesWithContextTakeover) {
  wsproto::ConnectionOptions options;
  options.deflate.enabled = true;
  options.deflate.context_takeover = true;
  Server server(options);
  Client client(server.port(), true, true);
  std::string message;
  for (int i = 0; i < 100; ++i) message += "repeated text " + std::to_string(i % 7) + ";";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.echo(message), message);
}

// Autobahn 13.x in small: the client asks for smaller windows and for no
// context takeover in every combination; the server allows context
// takeover or not.
TEST(EchoServer, CompressedMessagesUnderEveryNegotiatedWindow) {
  for (bool server_takeover : {false, true}) {
    wsproto::ConnectionOptions options;
    options.deflate.enabled = true;
    options.deflate.context_takeover = server_takeover;
    Server server(options);
    for (int bits : {9, 12, 15}) {
      for (bool client_takeover : {false, true}) {
        SCOPED_TRACE(::testing::Message() << "server takeover " << server_takeover << ", bits " << bits
                                          << ", client takeover " << client_takeover);
        asio::io_context io;
        websocket::stream<tcp::socket> ws(io);
        websocket::permessage_deflate pmd;
        pmd.client_enable = true;
        pmd.client_max_window_bits = bits;
        pmd.server_max_window_bits = bits;
        pmd.client_no_context_takeover = !client_takeover;
        pmd.server_no_context_takeover = !client_takeover;
        ws.set_option(pmd);
        ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), server.port()});
        ws.handshake("localhost", "/");
        for (int i = 0; i < 4; ++i) {
          std::string message;
          for (int k = 0; k < 300; ++k)
            message += "message " + std::to_string(i) + " part " + std::to_string(k % 13) + ";";
          ws.write(asio::buffer(message));
          beast::flat_buffer buffer;
          ws.read(buffer);
          EXPECT_EQ(beast::buffers_to_string(buffer.data()), message);
        }
        ws.close(websocket::close_code::normal);
      }
    }
  }
}

TEST(EchoServer, NegotiatesPermessageDeflateInTheHandshake) {
  wsproto::ConnectionOptions options;
  options.deflate.enabled = true;
  Server server(options);
  RawClient raw(server.port(),
                "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n");
  EXPECT_NE(raw.response.find("HTTP/1.1 101"), std::string::npos);
  // RFC 6455 §1.3's worked example.
  EXPECT_NE(raw.response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
  EXPECT_NE(raw.response.find("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                              "client_no_context_takeover; client_max_window_bits=15"),
            std::string::npos);
}

TEST(EchoServer, RefusesInvalidHandshakes) {
  Server server;
  RawClient no_key(server.port(),
                   "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_EQ(no_key.response.rfind("HTTP/1.1 400", 0), 0u) << no_key.response;
  RawClient old_version(server.port(),
                        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
  EXPECT_EQ(old_version.response.rfind("HTTP/1.1 426", 0), 0u);
  EXPECT_NE(old_version.response.find("Sec-WebSocket-Version: 13"), std::string::npos);
  RawClient post(server.port(),
                 "POST / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_EQ(post.response.rfind("HTTP/1.1 400", 0), 0u);
}

TEST(EchoServer, ClientCloseIsAnsweredWithTheSameCode) {
  Server server;
  Client client(server.port());
  EXPECT_EQ(client.echo("before"), "before");
  client.ws.close(websocket::close_reason(websocket::close_code::going_away, "bye"));
  auto closed = server.echo().wait_closed(1, 5s);
  EXPECT_EQ(closed.count, 1u);
  EXPECT_EQ(closed.code, 1001);
  EXPECT_FALSE(closed.error);
}

TEST(EchoServer, PingsAreAnsweredBeforeLaterMessages) {
  Server server;
  Client client(server.port());
  std::vector<std::string> pongs;
  client.ws.control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::pong) pongs.emplace_back(payload);
  });
  client.ws.ping("are you there");
  EXPECT_EQ(client.echo("after the ping"), "after the ping");
  EXPECT_EQ(pongs, std::vector<std::string>{"are you there"});
}

TEST(EchoServer, ProtocolErrorsCloseWith1002) {
  Server server;
  RawClient raw(server.port());
  raw.send(wsproto::testing::frame({.opcode = 1, .payload = "unmasked", .masked = false}));
  std::string bytes = raw.read_all();  // the close frame, then the server's end of TCP
  raw.socket.close();
  ASSERT_GE(bytes.size(), 4u);
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[0]), 0x88);
  EXPECT_EQ((static_cast<std::uint8_t>(bytes[2]) << 8) | static_cast<std::uint8_t>(bytes[3]), 1002);
  auto closed = server.echo().wait_closed(1, 5s);
  EXPECT_EQ(closed.error, wsproto::Error::kUnmaskedFrame);
}

TEST(EchoServer, InvalidUtf8ClosesWith1007) {
  Server server;
  Client client(server.port());
  client.ws.write(asio::buffer(std::string("\xed\xa0\x80")));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  client.ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(client.ws.reason().code, 1007);
}

TEST(EchoServer, TooBigMessagesCloseWith1009) {
  wsproto::ConnectionOptions options;
  options.limits.max_message_bytes = 1000;
  Server server(options);
  Client client(server.port());
  EXPECT_EQ(client.echo(std::string(1000, 'a')), std::string(1000, 'a'));
  client.ws.write(asio::buffer(std::string(1001, 'a')));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  client.ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(client.ws.reason().code, 1009);
}

// A handler that closes the connection when told "bye", and sends a flood
// when told "flood".
struct Closer : wsproto::SessionHandler {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<std::uint16_t> code;
  boost::system::error_code error;
  void on_message(wsproto::Session& session, wsproto::Opcode, std::string&& payload) override {
    if (payload == "bye") session.close(4000, "bye now");
    if (payload == "flood") {
      auto chunk = wsproto::PreparedMessage::make(wsproto::Opcode::kBinary, std::string(64 * 1024, 'x'));
      for (int i = 0; i < 2000; ++i) session.send(chunk);
    }
  }
  void on_closed(wsproto::Session&, std::uint16_t c, boost::system::error_code ec) override {
    std::lock_guard lock(mutex);
    code = c;
    error = ec;
    changed.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, 10s, [&] { return code.has_value(); });
  }
};

TEST(EchoServer, ServerCloseHandshake) {
  auto closer = std::make_shared<Closer>();
  Server server({}, closer);
  Client client(server.port());
  client.ws.write(asio::buffer(std::string("bye")));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  client.ws.read(buffer, ec);  // Beast answers the close frame and ends
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(client.ws.reason().code, 4000);
  EXPECT_EQ(client.ws.reason().reason, "bye now");
  closer->wait();
  EXPECT_EQ(closer->code, 4000);
  EXPECT_FALSE(closer->error);
}

TEST(EchoServer, ServerCloseTimesOutWhenThePeerNeverAnswers) {
  auto closer = std::make_shared<Closer>();
  wsproto::ConnectionOptions options;
  options.close_timeout = 300ms;
  Server server(options, closer);
  RawClient raw(server.port());
  raw.send(wsproto::testing::text("bye"));
  std::string bytes = raw.read_all();  // the close frame, then the end: never answered
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[0]), 0x88);
  closer->wait();
  EXPECT_EQ(closer->error, wsproto::Error::kTimeout);
}

TEST(EchoServer, APeerThatDoesNotReadIsCutOff) {
  auto closer = std::make_shared<Closer>();
  wsproto::ConnectionOptions options;
  options.max_queued_bytes = 1 << 20;
  Server server(options, closer);
  RawClient raw(server.port());
  raw.send(wsproto::testing::text("flood"));  // 125 MiB that this client never reads
  closer->wait();
  EXPECT_EQ(closer->error, wsproto::Error::kQueueFull);
}

// Pauses reading at "pause"; counts the other messages and answers
// "count" with their number.
class Pauser final : public wsproto::SessionHandler {
 public:
  void on_message(wsproto::Session& session, wsproto::Opcode, std::string&& payload) override {
    auto& connection = static_cast<wsproto::Connection<tcp::socket>&>(session);
    if (payload == "pause") {
      connection.pause_reading();
      {
        std::lock_guard lock(mutex_);
        paused_ = connection.shared_from_this();
      }
      connection.send_message(wsproto::Opcode::kText, "paused");
    } else if (payload == "count") {
      connection.send_message(wsproto::Opcode::kText, std::to_string(count_.load()));
    } else {
      ++count_;
    }
  }
  std::size_t count() const { return count_; }
  // From the test's thread: reading goes on.
  void resume() {
    std::shared_ptr<wsproto::Connection<tcp::socket>> connection;
    {
      std::lock_guard lock(mutex_);
      connection = std::move(paused_);
    }
    asio::post(connection->stream().get_executor(), [connection] { connection->resume_reading(); });
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<wsproto::Connection<tcp::socket>> paused_;
  std::atomic<std::size_t> count_{0};
};

TEST(EchoServer, PausedReadingLeavesThePeersFramesInTheSocketUntilResumed) {
  auto pauser = std::make_shared<Pauser>();
  Server server({}, pauser);
  Client client(server.port());
  EXPECT_EQ(client.echo("pause"), "paused");
  // The server reads nothing now: the peer's writes fill the socket
  // buffers and then would block. Without the pause they never would.
  auto& socket = client.ws.next_layer();
  socket.non_blocking(true);
  const std::string frame = wsproto::testing::text(std::string(1000, 'p'));
  std::size_t frames = 0, partial = 0;
  bool blocked = false;
  for (std::size_t sent = 0; sent < (64u << 20);) {
    boost::system::error_code ec;
    std::size_t n = socket.write_some(asio::buffer(frame), ec);
    if (ec == asio::error::would_block) {
      blocked = true;
      break;
    }
    ASSERT_FALSE(ec) << ec.message();
    sent += n;
    if (n == frame.size()) {
      ++frames;
    } else {
      // The rest of a partly written frame, blocking, once resumed.
      partial = frame.size() - n;
      break;
    }
  }
  ASSERT_TRUE(blocked || partial > 0) << "64 MiB written to a connection that does not read";
  EXPECT_EQ(pauser->count(), 0u) << "frames were read while paused";
  pauser->resume();
  socket.non_blocking(false);
  if (partial > 0) {
    asio::write(socket, asio::buffer(frame.data() + frame.size() - partial, partial));
    ++frames;
  }
  // Every frame written before and during the pause arrives, in order,
  // before "count".
  EXPECT_EQ(client.echo("count"), std::to_string(frames));
}

// Makes a wait for readable data complete just before a write ends the
// connection. Told "go", it waits for the socket to be writable, then
// holds the server's thread until the peer has sent more and reset the
// connection. The reactor's next round then finds the socket both
// writable and readable, and completes the write wait first (Asio's epoll
// reactor runs a descriptor's write operations before its reads): its
// handler writes, the write fails and closes the socket, and only then
// does the connection's own read wait complete.
class ResetRace final : public wsproto::SessionHandler {
 public:
  void on_message(wsproto::Session& session, wsproto::Opcode, std::string&& payload) override {
    if (payload != "go") return;
    auto connection =
        std::static_pointer_cast<wsproto::Connection<tcp::socket>>(
            static_cast<wsproto::Connection<tcp::socket>&>(session).shared_from_this());
    auto executor = connection->stream().get_executor();
    connection->stream().async_wait(
        tcp::socket::wait_write, asio::bind_executor(executor, [connection](boost::system::error_code) {
          connection->send_message(wsproto::Opcode::kText, "after the reset");
        }));
    std::unique_lock lock(mutex_);
    holding_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return reset_; });
  }
  void on_closed(wsproto::Session&, std::uint16_t, boost::system::error_code ec) override {
    std::lock_guard lock(mutex_);
    ++closed_;
    error_ = ec;
    changed_.notify_all();
  }
  void wait_holding() {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(changed_.wait_for(lock, 10s, [&] { return holding_; }));
  }
  void peer_reset() {
    std::lock_guard lock(mutex_);
    reset_ = true;
    changed_.notify_all();
  }
  // How many times the connection reported its end, once it has.
  int wait_closed(boost::system::error_code& error) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 10s, [&] { return closed_ > 0; });
    error = error_;
    return closed_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool holding_ = false;
  bool reset_ = false;
  int closed_ = 0;
  boost::system::error_code error_;
};

// A read whose wait completed as a failed write ended the connection finds
// the socket closed: it ends quietly (the server's thread once died of an
// exception there, taking the whole process with it).
TEST(EchoServer, AReadReadyAsAWriteFailsEndsQuietly) {
  auto race = std::make_shared<ResetRace>();
  Server server({}, race);
  RawClient raw(server.port());
  raw.send(wsproto::testing::text("go"));
  race->wait_holding();
  raw.send(wsproto::testing::text("more"));
  raw.socket.set_option(asio::socket_base::linger(true, 0));  // close with a reset
  raw.socket.close();
  race->peer_reset();
  boost::system::error_code error;
  ASSERT_EQ(race->wait_closed(error), 1);
  EXPECT_TRUE(error) << "a connection reset by its peer ended cleanly";
  // The server's thread lives on: another client gets its handshake answered.
  RawClient next(server.port());
  EXPECT_NE(next.response.find("101"), std::string::npos) << next.response;
}

TEST(EchoServer, IdleConnectionsArePingedThenCut) {
  wsproto::ConnectionOptions options;
  options.idle_timeout = 600ms;
  Server server(options);
  RawClient raw(server.port());
  std::string bytes = raw.read_all();  // a ping after ~300 ms, then the end
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[0]), 0x89);
  auto closed = server.echo().wait_closed(1, 5s);
  EXPECT_EQ(closed.error, wsproto::Error::kTimeout);
}

TEST(EchoServer, PongsKeepAConnectionAlive) {
  wsproto::ConnectionOptions options;
  // Pings every 500 ms; a pong may take up to 500 ms on a loaded machine.
  options.idle_timeout = 1000ms;
  Server server(options);
  Client client(server.port());  // Beast answers pings while it reads
  std::atomic<int> pings{0};
  client.ws.control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) ++pings;
  });
  // Three pings answered means the connection outlived its idle limit (a
  // connection that does not answer is cut after one ping).
  beast::flat_buffer buffer;
  client.ws.async_read(buffer, [](boost::system::error_code, std::size_t) {});
  while (pings < 3 && client.io.run_one()) {
  }
  EXPECT_EQ(pings.load(), 3);
  EXPECT_EQ(server.echo().wait_closed(1, 0ms).count, 0u);
}

TEST(EchoServer, HandshakeMustComeInTime) {
  wsproto::ConnectionOptions options;
  options.handshake_timeout = 300ms;
  Server server(options);
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  char byte;
  boost::system::error_code ec;
  socket.read_some(asio::buffer(&byte, 1), ec);  // nothing sent: the server ends it
  EXPECT_EQ(ec, asio::error::eof);
}

}  // namespace
}  // namespace parley::ws_echo
