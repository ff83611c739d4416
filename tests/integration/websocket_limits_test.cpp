// Bad input and abuse on /ws (PRODUCT.md §1.2, guarantee 6): each gets the
// documented error frame or close code, changes nothing, and the server keeps
// serving everyone else. Limits come from the [websocket] config section and
// are set small here.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::object;
using Clock = std::chrono::steady_clock;

std::string type_of(const object& frame) { return std::string(frame.at("type").as_string()); }
std::string code_of(const object& frame) {
  return frame.contains("code") ? std::string(frame.at("code").as_string()) : std::string();
}
std::string dump(const object& frame) { return boost::json::serialize(frame); }

constexpr const char* kDefaultLimits =
    "[websocket]\n"
    "max_frame_bytes = 16384\n"
    "handshake_timeout_seconds = 1\n"
    "allowed_origins = [\"https://app.example\"]\n";

// A server, two bystanders (alice and bob, connected, with a direct
// conversation) who must be unaffected by whatever a third user (carol, in a
// direct conversation with alice) does.
struct Bench {
  explicit Bench(const std::string& extra_config = kDefaultLimits)
      : server(ServerOptions{extra_config, {}}), client(server.port()) {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    carol = register_and_login(client, "carol");
    make_contacts(client, alice, bob);
    make_contacts(client, alice, carol);
    direct = direct_conversation(client, alice, bob);
    carol_direct = direct_conversation(client, carol, alice);
    a = std::make_unique<WsClient>(server.port());
    a->hello(alice.token);
    b = std::make_unique<WsClient>(server.port());
    b->hello(bob.token);
  }

  [[nodiscard]] std::uint16_t port() const { return server.port(); }

  // A connection of carol's that said hello.
  std::unique_ptr<WsClient> carol_connected(WsOptions options = {}) {
    auto ws = std::make_unique<WsClient>(server.port(), std::move(options));
    ws->hello(carol.token);
    return ws;
  }

  // Alice can still send and bob still receives, live.
  void expect_others_unaffected() {
    std::string client_id = "bystander-" + std::to_string(++checks);
    auto ack = a->send_message(direct, client_id, "still here");
    ASSERT_EQ(type_of(ack), "ack") << dump(ack);
    auto event = b->next_of_type("event");
    EXPECT_EQ(event.at("event").at("message").at("id"), ack.at("message_id")) << dump(event);
  }

  std::size_t stored_in_carol_direct() {
    auto reply = client.get("/api/v1/conversations/" + std::to_string(carol_direct) + "/messages", carol.token);
    if (reply.status != 200) throw std::runtime_error(reply.body);
    return reply.json().at("messages").as_array().size();
  }

  ServerProcess server;
  HttpClient client;
  TestUser alice, bob, carol;
  std::int64_t direct = 0;
  std::int64_t carol_direct = 0;
  std::unique_ptr<WsClient> a, b;
  int checks = 0;
};

// Sends a frame (as raw text) and returns the error frame answering it. The
// frame may not carry a ref (it may not even parse), so this reads the next
// error.
object error_for(WsClient& ws, const std::string& text) {
  ws.send_text(text);
  return ws.next_of_type("error");
}

// Waits for the server to close the connection; returns the code of the
// server's close frame. (parleyd, through Boost.Beast 1.81's teardown, may
// reset the connection right after its close frame when unread input is
// left, so the client's close reply can fail; the code it received still
// counts.) 1006 when no close frame came.
int closed_with(WsClient& ws, std::chrono::milliseconds timeout = 5s) {
  int code = ws.wait_closed(timeout);
  return ws.peer_close_code() != 0 ? ws.peer_close_code() : code;
}

// ---- malformed and invalid frames ---------------------------------------------

TEST(WebSocketLimitsTest, MalformedJsonGetsMalformedRequestAndTheConnectionStaysOpen) {
  Bench bench;
  auto x = bench.carol_connected();
  auto error = error_for(*x, R"({"type": "ping", )");
  EXPECT_EQ(code_of(error), "malformed_request") << dump(error);
  EXPECT_TRUE(error.contains("message"));
  error = error_for(*x, "[1, 2, 3]");
  EXPECT_EQ(code_of(error), "validation_failed") << "a JSON value that is not an object: " << dump(error);
  error = error_for(*x, R"({"type": "ping", "ref": ")" + std::string(65, 'r') + R"("})");
  EXPECT_EQ(code_of(error), "validation_failed") << "ref longer than 64 bytes: " << dump(error);

  // Still open and serving this client.
  x->send(object{{"type", "ping"}, {"ref", "still-open"}});
  auto pong = x->next();
  EXPECT_EQ(type_of(pong), "pong") << dump(pong);
  EXPECT_EQ(pong.at("ref"), "still-open");
  // A text frame that is not UTF-8 breaks the WebSocket protocol itself:
  // close 1007 (invalid frame payload data).
  auto y = bench.carol_connected();
  y->send_text("{\"type\": \"ping\", \"ref\": \"\xff\xfe\"}");
  EXPECT_EQ(closed_with(*y), 1007);
  bench.expect_others_unaffected();
}

TEST(WebSocketLimitsTest, UnknownFrameTypeIsValidationFailed) {
  Bench bench;
  auto x = bench.carol_connected();
  auto error = error_for(*x, R"({"type": "shout", "ref": "u-1"})");
  EXPECT_EQ(code_of(error), "validation_failed") << dump(error);
  EXPECT_EQ(error.at("ref"), "u-1") << "the error names the frame it answers";
  error = error_for(*x, R"({"ref": "u-2"})");
  EXPECT_EQ(code_of(error), "validation_failed") << "no type: " << dump(error);
  error = error_for(*x, R"({"type": 7, "ref": "u-3"})");
  EXPECT_EQ(code_of(error), "validation_failed") << "type not a string: " << dump(error);
  error = error_for(*x, R"({"type": "hello", "token": "again", "ref": "u-4"})");
  EXPECT_EQ(type_of(error), "error") << "a second hello is refused: " << dump(error);
  x->send(object{{"type", "ping"}, {"ref", "after"}});
  EXPECT_EQ(type_of(x->next()), "pong");
  bench.expect_others_unaffected();
}

TEST(WebSocketLimitsTest, WrongFieldTypesAreValidationFailedAndStoreNothing) {
  Bench bench;
  auto x = bench.carol_connected();
  auto id = std::to_string(bench.carol_direct);
  const std::vector<std::string> frames = {
      R"({"type": "send", "conversation_id": ")" + id + R"(", "client_id": "w-1", "text": "hi", "ref": "w-1"})",
      R"({"type": "send", "conversation_id": )" + id + R"(, "client_id": "w-2", "text": 42, "ref": "w-2"})",
      R"({"type": "send", "conversation_id": )" + id + R"(, "client_id": 3, "text": "hi", "ref": "w-3"})",
      R"({"type": "send", "conversation_id": )" + id + R"(, "client_id": "w-4", "text": "hi", "reply_to": "x", "ref": "w-4"})",
      R"({"type": "send", "conversation_id": -)" + id + R"(, "client_id": "w-5", "text": "hi", "ref": "w-5"})",
      R"({"type": "send", "conversation_id": )" + id + R"(, "client_id": "w-6", "text": "   ", "ref": "w-6"})",
      R"({"type": "send", "conversation_id": )" + id + R"(, "client_id": "has space", "text": "hi", "ref": "w-7"})",
      R"({"type": "send", "conversation_id": 1.5, "client_id": "w-8", "text": "hi", "ref": "w-8"})",
      R"({"type": "read", "conversation_id": )" + id + R"(, "seq": "1", "ref": "w-9"})",
      R"({"type": "react", "message_id": 1, "emoji": "👍", "remove": "yes", "ref": "w-10"})",
  };
  for (const auto& frame : frames) {
    auto error = error_for(*x, frame);
    EXPECT_EQ(code_of(error), "validation_failed") << frame << " -> " << dump(error);
  }
  EXPECT_EQ(bench.stored_in_carol_direct(), 0U) << "an invalid frame must change nothing";
  // The same frame with the right types works.
  auto ack = x->send_message(bench.carol_direct, "w-ok", "hi");
  EXPECT_EQ(type_of(ack), "ack") << dump(ack);
  EXPECT_EQ(bench.stored_in_carol_direct(), 1U);
  bench.expect_others_unaffected();
}

TEST(WebSocketLimitsTest, UnknownFieldIsValidationFailedAndStoresNothing) {
  Bench bench;
  auto x = bench.carol_connected();
  object frame{{"type", "send"},    {"conversation_id", bench.carol_direct},
               {"client_id", "u-1"}, {"text", "hi"},
               {"ref", "u-1"},       {"priority", "urgent"}};
  auto error = error_for(*x, boost::json::serialize(frame));
  EXPECT_EQ(code_of(error), "validation_failed") << dump(error);
  EXPECT_EQ(error.at("ref"), "u-1");
  error = error_for(*x, R"({"type": "ping", "ref": "u-2", "extra": null})");
  EXPECT_EQ(code_of(error), "validation_failed") << dump(error);
  EXPECT_EQ(bench.stored_in_carol_direct(), 0U);
  // The client id was not used up by the refused frame.
  auto ack = x->send_message(bench.carol_direct, "u-1", "hi");
  ASSERT_EQ(type_of(ack), "ack") << dump(ack);
  EXPECT_FALSE(ack.at("duplicate").as_bool());
  bench.expect_others_unaffected();
}

// ---- frame size and kind -------------------------------------------------------

TEST(WebSocketLimitsTest, OversizedFrameClosesWith1009) {
  Bench bench;
  // Just below the limit is read (and refused for its unknown field).
  auto x = bench.carol_connected();
  auto below = error_for(*x, R"({"type": "ping", "pad": ")" + std::string(16000, 'p') + R"("})");
  EXPECT_EQ(code_of(below), "validation_failed") << dump(below);
  // Above it: close 1009 (message too big).
  try {
    x->send_text(R"({"type": "ping", "pad": ")" + std::string(20000, 'p') + R"("})");
  } catch (const std::exception&) {
    // The server may close while the frame is still being written.
  }
  EXPECT_EQ(closed_with(*x), 1009);
  bench.expect_others_unaffected();
}

TEST(WebSocketLimitsTest, BinaryFrameClosesWith1003) {
  Bench bench;
  auto x = bench.carol_connected();
  x->send_binary(std::string("\x00\x01\x02{\"type\":\"ping\"}", 18));
  EXPECT_EQ(closed_with(*x), 1003);
  bench.expect_others_unaffected();
}

TEST(WebSocketLimitsTest, CompressedFrameThatInflatesBeyondTheLimitClosesWith1009) {
  Bench bench;
  WsOptions deflate;
  deflate.deflate = true;
  auto x = bench.carol_connected(deflate);
  ASSERT_NE(x->negotiated_extensions().find("permessage-deflate"), std::string::npos)
      << "the server must accept permessage-deflate for this test to mean anything: '" << x->negotiated_extensions()
      << "'";
  // Compressed frames within the limit are read normally.
  auto ack = x->send_message(bench.carol_direct, "z-1", std::string(4000, 'z'));
  EXPECT_EQ(type_of(ack), "ack") << dump(ack);
  // 2 MiB of one letter compresses to a few KiB, well under max_frame_bytes
  // on the wire, and inflates far beyond it.
  try {
    x->send_text(std::string(2 << 20, 'a'));
  } catch (const std::exception&) {
  }
  EXPECT_EQ(closed_with(*x), 1009);
  bench.expect_others_unaffected();
}

// ---- rate and backpressure -------------------------------------------------------

TEST(WebSocketLimitsTest, FloodOverTheRateLimitGetsTooManyRequestsThenClose4429) {
  Bench bench("[websocket]\nframes_per_second = 5\nframe_burst = 5\n");
  auto x = bench.carol_connected();
  for (int i = 0; i < 100; ++i) x->send(object{{"type", "ping"}, {"ref", "p-" + std::to_string(i)}});
  int pongs = 0;
  int refusals = 0;
  std::vector<std::string> other;
  try {
    for (;;) {
      auto frame = x->next(5s);
      if (type_of(frame) == "pong") {
        ++pongs;
      } else if (type_of(frame) == "error" && code_of(frame) == "too_many_requests") {
        ++refusals;
      } else {
        other.push_back(dump(frame));
      }
    }
  } catch (const std::exception&) {
  }
  ASSERT_TRUE(x->closed()) << "the flooding client must be disconnected";
  EXPECT_EQ(x->close_code(), 4429);
  EXPECT_GE(pongs, 5) << "the burst is served";
  EXPECT_LE(pongs, 10) << "beyond the burst, frames are refused";
  EXPECT_GE(refusals, 1) << "refused frames are answered with too_many_requests before the close";
  EXPECT_TRUE(other.empty()) << other.front();
  bench.expect_others_unaffected();
}

TEST(WebSocketLimitsTest, SlowReaderIsDisconnectedAndResumesWithEveryMessageOnce) {
  Bench bench(
      "[websocket]\n"
      "max_outbound_bytes = 131072\n"
      "frames_per_second = 100000\n"
      "frame_burst = 100000\n"
      "user_frames_per_second = 100000\n"
      "user_frame_burst = 100000\n");
  auto dave = register_and_login(bench.client, "dave");
  make_contacts(bench.client, bench.carol, dave);
  auto conversation = direct_conversation(bench.client, bench.carol, dave);

  auto sender = bench.carol_connected();
  auto slow = std::make_unique<WsClient>(bench.port());
  auto start = slow->hello(dave.token);
  auto session = start.welcome.at("session_id").as_int64();
  // From here on `slow` reads nothing: frames fill the socket buffers, then
  // the server's queue for it.
  const std::string needle =
      "disconnecting slow consumer user_id=" + std::to_string(dave.id) + " session_id=" + std::to_string(session);
  const std::string text(3900, 'x');
  constexpr int kWindow = 10;  // sends in flight at once (bursts stay under max_outbound_bytes)
  std::vector<object> acks;
  bool cut_off = false;
  for (int round = 0; round < 400 && !cut_off; ++round) {
    std::set<std::string> waiting;
    for (int i = 0; i < kWindow; ++i) {
      std::string client_id = "flood-" + std::to_string(acks.size() + waiting.size());
      object frame{{"type", "send"}, {"conversation_id", conversation}, {"client_id", client_id},
                   {"text", text},   {"ref", client_id}};
      sender->send(frame);
      waiting.insert(client_id);
    }
    while (!waiting.empty()) {
      auto frame = sender->next(10s);
      if (!frame.contains("ref")) continue;
      std::string ref(frame.at("ref").as_string());
      if (!waiting.contains(ref)) continue;
      ASSERT_EQ(type_of(frame), "ack") << "the sender must keep getting acks: " << dump(frame);
      acks.push_back(frame);
      waiting.erase(ref);
    }
    if (round % 5 == 4) cut_off = bench.server.log().find(needle) != std::string::npos;
  }
  ASSERT_TRUE(cut_off) << "after " << acks.size() << " messages of " << text.size()
                       << " bytes the reader that never reads was still connected";
  // The sender is still served after the slow reader is gone.
  auto last_ack = sender->send_message(conversation, "after-cut", "one more");
  ASSERT_EQ(type_of(last_ack), "ack") << dump(last_ack);
  acks.push_back(last_ack);

  // The slow reader finds its connection ended after what was buffered.
  std::vector<std::int64_t> received;
  std::int64_t position = start.position;
  try {
    for (;;) {
      auto frame = slow->try_next(5s);
      ASSERT_TRUE(frame.has_value()) << "the slow reader's connection is still open";
      if (type_of(*frame) != "event") continue;
      EXPECT_GT(frame->at("position").as_int64(), position);
      position = frame->at("position").as_int64();
      received.push_back(frame->at("event").at("message").at("id").as_int64());
    }
  } catch (const std::runtime_error&) {
  }
  ASSERT_TRUE(slow->closed());
  EXPECT_LT(received.size(), acks.size()) << "the reader was cut off, so it cannot have everything yet";

  // It resumes from its last position and gets the rest, each message once.
  WsClient again(bench.port());
  auto caught = again.hello(dave.token, position);
  ASSERT_EQ(type_of(caught.marker), "synced") << dump(caught.marker);
  for (const auto& event : caught.events) received.push_back(event.at("event").at("message").at("id").as_int64());
  std::sort(acks.begin(), acks.end(),
            [](const object& x, const object& y) { return x.at("seq").as_int64() < y.at("seq").as_int64(); });
  std::vector<std::int64_t> expected;
  for (const auto& ack : acks) expected.push_back(ack.at("message_id").as_int64());
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected) << "every message exactly once, in order (got " << received.size() << " of "
                                    << expected.size() << ")";
  bench.expect_others_unaffected();
}

// max_outbound_bytes is for a client that does not read. One that reads as
// fast as the loopback allows is not slow, even when a single commit batch
// fans a burst of large messages out to it.
TEST(WebSocketLimitsTest, AReaderThatKeepsUpIsNotDisconnectedByABurst) {
  Bench bench(
      "[websocket]\n"
      "max_outbound_bytes = 32768\n"
      "frames_per_second = 100000\n"
      "frame_burst = 100000\n"
      "user_frames_per_second = 100000\n"
      "user_frame_burst = 100000\n");
  constexpr int kBurst = 60;  // below max_inflight_writes: a few commit batches
  auto dave = register_and_login(bench.client, "dave");
  make_contacts(bench.client, bench.carol, dave);
  auto conversation = direct_conversation(bench.client, bench.carol, dave);

  // Dave reads all the time, on a thread of his own.
  std::vector<std::int64_t> received;  // read by the main thread after join()
  std::string reader_failure;          // likewise
  std::atomic<std::size_t> received_count{0};
  std::atomic<bool> reader_done{false};
  std::atomic<bool> reading{false};
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    try {
      WsClient ws(bench.port());
      ws.hello(dave.token);
      reading = true;
      while (!stop) {
        auto frame = ws.try_next(50ms);
        if (frame && type_of(*frame) == "event") {
          received.push_back(frame->at("event").at("message").at("id").as_int64());
          ++received_count;
        }
      }
    } catch (const std::exception& e) {
      reader_failure = e.what();
    }
    reader_done = true;
  });
  while (!reading) std::this_thread::sleep_for(10ms);

  // Carol sends a burst and reads everything that comes back.
  auto sender = bench.carol_connected();
  // The burst is far above the 32 KiB limit, and if one commit takes all
  // of it (as PostgreSQL's slower writer often does) it stays below the 8
  // times the limit a single commit may queue for a moment: the sender then
  // gets its 60 acks and 60 own messages at once, ~3.5 KB a message with
  // their JSON, ~210 KB of the 256 KiB. (At 3,900 bytes a message that sum
  // reached the cap itself, and the sender was cut off at once.)
  const std::string text(3000, 'b');
  for (int i = 0; i < kBurst; ++i) {
    std::string client_id = "burst-" + std::to_string(i);
    sender->send(object{{"type", "send"}, {"conversation_id", conversation}, {"client_id", client_id},
                        {"text", text},   {"ref", client_id}});
  }
  std::vector<std::int64_t> acked;
  std::string sender_failure;
  try {
    while (acked.size() < std::size_t{kBurst}) {
      auto frame = sender->next(10s);
      if (type_of(frame) == "ack") acked.push_back(frame.at("message_id").as_int64());
    }
  } catch (const std::exception& e) {
    sender_failure = e.what();
  }
  auto deadline = Clock::now() + 5s;
  while (received_count < acked.size() && !reader_done && Clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  stop = true;
  reader.join();
  EXPECT_EQ(sender_failure, "") << "the sender, reading all the while, was cut off after " << acked.size()
                                << " acks";
  EXPECT_EQ(reader_failure, "") << "a reader that keeps up was cut off after " << received.size() << " messages";
  EXPECT_EQ(received, acked);
  bench.expect_others_unaffected();
}

// ---- handshake -----------------------------------------------------------------

TEST(WebSocketLimitsTest, NoHelloInTimeClosesWith4408) {
  Bench bench;
  WsClient x(bench.port());
  auto started = Clock::now();
  EXPECT_EQ(x.wait_closed(5s), 4408);
  EXPECT_GE(Clock::now() - started, 900ms) << "closed before the handshake timeout";
  bench.expect_others_unaffected();
}

TEST(WebSocketLimitsTest, FirstFrameOtherThanHelloClosesWithPolicyViolation) {
  Bench bench;
  const std::vector<std::string> first_frames = {
      R"({"type": "ping"})",
      "not json",
      R"({"type": "send", "conversation_id": 1, "client_id": "x", "text": "hi"})",
      R"({"type": "hello", "token": ")" + bench.carol.token + R"(", "position": -1})",
      R"({"type": "hello", "token": ")" + bench.carol.token + R"(", "shoe_size": 44})",
  };
  for (const auto& first : first_frames) {
    WsClient x(bench.port());
    x.send_text(first);
    EXPECT_EQ(x.wait_closed(), 1008) << first;
  }
  bench.expect_others_unaffected();
}

TEST(WebSocketLimitsTest, InvalidTokenClosesWith4401) {
  Bench bench;
  {
    WsClient x(bench.port());
    x.send(object{{"type", "hello"}, {"token", "not-a-real-token"}});
    EXPECT_EQ(x.wait_closed(), 4401);
  }
  {
    WsClient x(bench.port());
    x.send(object{{"type", "hello"}});
    EXPECT_EQ(x.wait_closed(), 4401) << "no token at all";
  }
  {
    // A logged-out session's token no longer works.
    auto session = login(bench.client, "carol", bench.carol.password, "old phone");
    auto out = bench.client.del("/api/v1/sessions/current", session.token);
    ASSERT_TRUE(out.status == 204 || out.status == 200) << out.status << " " << out.body;
    WsClient x(bench.port());
    x.send(object{{"type", "hello"}, {"token", session.token}});
    EXPECT_EQ(x.wait_closed(), 4401) << "a logged-out token";
  }
  WsOptions header;
  header.authorization = "Bearer not-a-real-token";
  EXPECT_EQ(refused_upgrade_status(bench.port(), header), 401) << "a bad token in the upgrade request";
  bench.expect_others_unaffected();
}

TEST(WebSocketLimitsTest, OriginIsChecked) {
  Bench bench;
  auto port = std::to_string(bench.port());
  for (const auto& origin : std::vector<std::string>{"http://evil.example", "http://127.0.0.1:" + port + ".evil.example",
                                                     "https://app.example.evil", "null"}) {
    WsOptions options;
    options.origin = origin;
    EXPECT_EQ(refused_upgrade_status(bench.port(), options), 403) << origin;
  }
  for (const auto& origin : std::vector<std::string>{"http://127.0.0.1:" + port, "https://app.example"}) {
    WsOptions options;
    options.origin = origin;
    WsClient x(bench.port(), options);
    auto caught = x.hello(bench.carol.token);
    EXPECT_EQ(type_of(caught.marker), "synced") << origin;
  }
  bench.expect_others_unaffected();
}

// The request metrics count each upgrade with the status it got: 101, or
// the status it was refused with (not 101 for every attempt).
TEST(WebSocketLimitsTest, UpgradesAreCountedInTheMetricsWithTheirOutcome) {
  ServerProcess server;
  HttpClient client(server.port());
  auto dave = register_and_login(client, "dave");
  WsOptions evil;
  evil.origin = "http://evil.example";
  EXPECT_EQ(refused_upgrade_status(server.port(), evil), 403);
  WsOptions bad_token;
  bad_token.authorization = "Bearer " + std::string(43, 'A');
  EXPECT_EQ(refused_upgrade_status(server.port(), bad_token), 401);
  EXPECT_EQ(refused_upgrade_status(server.port(), bad_token), 401);
  {
    WsClient ok(server.port());
    EXPECT_EQ(type_of(ok.hello(dave.token).marker), "synced");
  }
  auto metrics = client.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  for (const auto& [status, count] : std::vector<std::pair<std::string, int>>{{"101", 1}, {"401", 2}, {"403", 1}}) {
    auto line = R"(parley_http_requests_total{method="GET",route="/ws",status=")" + status + R"("} )" +
                std::to_string(count) + "\n";
    EXPECT_NE(metrics.body.find(line), std::string::npos) << line << metrics.body;
  }
}

// ---- heartbeats -------------------------------------------------------------------

TEST(WebSocketLimitsTest, DeadPeerIsDroppedWhileAnIdleReadingPeerStaysConnected) {
  Bench bench("[websocket]\nidle_timeout_seconds = 2\n");
  auto alive = bench.carol_connected();
  auto dead = bench.carol_connected();  // never reads again: its pings go unanswered
  // Everyone else keeps reading (a WebSocket client answers pings while it
  // reads), frames or not, for well over the idle timeout.
  auto until = Clock::now() + 5s;
  while (Clock::now() < until) {
    for (WsClient* ws : {alive.get(), bench.a.get(), bench.b.get()}) {
      auto frame = ws->try_next(100ms);
      if (frame) {
        EXPECT_EQ(type_of(*frame), "presence") << dump(*frame);
      }
    }
  }
  alive->send(object{{"type", "ping"}, {"ref", "still"}});
  auto pong = alive->next_of_type("pong");
  EXPECT_EQ(pong.at("ref"), "still") << "an idle peer that answers pings stays connected";
  // The dead one was cut off (no close handshake with a dead peer).
  int code = 0;
  try {
    code = dead->wait_closed(2s);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "a peer that does not answer pings must be disconnected: " << e.what();
  }
  EXPECT_TRUE(dead->closed());
  EXPECT_NE(code, 1000);
  bench.expect_others_unaffected();
}

}  // namespace
}  // namespace parley::test
