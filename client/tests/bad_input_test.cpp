// A server that breaks the protocol: the engine reports a clear error
// (Errc::bad_response), applies nothing of the bad frame or reply, keeps its
// position and everything stored, and carries on when the server behaves.
#include <atomic>
#include <list>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "engine_fixture.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

// Answers every REST request with 200 and a body that is not JSON, and
// plays one script per WebSocket connection, in order.
class FakeServer {
 public:
  using Script = std::function<void(websocket::stream<tcp::socket>&, std::int64_t hello_position)>;

  explicit FakeServer(std::vector<Script> scripts) : scripts_(std::move(scripts)) {
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { accept_loop(); });
  }

  ~FakeServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    {
      // A blocking accept() is not woken by close() from another thread: connect to it.
      tcp::socket wake(io_);
      wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
    }
    {
      std::lock_guard lock(mutex_);
      for (auto* socket : open_) socket->shutdown(tcp::socket::shutdown_both, ignored);
    }
    thread_.join();
    acceptor_.close(ignored);
    for (auto& worker : workers_) worker.join();
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  std::vector<std::int64_t> hello_positions() {
    std::lock_guard lock(mutex_);
    return hellos_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      boost::system::error_code error;
      tcp::socket socket(io_);
      acceptor_.accept(socket, error);
      if (error) return;
      workers_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }

  void serve(tcp::socket socket) {
    // Outside the try: still alive when it is taken off the open list below.
    std::optional<websocket::stream<tcp::socket>> ws;
    try {
      {
        std::lock_guard lock(mutex_);
        open_.push_back(&socket);
      }
      beast::flat_buffer buffer;
      http::request<http::string_body> request;
      http::read(socket, buffer, request);
      if (!websocket::is_upgrade(request)) {
        http::response<http::string_body> response{http::status::ok, 11};
        response.set(http::field::content_type, "application/json");
        response.body() = "this is not JSON";
        response.prepare_payload();
        http::write(socket, response);
        forget(&socket);
        return;
      }
      ws.emplace(std::move(socket));
      forget(&socket);
      ws->accept(request);
      beast::flat_buffer frame;
      ws->read(frame);
      const auto hello = json::parse(beast::buffers_to_string(frame.data())).as_object();
      const auto position = hello.contains("position") ? hello.at("position").as_int64() : -1;
      Script script;
      {
        std::lock_guard lock(mutex_);
        hellos_.push_back(position);
        if (next_ < scripts_.size()) script = scripts_[next_++];
      }
      ws->text(true);
      ws->write(asio::buffer(json::serialize(json::object{
          {"type", "welcome"}, {"user_id", 1}, {"session_id", 1}, {"presence", json::array()}, {"limits", json::object()}})));
      if (script) script(*ws, position);
      // Then wait for the engine to go (or the test to end).
      {
        std::lock_guard lock(mutex_);
        open_.push_back(&beast::get_lowest_layer(*ws));
      }
      while (!stopping_) ws->read(frame);
    } catch (const std::exception&) {
      // The engine hung up: expected after every bad script.
    }
    // A read that failed before the upgrade left the socket listed: off the
    // list before it is destroyed, or the destructor shuts down a dead one.
    forget(&socket);
    if (ws) forget(&beast::get_lowest_layer(*ws));
  }

  void forget(tcp::socket* socket) {
    std::lock_guard lock(mutex_);
    open_.remove(socket);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::vector<Script> scripts_;
  std::mutex mutex_;
  std::size_t next_ = 0;
  std::vector<std::int64_t> hellos_;
  std::list<tcp::socket*> open_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::list<std::thread> workers_;
};

void send(websocket::stream<tcp::socket>& ws, const std::string& text) { ws.write(asio::buffer(text)); }

TEST(BadInputTest, MalformedFramesAndRepliesGiveAClearErrorAndLoseNothing) {
  ServerProcess server;
  AliceAndBob users(server);
  auto& [http, alice, bob, direct] = users;
  {
    WsClient ws(server.port());
    ws.hello(bob.token);
    ASSERT_EQ(ws.send_message(direct, "m1", "a real message").at("type").as_string(), "ack");
  }
  TempDir dir;
  Runtime runtime;
  std::string dump_before;
  std::int64_t position = 0;
  {
    auto recorder = std::make_shared<Recorder>();
    auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
    ASSERT_TRUE(recorder->wait_until([&] { return account->history(direct).messages.size() == 1; }));
    dump_before = account->canonical_dump();
    position = account->position();
  }

  const auto message_new = [&](std::int64_t at, bool with_seq) {
    json::object message{{"id", 1000}, {"conversation_id", direct}, {"sender_id", bob.id},
                         {"client_id", "fake-1"}, {"text", "from the fake server"}, {"reply_to", nullptr},
                         {"mentions", json::array()}, {"reactions", json::array()}, {"attachments", json::array()},
                         {"created_at", 1}, {"edited_at", nullptr}, {"deleted", false}, {"sticker", nullptr},
                         {"position", at}};
    if (with_seq) message["seq"] = 2;
    return json::serialize(json::object{
        {"type", "event"}, {"position", at},
        {"event", json::object{{"type", "message.new"}, {"conversation_id", direct}, {"message", message}}}});
  };
  FakeServer fake({
      // Not JSON at all.
      [](auto& ws, std::int64_t) { send(ws, "{this is not json"); },
      // A frame over the engine's 1 MiB limit.
      [](auto& ws, std::int64_t) { send(ws, std::string(2 << 20, ' ')); },
      // A catch-up whose second event lacks a required field: the batch is
      // not applied, not even its first (valid) event.
      [&](auto& ws, std::int64_t at) {
        send(ws, json::serialize(json::object{
                     {"type", "event"}, {"position", at + 1},
                     {"event", json::object{{"type", "receipt.read"}, {"conversation_id", direct},
                                            {"user_id", bob.id}, {"seq", 1}}}}));
        send(ws, message_new(at + 2, false));
        send(ws, json::serialize(json::object{{"type", "synced"}, {"position", at + 2}}));
      },
      // Finally a well-formed catch-up: applied.
      [&](auto& ws, std::int64_t at) {
        send(ws, message_new(at + 2, true));
        send(ws, json::serialize(json::object{{"type", "synced"}, {"position", at + 2}}));
      },
  });

  auto recorder = std::make_shared<Recorder>();
  auto options = options_for(url_of(fake.port()), dir / "alice");
  options.reconnect_min_ms = 10;
  options.reconnect_max_ms = 50;
  auto opened = Account::open(runtime, options);
  ASSERT_TRUE(opened) << opened.error().message;
  auto& account = *opened.value();
  account.set_listener(recorder);
  ASSERT_TRUE(recorder->wait_until([&] { return account.history(direct).messages.size() == 2; }));
  EXPECT_EQ(account.history(direct).messages[1].text, "from the fake server");
  EXPECT_EQ(account.position(), position + 2);

  // Each bad connection resumed from the same position: nothing was skipped.
  const auto hellos = fake.hello_positions();
  ASSERT_GE(hellos.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(hellos[i], position) << i;
  // Three clear errors, one per bad frame.
  const auto errors = recorder->errors();
  ASSERT_GE(errors.size(), 2u);
  int bad = 0;
  for (const auto& error : errors) bad += error.code == Errc::bad_response ? 1 : 0;
  EXPECT_EQ(bad, 2) << "the oversize frame is a network error (the connection ends), the other two bad_response";
  EXPECT_NE(errors.back().message.find("position"), std::string::npos) << errors.back().message;

  // A REST reply that is not JSON: bad_response, nothing changed.
  auto invited = await_result<Done>([&](auto done) { account.invite("carol", done); });
  ASSERT_FALSE(invited);
  EXPECT_EQ(invited.error().code, Errc::bad_response);
  auto page = await_result<HistoryPage>([&](auto done) { account.load_older(direct, 1, done); });
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code, Errc::bad_response);
  EXPECT_EQ(account.history(direct).messages.size(), 2u);
  // The first message, stored before, is intact.
  EXPECT_EQ(account.history(direct).messages[0].text, "a real message");
  EXPECT_NE(dump_before, account.canonical_dump());
}

}  // namespace
}  // namespace parley::test
