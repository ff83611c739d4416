// What one user, one session or one address may take of /ws (docs/protocol.md,
// Limits): connections per user and per address are capped, upgraded
// connections count toward http.max_connections, and the frame rate is a
// budget per session and per user shared by all their connections, not one
// per connection.
#include <gtest/gtest.h>

#include <thread>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::object;

std::string type_of(const object& frame) { return std::string(frame.at("type").as_string()); }
std::string code_of(const object& frame) {
  return frame.contains("code") ? std::string(frame.at("code").as_string()) : std::string();
}

ServerOptions config(std::string extra) { return ServerOptions{std::move(extra), {}}; }

std::unique_ptr<WsClient> connected(std::uint16_t port, const TestUser& user) {
  auto ws = std::make_unique<WsClient>(port);
  ws->hello(user.token);
  return ws;
}

WsOptions with_header(const TestUser& user) {
  WsOptions options;
  options.authorization = "Bearer " + user.token;
  return options;
}

// Retries `attempt` until it returns true; for a place that frees up once
// the server has finished closing a connection, which a client cannot
// observe. Bounded: false after 5 s.
template <typename F>
bool eventually(F attempt) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (attempt()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Replies to the pings sent: how many were pongs and how many refused.
struct Tally {
  int pongs = 0;
  int refused = 0;
};

void count_replies(WsClient& ws, int expected, Tally& tally) {
  for (int i = 0; i < expected; ++i) {
    auto frame = ws.next(5s);
    if (type_of(frame) == "pong") {
      ++tally.pongs;
    } else if (code_of(frame) == "too_many_requests") {
      ++tally.refused;
    } else {
      ADD_FAILURE() << boost::json::serialize(frame);
    }
  }
}

// ---- connection caps -----------------------------------------------------------

TEST(WebSocketCapsTest, MoreConnectionsThanTheUserCapAreRefused) {
  ServerProcess server(config("[websocket]\nmax_connections_per_user = 3\n"));
  HttpClient client(server.port());
  auto carol = register_and_login(client, "carol");
  auto carol_phone = login(client, "carol", carol.password, "phone");
  auto dave = register_and_login(client, "dave");

  std::vector<std::unique_ptr<WsClient>> open;
  open.push_back(connected(server.port(), carol));
  open.push_back(connected(server.port(), carol_phone));
  open.push_back(connected(server.port(), carol));
  // The upgrade request authenticates: refused before the upgrade.
  EXPECT_EQ(refused_upgrade_status(server.port(), with_header(carol_phone)), 429);
  // The hello authenticates: closed with 4429.
  WsClient fourth(server.port());
  fourth.send(object{{"type", "hello"}, {"token", carol_phone.token}});
  int code = fourth.wait_closed();
  EXPECT_EQ(fourth.peer_close_code() != 0 ? fourth.peer_close_code() : code, 4429);

  auto other_user = connected(server.port(), dave);  // another user is not affected
  other_user->send(object{{"type", "ping"}});
  EXPECT_EQ(type_of(other_user->next()), "pong");

  // A closed connection gives its place back.
  open.back()->drop();
  open.pop_back();
  EXPECT_TRUE(eventually([&] {
    try {
      open.push_back(connected(server.port(), carol));
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }));
}

TEST(WebSocketCapsTest, MoreConnectionsThanTheAddressCapAreRefused) {
  ServerProcess server(config("[websocket]\nmax_connections_per_address = 3\n"));
  HttpClient client(server.port());
  auto carol = register_and_login(client, "carol");
  auto dave = register_and_login(client, "dave");
  std::vector<std::unique_ptr<WsClient>> open;
  open.push_back(connected(server.port(), carol));
  open.push_back(connected(server.port(), dave));
  open.push_back(std::make_unique<WsClient>(server.port()));  // not even authenticated yet: still counts
  EXPECT_EQ(refused_upgrade_status(server.port(), {}), 429);
  EXPECT_EQ(client.get("/healthz").status, 200) << "plain HTTP is not affected";
}

TEST(WebSocketCapsTest, UpgradedConnectionsCountTowardMaxConnections) {
  constexpr int kMax = 4;
  ServerProcess server(config("[http]\nmax_connections = " + std::to_string(kMax) + "\n"));
  HttpClient client(server.port());
  auto carol = register_and_login(client, "carol");
  // Open WebSockets until the server refuses one. An HTTP connection of the
  // logins that the server has not finished closing may take a place for a
  // moment, hence "at most".
  std::vector<std::unique_ptr<WsClient>> open;
  bool refused = false;
  for (int i = 0; i < kMax + 3 && !refused; ++i) {
    try {
      open.push_back(connected(server.port(), carol));
    } catch (const std::exception&) {
      refused = true;
    }
  }
  EXPECT_TRUE(refused) << "every one of " << open.size() << " WebSocket connections was accepted";
  EXPECT_LE(open.size(), static_cast<std::size_t>(kMax));
  // With every place taken by WebSockets, an HTTP connection is refused too
  // (closed at once, without a response).
  const std::string health = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(client.raw(health), "");
  // Closing one gives its place back.
  open.back()->drop();
  open.pop_back();
  EXPECT_TRUE(eventually([&] { return client.raw(health).rfind("HTTP/1.1 200", 0) == 0; }));
}

// ---- frame rate shared per user and per session ------------------------------

// A refill of 1 frame/s adds at most a token or two while a test runs; the
// bursts below are far enough apart from the frames sent for that not to
// matter.
TEST(WebSocketCapsTest, AUsersConnectionsTogetherCannotExceedTheUsersRate) {
  ServerProcess server(config(
      "[websocket]\nframes_per_second = 1\nframe_burst = 10\nuser_frames_per_second = 1\nuser_frame_burst = 14\n"));
  HttpClient client(server.port());
  auto laptop = register_and_login(client, "carol");
  auto phone = login(client, "carol", laptop.password, "phone");
  auto a = std::make_unique<WsClient>(server.port());
  auto limits = a->hello(laptop.token).welcome.at("limits").as_object();
  EXPECT_EQ(limits.at("frame_burst").as_int64(), 10) << "per session";
  EXPECT_EQ(limits.at("user_frame_burst").as_int64(), 14) << "per user";
  auto b = connected(server.port(), phone);
  // 9 frames on each of two sessions: each within its own burst of 10, 18 in
  // all against the user's 14.
  for (int i = 0; i < 9; ++i) {
    a->send(object{{"type", "ping"}});
    b->send(object{{"type", "ping"}});
  }
  Tally tally;
  count_replies(*a, 9, tally);
  count_replies(*b, 9, tally);
  EXPECT_GE(tally.refused, 2) << "pongs: " << tally.pongs;
  EXPECT_LE(tally.pongs, 16);
}

TEST(WebSocketCapsTest, ASessionsConnectionsShareTheSessionsRate) {
  ServerProcess server(config("[websocket]\nframes_per_second = 1\nframe_burst = 10\n"));
  HttpClient client(server.port());
  auto carol = register_and_login(client, "carol");
  auto a = connected(server.port(), carol);
  auto b = connected(server.port(), carol);  // the same session again
  for (int i = 0; i < 7; ++i) {
    a->send(object{{"type", "ping"}});
    b->send(object{{"type", "ping"}});
  }
  Tally tally;
  count_replies(*a, 7, tally);
  count_replies(*b, 7, tally);
  EXPECT_GE(tally.refused, 2) << "pongs: " << tally.pongs;
  EXPECT_LE(tally.pongs, 12);
}

}  // namespace
}  // namespace parley::test
