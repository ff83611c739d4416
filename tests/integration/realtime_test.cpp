// The real-time guarantees, black box, over real sockets against the real
// parleyd (docs: PRODUCT.md §1.2 and §3):
//   - every member sees a conversation's messages once, in one order, on
//     every device, even with many concurrent senders;
//   - a retry with the same client id never creates a second message;
//   - a reconnecting device receives exactly what it missed, once, in order,
//     then live events; too far behind, it is told to resync;
//   - an acknowledged message survives kill -9;
// and the event kinds around messages: multi-device delivery, edits,
// deletions, reactions, replies, mentions, typing and presence.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <map>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::array;
using boost::json::object;
using Clock = std::chrono::steady_clock;

// ---- helpers ---------------------------------------------------------------

std::string str(const boost::json::value& value) { return std::string(value.as_string()); }
std::string type_of(const object& frame) { return str(frame.at("type")); }
std::string dump(const object& frame) { return boost::json::serialize(frame); }
const object& payload(const object& event_frame) { return event_frame.at("event").as_object(); }
std::string event_type(const object& event_frame) { return str(payload(event_frame).at("type")); }
std::int64_t position_of(const object& event_frame) { return event_frame.at("position").as_int64(); }

std::chrono::milliseconds left_until(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}

object send_frame(std::int64_t conversation, const std::string& client_id, const std::string& text) {
  return object{{"type", "send"}, {"conversation_id", conversation}, {"client_id", client_id}, {"text", text}};
}

// Sends a message and expects an ack.
object send_ok(WsClient& ws, std::int64_t conversation, const std::string& client_id, const std::string& text,
               std::vector<object>* skipped = nullptr) {
  auto ack = ws.request(send_frame(conversation, client_id, text), skipped);
  if (type_of(ack) != "ack") throw std::runtime_error("send refused: " + dump(ack));
  return ack;
}

// Every frame arriving within `window` (the connection stays open).
std::vector<object> frames_within(WsClient& ws, std::chrono::milliseconds window) {
  std::vector<object> frames;
  auto deadline = Clock::now() + window;
  for (auto left = left_until(deadline); left.count() > 0; left = left_until(deadline)) {
    auto frame = ws.try_next(left);
    if (!frame) break;
    frames.push_back(std::move(*frame));
  }
  return frames;
}

std::vector<object> only_events(const std::vector<object>& frames) {
  std::vector<object> events;
  for (const auto& frame : frames) {
    if (type_of(frame) == "event") events.push_back(frame);
  }
  return events;
}

// The next frame that is not presence (presence frames come and go with
// other connections and are tested on their own).
object next_not_presence(WsClient& ws, std::chrono::milliseconds timeout = 5s) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto frame = ws.next(std::max(left_until(deadline), std::chrono::milliseconds(1)));
    if (type_of(frame) != "presence") return frame;
  }
}

// A conversation's whole history over REST, oldest first.
std::vector<object> history(const HttpClient& client, std::int64_t conversation, const std::string& token) {
  std::vector<object> messages;
  std::int64_t after = 0;
  for (;;) {
    auto reply = client.get("/api/v1/conversations/" + std::to_string(conversation) +
                                "/messages?after=" + std::to_string(after) + "&limit=200",
                            token);
    if (reply.status != 200) throw std::runtime_error("history: " + std::to_string(reply.status) + " " + reply.body);
    auto page = reply.json().as_object();
    for (const auto& message : page.at("messages").as_array()) messages.push_back(message.as_object());
    if (!page.at("has_more").as_bool() || messages.empty()) return messages;
    after = messages.back().at("seq").as_int64();
  }
}

// Three users who are each other's contacts, their direct conversation
// (alice-bob) and a group of the three (owned by alice).
struct World {
  explicit World(const std::string& extra_config = "")
      : server(ServerOptions{extra_config, {}}), client(server.port()) {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    carol = register_and_login(client, "carol");
    make_contacts(client, alice, bob);
    make_contacts(client, alice, carol);
    make_contacts(client, bob, carol);
    direct = direct_conversation(client, alice, bob);
    group = create_group(client, alice, "team", {bob, carol});
  }
  [[nodiscard]] std::uint16_t port() const { return server.port(); }

  ServerProcess server;
  HttpClient client;
  TestUser alice, bob, carol;
  std::int64_t direct = 0;
  std::int64_t group = 0;
};

// ---- ordering and exactly-once under concurrency ---------------------------

TEST(RealtimeTest, ConcurrentSendersIntoOneGroupEveryDeviceSeesEveryMessageOnceInOneOrder) {
  ServerProcess server;
  HttpClient client(server.port());
  constexpr int kUsers = 6;
  constexpr int kDevicesPerUser = 2;
  constexpr int kPerDevice = 30;
  constexpr std::size_t kTotal = std::size_t{kUsers} * kDevicesPerUser * kPerDevice;

  std::vector<TestUser> users;
  for (int i = 0; i < kUsers; ++i) users.push_back(register_and_login(client, "user" + std::to_string(i)));
  for (int i = 1; i < kUsers; ++i) make_contacts(client, users[0], users[i]);
  auto group = create_group(client, users[0], "crowd", std::vector<TestUser>(users.begin() + 1, users.end()));

  struct Device {
    std::string name;
    std::unique_ptr<WsClient> ws;
    std::vector<object> events;
    std::vector<object> answers;
    std::string failure;
  };
  std::vector<Device> devices;
  for (int u = 0; u < kUsers; ++u) {
    for (int d = 0; d < kDevicesPerUser; ++d) {
      std::string token =
          d == 0 ? users[u].token : login(client, users[u].username, users[u].password, "second device").token;
      Device device;
      device.name = "u" + std::to_string(u) + "-d" + std::to_string(d);
      device.ws = std::make_unique<WsClient>(server.port());
      auto caught = device.ws->hello(token);
      ASSERT_EQ(type_of(caught.marker), "synced");
      devices.push_back(std::move(device));
    }
  }

  std::vector<std::thread> threads;
  for (auto& device : devices) {
    threads.emplace_back([&device, group] {
      try {
        auto count_new = [&] {
          return static_cast<std::size_t>(std::count_if(device.events.begin(), device.events.end(),
                                                        [](const object& e) { return event_type(e) == "message.new"; }));
        };
        for (int i = 0; i < kPerDevice; ++i) {
          std::string client_id = device.name + "-" + std::to_string(i);
          auto frame = send_frame(group, client_id, "message " + std::to_string(i) + " from " + device.name);
          frame["ref"] = client_id;
          device.ws->send(frame);
          for (;;) {
            auto reply = device.ws->next(15s);
            auto type = type_of(reply);
            if (type == "event") {
              device.events.push_back(std::move(reply));
            } else if (reply.contains("ref") && reply.at("ref").as_string() == client_id) {
              device.answers.push_back(std::move(reply));
              break;
            }
          }
        }
        while (count_new() < kTotal) {
          auto reply = device.ws->next(20s);
          if (type_of(reply) == "event") device.events.push_back(std::move(reply));
        }
      } catch (const std::exception& e) {
        device.failure = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();

  std::map<std::int64_t, std::int64_t> acked_seq;  // message id -> seq
  for (const auto& device : devices) {
    ASSERT_EQ(device.failure, "") << device.name;
    ASSERT_EQ(device.answers.size(), std::size_t{kPerDevice}) << device.name;
    for (const auto& answer : device.answers) {
      ASSERT_EQ(type_of(answer), "ack") << dump(answer);
      EXPECT_FALSE(answer.at("duplicate").as_bool()) << dump(answer);
      EXPECT_TRUE(acked_seq.emplace(answer.at("message_id").as_int64(), answer.at("seq").as_int64()).second)
          << "two acks with one message id: " << dump(answer);
    }
  }
  ASSERT_EQ(acked_seq.size(), kTotal);

  // The reference order: the first device's.
  std::vector<std::int64_t> reference;
  std::int64_t last_position = 0;
  for (std::size_t i = 0; i < devices[0].events.size(); ++i) {
    const auto& event = devices[0].events[i];
    ASSERT_EQ(event_type(event), "message.new") << dump(event);
    const auto& message = payload(event).at("message").as_object();
    auto id = message.at("id").as_int64();
    EXPECT_EQ(message.at("seq").as_int64(), static_cast<std::int64_t>(i + 1)) << "seqs must be gapless, in order";
    EXPECT_GT(position_of(event), last_position) << "positions must increase";
    last_position = position_of(event);
    ASSERT_TRUE(acked_seq.contains(id)) << "an event for a message nobody was acked for: " << dump(event);
    EXPECT_EQ(acked_seq[id], message.at("seq").as_int64()) << "the ack's seq differs from the event's";
    reference.push_back(id);
  }
  ASSERT_EQ(reference.size(), kTotal);
  EXPECT_EQ(std::set<std::int64_t>(reference.begin(), reference.end()).size(), kTotal) << "a message seen twice";

  for (const auto& device : devices) {
    std::vector<std::int64_t> order;
    for (const auto& event : device.events) {
      order.push_back(payload(event).at("message").at("id").as_int64());
    }
    EXPECT_EQ(order, reference) << device.name << " saw another order (or duplicates or gaps)";
  }
}

// ---- idempotent retries ----------------------------------------------------

TEST(RealtimeTest, RetryAfterADropBeforeTheAckCreatesExactlyOneMessage) {
  World w;
  constexpr int kRounds = 8;
  std::map<std::string, std::int64_t> acked;  // client id -> message id
  for (int i = 0; i < kRounds; ++i) {
    std::string client_id = "retry-" + std::to_string(i);
    {
      WsClient first(w.port());
      first.hello(w.alice.token);
      first.send(send_frame(w.direct, client_id, "sent once, maybe twice"));
      first.drop();  // gone before the ack could be read
    }
    // Odd rounds give the first attempt time to commit, so that the retry
    // must be recognised as a duplicate; even rounds race it.
    if (i % 2 == 1) std::this_thread::sleep_for(300ms);
    WsClient retry(w.port());
    retry.hello(w.alice.token);
    auto ack = send_ok(retry, w.direct, client_id, "sent once, maybe twice");
    if (i % 2 == 1) {
      EXPECT_TRUE(ack.at("duplicate").as_bool()) << dump(ack);
    }
    acked[client_id] = ack.at("message_id").as_int64();
    // A third attempt is always a duplicate of the same message.
    auto again = send_ok(retry, w.direct, client_id, "sent once, maybe twice");
    EXPECT_TRUE(again.at("duplicate").as_bool());
    EXPECT_EQ(again.at("message_id").as_int64(), acked[client_id]);
    EXPECT_EQ(again.at("seq"), ack.at("seq"));
  }
  auto messages = history(w.client, w.direct, w.bob.token);
  ASSERT_EQ(messages.size(), std::size_t{kRounds});
  std::set<std::string> client_ids;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto client_id = str(messages[i].at("client_id"));
    EXPECT_TRUE(client_ids.insert(client_id).second) << "client id stored twice: " << client_id;
    EXPECT_EQ(messages[i].at("id").as_int64(), acked[client_id]);
    EXPECT_EQ(messages[i].at("seq").as_int64(), static_cast<std::int64_t>(i + 1));
  }
}

// ---- resume ------------------------------------------------------------------

TEST(RealtimeTest, ReconnectWithPositionReceivesExactlyTheMissedEventsOnceInOrderThenLive) {
  World w;
  auto dave = register_and_login(w.client, "dave");
  make_contacts(w.client, w.alice, dave);

  WsClient a(w.port());
  a.hello(w.alice.token);
  WsClient c(w.port());
  c.hello(w.carol.token);
  auto b = std::make_unique<WsClient>(w.port());
  b->hello(w.bob.token);

  std::vector<object> seen_by_alice;  // alice is in every conversation bob is in
  auto m0 = send_ok(a, w.group, "m0", "before the gap", &seen_by_alice);
  auto live = b->next_of_type("event");
  ASSERT_EQ(payload(live).at("message").at("id"), m0.at("message_id"));
  std::int64_t last = position_of(live);
  b->drop();
  b.reset();

  // While bob is away: messages, an edit, a reaction, a receipt, a new
  // member, and a message in another conversation.
  auto m1 = send_ok(a, w.group, "m1", "first missed", &seen_by_alice);
  auto m2 = send_ok(a, w.group, "m2", "second missed", &seen_by_alice);
  expect_ok(a, object{{"type", "edit"}, {"message_id", m1.at("message_id")}, {"text", "first missed, edited"}},
            &seen_by_alice);
  expect_ok(c, object{{"type", "react"}, {"message_id", m1.at("message_id")}, {"emoji", "👍"}});
  expect_ok(c, object{{"type", "read"}, {"conversation_id", w.group}, {"seq", 2}});
  auto added = w.client.post("/api/v1/conversations/" + std::to_string(w.group) + "/members",
                             object{{"username", "dave"}}, w.alice.token);
  ASSERT_EQ(added.status, 201) << added.body;
  auto m3 = send_ok(a, w.direct, "m3", "direct, missed too", &seen_by_alice);

  const std::vector<std::string> expected_types = {"message.new",    "message.new",  "message.edited", "reaction.added",
                                                   "receipt.read",   "member.added", "message.new"};
  auto missed = only_events(seen_by_alice);
  std::erase_if(missed, [&](const object& e) { return position_of(e) <= last; });
  while (missed.size() < expected_types.size()) missed.push_back(a.next_of_type("event"));
  ASSERT_EQ(missed.size(), expected_types.size());

  WsClient b2(w.port());
  auto caught = b2.hello(w.bob.token, last);
  ASSERT_EQ(type_of(caught.marker), "synced") << dump(caught.marker);
  ASSERT_EQ(caught.events.size(), expected_types.size()) << "bob must get exactly what he missed";
  std::int64_t previous = last;
  for (std::size_t i = 0; i < caught.events.size(); ++i) {
    const auto& event = caught.events[i];
    EXPECT_EQ(event_type(event), expected_types[i]) << i << ": " << dump(event);
    EXPECT_EQ(position_of(event), position_of(missed[i])) << "bob and alice saw different streams at " << i;
    EXPECT_GT(position_of(event), previous) << "out of order at " << i;
    previous = position_of(event);
  }
  EXPECT_EQ(caught.position, previous) << "synced carries the last position sent";
  EXPECT_EQ(payload(caught.events[0]).at("message").at("id"), m1.at("message_id"));
  EXPECT_EQ(payload(caught.events[1]).at("message").at("id"), m2.at("message_id"));
  EXPECT_EQ(payload(caught.events[2]).at("message").at("id"), m1.at("message_id"));
  EXPECT_EQ(payload(caught.events[3]).at("user_id").as_int64(), w.carol.id);
  EXPECT_EQ(payload(caught.events[4]).at("user_id").as_int64(), w.carol.id);
  EXPECT_EQ(payload(caught.events[4]).at("seq").as_int64(), 2);
  EXPECT_EQ(payload(caught.events[5]).at("member").at("user").at("id").as_int64(), dave.id);
  EXPECT_EQ(payload(caught.events[6]).at("message").at("id"), m3.at("message_id"));

  // Then live events, each once.
  auto m4 = send_ok(a, w.group, "m4", "live again");
  auto next = b2.next_of_type("event");
  EXPECT_EQ(payload(next).at("message").at("id"), m4.at("message_id")) << dump(next);
  EXPECT_GT(position_of(next), caught.position);
  auto extra = only_events(frames_within(b2, 300ms));
  EXPECT_TRUE(extra.empty()) << "unexpected event: " << dump(extra.front());

  // Resuming again from the same position gives the same events again (the
  // stream is stable), plus the new one.
  WsClient b3(w.port());
  auto again = b3.hello(w.bob.token, last);
  ASSERT_EQ(again.events.size(), expected_types.size() + 1);
  for (std::size_t i = 0; i < expected_types.size(); ++i) {
    EXPECT_EQ(position_of(again.events[i]), position_of(caught.events[i]));
  }
}

// Removal while a device is away: the resuming device gets what a device that
// stayed connected got (guarantee 4): the group's events up to and including
// the member.removed addressed to its user, and nothing of the group after it.
TEST(RealtimeTest, ResumeAfterBeingRemovedGetsWhatWasSentUntilTheRemovalAndNothingLater) {
  World w;
  auto phone = login(w.client, "bob", w.bob.password, "phone");
  WsClient a(w.port());
  a.hello(w.alice.token);
  WsClient online(w.port());  // bob's phone stays connected: the reference
  online.hello(phone.token);
  auto away = std::make_unique<WsClient>(w.port());
  auto start = away->hello(w.bob.token);
  away->drop();
  away.reset();

  auto m1 = send_ok(a, w.group, "while-member", "bob may still read this");
  auto removed = w.client.del("/api/v1/conversations/" + std::to_string(w.group) + "/members/" +
                                  std::to_string(w.bob.id),
                              w.alice.token);
  ASSERT_EQ(removed.status, 204) << removed.body;
  send_ok(a, w.group, "after-removal", "bob must not get this");
  expect_ok(a, object{{"type", "react"}, {"message_id", m1.at("message_id")}, {"emoji", "👋"}});
  auto renamed = w.client.patch("/api/v1/conversations/" + std::to_string(w.group),
                                object{{"name", "without bob"}}, w.alice.token);
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  auto direct_ack = send_ok(a, w.direct, "still-direct", "the direct conversation goes on");

  // Live: the message, the removal, then only the direct conversation.
  std::vector<object> live;
  while (live.empty() || position_of(live.back()) < direct_ack.at("position").as_int64()) {
    live.push_back(online.next_of_type("event"));
  }
  std::vector<std::string> live_types;
  for (const auto& event : live) live_types.push_back(event_type(event));
  ASSERT_EQ(live_types, (std::vector<std::string>{"message.new", "member.removed", "message.new"}));
  EXPECT_EQ(payload(live[0]).at("message").at("id"), m1.at("message_id"));
  EXPECT_EQ(payload(live[1]).at("user_id").as_int64(), w.bob.id);
  EXPECT_EQ(payload(live[2]).at("conversation_id").as_int64(), w.direct);

  // Resumed: the same events, at the same positions.
  WsClient back(w.port());
  auto caught = back.hello(w.bob.token, start.position);
  ASSERT_EQ(type_of(caught.marker), "synced") << dump(caught.marker);
  std::vector<std::string> types;
  for (const auto& event : caught.events) types.push_back(event_type(event));
  EXPECT_EQ(types, live_types) << "the resumed device must get what the connected one got";
  for (std::size_t i = 0; i < std::min(caught.events.size(), live.size()); ++i) {
    EXPECT_EQ(position_of(caught.events[i]), position_of(live[i])) << i;
  }
  // And the group's history is closed to him.
  auto history_reply =
      w.client.get("/api/v1/conversations/" + std::to_string(w.group) + "/messages", w.bob.token);
  EXPECT_EQ(history_reply.status, 404);
}

// A device that keeps dropping and resuming while messages pour in still
// ends up with every message exactly once, in order: the catch-up and the
// live events queued during it join without gaps or overlaps.
TEST(RealtimeTest, RepeatedDropsAndResumesUnderTrafficLoseAndDuplicateNothing) {
  World w;
  constexpr int kMessages = 150;
  WsClient first(w.port());
  std::int64_t last = first.hello(w.bob.token).position;
  first.drop();

  std::vector<object> acks;
  std::string failure;
  std::thread sender([&] {
    try {
      WsClient a(w.port());
      a.hello(w.alice.token);
      for (int i = 0; i < kMessages; ++i) {
        acks.push_back(send_ok(a, w.group, "stream-" + std::to_string(i), "message " + std::to_string(i)));
        // Paced, so that the traffic spans many of the reader's connections.
        std::this_thread::sleep_for(3ms);
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });

  std::vector<std::int64_t> received;
  int connections = 0;
  auto deadline = Clock::now() + 30s;
  auto take = [&](const object& frame) {
    if (type_of(frame) != "event") return;
    EXPECT_GT(position_of(frame), last) << "an event at or before the resume position";
    last = position_of(frame);
    received.push_back(payload(frame).at("message").at("id").as_int64());
  };
  while (received.size() < std::size_t{kMessages} && Clock::now() < deadline) {
    WsClient reader(w.port());
    ++connections;
    auto caught = reader.hello(w.bob.token, last);
    ASSERT_EQ(type_of(caught.marker), "synced") << dump(caught.marker);
    for (const auto& event : caught.events) take(event);
    EXPECT_EQ(caught.position, last) << "synced carries the last position sent";
    // Live for a short while, then gone without a goodbye.
    auto until = Clock::now() + std::chrono::milliseconds(10 + 17 * (connections % 4));
    for (auto left = left_until(until); left.count() > 0; left = left_until(until)) {
      auto frame = reader.try_next(left);
      if (frame) take(*frame);
    }
    reader.drop();
  }
  sender.join();
  ASSERT_EQ(failure, "");
  std::vector<std::int64_t> expected;
  for (const auto& ack : acks) expected.push_back(ack.at("message_id").as_int64());
  EXPECT_GT(connections, 3);
  EXPECT_EQ(received, expected) << "over " << connections << " connections";
}

TEST(RealtimeTest, NewDeviceWithoutPositionIsSyncedAtOnceThenGetsLiveEventsOnly) {
  World w;
  WsClient a(w.port());
  a.hello(w.alice.token);
  // Bob has never connected; messages wait for him in history, not in a
  // backlog for devices that give no position.
  object last_ack;
  for (int i = 0; i < 3; ++i) last_ack = send_ok(a, w.direct, "before-" + std::to_string(i), "while bob is offline");

  auto second_session = login(w.client, "bob", w.bob.password, "new phone");
  WsClient b(w.port());
  auto caught = b.hello(second_session.token);
  EXPECT_EQ(type_of(caught.marker), "synced");
  EXPECT_TRUE(caught.events.empty()) << dump(caught.events.front());
  EXPECT_EQ(caught.position, last_ack.at("position").as_int64()) << "synced must carry the current position";
  EXPECT_EQ(caught.welcome.at("user_id").as_int64(), w.bob.id);
  EXPECT_EQ(caught.welcome.at("session_id").as_int64(), second_session.session_id);

  auto messages = history(w.client, w.direct, second_session.token);
  ASSERT_EQ(messages.size(), 3U);
  EXPECT_EQ(messages.back().at("id"), last_ack.at("message_id"));

  auto live = send_ok(a, w.direct, "after", "now bob is here");
  auto event = b.next_of_type("event");
  EXPECT_EQ(payload(event).at("message").at("id"), live.at("message_id"));
  EXPECT_GT(position_of(event), caught.position);
  auto extra = only_events(frames_within(b, 300ms));
  EXPECT_TRUE(extra.empty()) << dump(extra.front());
}

TEST(RealtimeTest, CatchUpFromZeroAfterBeingAddedStartsAtTheJoin) {
  World w;
  auto eve = register_and_login(w.client, "eve");
  WsClient a(w.port());
  a.hello(w.alice.token);
  send_ok(a, w.group, "g-1", "before eve");
  send_ok(a, w.group, "g-2", "still before eve");
  make_contacts(w.client, w.alice, eve);
  auto added = w.client.post("/api/v1/conversations/" + std::to_string(w.group) + "/members",
                             object{{"username", "eve"}}, w.alice.token);
  ASSERT_EQ(added.status, 201) << added.body;
  auto after = send_ok(a, w.group, "g-3", "welcome eve");

  WsClient e(w.port());
  auto caught = e.hello(eve.token, 0);
  ASSERT_EQ(type_of(caught.marker), "synced") << dump(caught.marker);
  ASSERT_FALSE(caught.events.empty());
  std::int64_t previous = 0;
  int joined_at = -1;
  int welcome_at = -1;
  for (std::size_t i = 0; i < caught.events.size(); ++i) {
    const auto& event = caught.events[i];
    EXPECT_GT(position_of(event), previous);
    previous = position_of(event);
    const auto& body = payload(event);
    auto type = event_type(event);
    if (type == "member.added" && body.at("member").at("user").at("id").as_int64() == eve.id) {
      EXPECT_EQ(body.at("conversation_id").as_int64(), w.group);
      joined_at = static_cast<int>(i);
    }
    if (type == "message.new") {
      EXPECT_EQ(body.at("message").at("id"), after.at("message_id")) << "eve got a message from before she joined";
      welcome_at = static_cast<int>(i);
    }
    EXPECT_NE(type, "conversation.created") << "eve got the group's events from before she joined";
  }
  EXPECT_GE(joined_at, 0) << "her own member.added must be in her stream";
  EXPECT_GT(welcome_at, joined_at);
  EXPECT_EQ(caught.position, previous);
  // History is there for paging all the same.
  EXPECT_EQ(history(w.client, w.group, eve.token).size(), 3U);
}

TEST(RealtimeTest, TooFarBehindGetsResyncRequiredThenLiveEvents) {
  World w("[websocket]\nmax_resume_events = 5\n");
  WsClient a(w.port());
  a.hello(w.alice.token);
  WsClient b(w.port());
  auto start = b.hello(w.bob.token);
  b.drop();
  std::vector<object> acks;
  for (int i = 0; i < 10; ++i) acks.push_back(send_ok(a, w.direct, "far-" + std::to_string(i), "missed"));
  auto current = acks.back().at("position").as_int64();

  // Exactly at the limit: the 5 missed events are sent.
  {
    WsClient at_limit(w.port());
    auto caught = at_limit.hello(w.bob.token, acks[4].at("position").as_int64());
    ASSERT_EQ(type_of(caught.marker), "synced");
    ASSERT_EQ(caught.events.size(), 5U);
    EXPECT_EQ(payload(caught.events.front()).at("message").at("id"), acks[5].at("message_id"));
    EXPECT_EQ(caught.position, current);
  }
  // One more: told to resync.
  {
    WsClient over(w.port());
    auto caught = over.hello(w.bob.token, acks[3].at("position").as_int64());
    EXPECT_EQ(type_of(caught.marker), "resync_required");
    EXPECT_TRUE(caught.events.empty());
  }
  WsClient b2(w.port());
  auto caught = b2.hello(w.bob.token, start.position);
  ASSERT_EQ(type_of(caught.marker), "resync_required") << dump(caught.marker);
  EXPECT_TRUE(caught.events.empty()) << "a resync carries no events";
  EXPECT_EQ(caught.position, current) << "resync_required carries the current position";

  auto live = send_ok(a, w.direct, "after-resync", "live");
  auto event = b2.next_of_type("event");
  EXPECT_EQ(payload(event).at("message").at("id"), live.at("message_id"));
  EXPECT_GT(position_of(event), caught.position);
  // A position from the future (or another server) also means resync.
  WsClient future(w.port());
  auto ahead = future.hello(w.bob.token, current + 1000);
  EXPECT_EQ(type_of(ahead.marker), "resync_required");
}

// ---- multi-device --------------------------------------------------------------

TEST(RealtimeTest, AUsersOtherDevicesSeeWhatTheySendAndTheirReadReceipts) {
  World w;
  auto second = login(w.client, "alice", w.alice.password, "laptop");
  WsClient a1(w.port());
  a1.hello(w.alice.token);
  WsClient a2(w.port());
  a2.hello(second.token);
  WsClient b(w.port());
  b.hello(w.bob.token);

  std::vector<object> skipped;
  auto ack = send_ok(a1, w.direct, "from-a1", "sent on the phone", &skipped);
  auto on_a2 = a2.next_of_type("event");
  EXPECT_EQ(event_type(on_a2), "message.new");
  EXPECT_EQ(payload(on_a2).at("message").at("id"), ack.at("message_id"));
  EXPECT_EQ(payload(on_a2).at("message").at("client_id"), "from-a1");
  EXPECT_EQ(payload(on_a2).at("message").at("sender_id").as_int64(), w.alice.id);
  auto on_b = b.next_of_type("event");
  EXPECT_EQ(payload(on_b).at("message").at("id"), ack.at("message_id"));
  // The sending device gets the event too (same position as its ack).
  auto own = only_events(skipped);
  if (own.empty()) own.push_back(a1.next_of_type("event"));
  EXPECT_EQ(own.front().at("position"), ack.at("position"));

  auto reply = send_ok(b, w.direct, "from-b", "hi alice");
  a1.next_of_type("event");
  a2.next_of_type("event");
  auto own_at_b = b.next_of_type("event");  // bob's own message, after his ack
  EXPECT_EQ(payload(own_at_b).at("message").at("id"), reply.at("message_id"));
  expect_ok(a1, object{{"type", "read"}, {"conversation_id", w.direct}, {"seq", reply.at("seq")}});
  auto receipt = a2.next_of_type("event");
  EXPECT_EQ(event_type(receipt), "receipt.read") << dump(receipt);
  EXPECT_EQ(payload(receipt).at("user_id").as_int64(), w.alice.id);
  EXPECT_EQ(payload(receipt).at("seq"), reply.at("seq"));
  EXPECT_EQ(payload(receipt).at("conversation_id").as_int64(), w.direct);
  auto at_bob = b.next_of_type("event");
  EXPECT_EQ(event_type(at_bob), "receipt.read");
  // Reading the same again changes nothing and emits nothing.
  expect_ok(a1, object{{"type", "read"}, {"conversation_id", w.direct}, {"seq", reply.at("seq")}});
  auto extra = only_events(frames_within(a2, 300ms));
  EXPECT_TRUE(extra.empty()) << dump(extra.front());
}

// Sends written back to back, without waiting, as a busy client does: every
// one is answered exactly once (ack, duplicate ack or error), and on the
// sending device each new message's ack comes before the message's own
// event, also when several commits' answers and events travel together.
TEST(RealtimeTest, PipelinedSendsAreEachAnsweredOnceAckBeforeTheirOwnEvent) {
  World w;
  WsClient a(w.port());
  a.hello(w.alice.token);
  WsClient b(w.port());
  b.hello(w.bob.token);
  constexpr int kSends = 60;
  std::set<std::string> refs;
  for (int i = 0; i < kSends; ++i) {
    auto conversation = i % 2 == 0 ? w.direct : w.group;
    auto frame = send_frame(conversation, "piped-" + std::to_string(i), "message " + std::to_string(i));
    if (i == 31) {  // a re-send of message 3 (same conversation and text): answered as a duplicate
      frame["client_id"] = "piped-3";
      frame["text"] = "message 3";
    }
    if (i == 40) frame["conversation_id"] = 999999;  // nobody's: answered with an error
    frame["ref"] = "r" + std::to_string(i);
    refs.insert("r" + std::to_string(i));
    a.send(frame);
  }
  std::map<std::string, object> answers;         // by ref
  std::map<std::int64_t, std::size_t> acked_at;  // new message's position -> index of its ack
  std::map<std::int64_t, std::size_t> event_at;  // event position -> index in the stream
  std::size_t index = 0;
  auto deadline = Clock::now() + 20s;
  while (answers.size() < refs.size() || event_at.size() < acked_at.size()) {
    auto frame = a.next(std::max(left_until(deadline), 1ms));
    auto type = type_of(frame);
    if (type == "event") {
      EXPECT_TRUE(event_at.emplace(position_of(frame), index).second) << "an event twice: " << dump(frame);
    } else if (type == "ack" || type == "error") {
      auto ref = str(frame.at("ref"));
      EXPECT_TRUE(refs.contains(ref)) << dump(frame);
      EXPECT_TRUE(answers.emplace(ref, frame).second) << "answered twice: " << dump(frame);
      if (type == "ack" && !frame.at("duplicate").as_bool()) acked_at[frame.at("position").as_int64()] = index;
    }
    ++index;
  }
  ASSERT_EQ(answers.size(), static_cast<std::size_t>(kSends));
  EXPECT_EQ(type_of(answers.at("r31")), "ack") << dump(answers.at("r31"));
  EXPECT_TRUE(answers.at("r31").at("duplicate").as_bool());
  EXPECT_EQ(answers.at("r31").at("message_id"), answers.at("r3").at("message_id"));
  EXPECT_EQ(type_of(answers.at("r40")), "error");
  EXPECT_EQ(str(answers.at("r40").at("code")), "not_found");
  EXPECT_EQ(acked_at.size(), static_cast<std::size_t>(kSends - 2));
  for (const auto& [pos, ack_index] : acked_at) {
    ASSERT_TRUE(event_at.contains(pos)) << "no own event at position " << pos;
    EXPECT_LT(ack_index, event_at.at(pos)) << "the event at " << pos << " came before its ack";
  }
  // The other member got every new message once, in position order.
  std::vector<std::int64_t> at_bob;
  while (at_bob.size() < acked_at.size()) at_bob.push_back(position_of(b.next_of_type("event")));
  std::vector<std::int64_t> expected;
  for (const auto& [pos, ack_index] : acked_at) expected.push_back(pos);
  EXPECT_EQ(at_bob, expected);
}

// A client that keeps 100 sends in flight on one connection, more than the
// server's max_inflight_writes (64), so that the server pauses its reads
// again and again while answers are due: every send is acknowledged once,
// in the order sent, and the sender's own message.new for each arrives
// once, in position order, after its ack, and the connection never closes.
// (Answers held back until something else happened would leave such a
// client waiting on a connection the server has stopped reading.)
TEST(RealtimeTest, AHundredSendsInFlightAreAllAnsweredInOrderWithoutStalling) {
  World w(
      "[websocket]\nframes_per_second = 100000\nframe_burst = 100000\nuser_frames_per_second = 100000\n"
      "user_frame_burst = 100000\n");
  WsClient a(w.port());
  a.hello(w.alice.token);
  constexpr int kSends = 1200;
  constexpr int kInFlight = 100;
  auto send = [&](int i) {
    auto frame = send_frame(w.direct, "flight-" + std::to_string(i), "message " + std::to_string(i));
    frame["ref"] = "f" + std::to_string(i);
    a.send(frame);
  };
  int sent = 0;
  while (sent < kInFlight) send(sent++);
  int acked = 0;
  std::vector<std::int64_t> ack_positions;    // in the order the acks came
  std::vector<std::int64_t> event_positions;  // own message.new, in the order they came
  std::set<std::int64_t> acked_positions;
  auto deadline = Clock::now() + 120s;
  while (acked < kSends || event_positions.size() < ack_positions.size()) {
    object frame;
    try {
      frame = a.next(std::max(left_until(deadline), 1ms));
    } catch (const std::exception& e) {
      FAIL() << e.what() << " after " << acked << " acks and " << event_positions.size()
             << " own events; closed=" << a.closed() << " code=" << a.close_code();
    }
    auto type = type_of(frame);
    if (type == "ack") {
      ASSERT_EQ(str(frame.at("ref")), "f" + std::to_string(acked)) << "ack out of order: " << dump(frame);
      ASSERT_FALSE(frame.at("duplicate").as_bool()) << dump(frame);
      auto pos = frame.at("position").as_int64();
      ASSERT_TRUE(acked_positions.insert(pos).second) << "two acks at one position: " << dump(frame);
      ack_positions.push_back(pos);
      ++acked;
      if (sent < kSends) send(sent++);
    } else if (type == "event") {
      ASSERT_EQ(event_type(frame), "message.new") << dump(frame);
      auto pos = position_of(frame);
      ASSERT_TRUE(acked_positions.contains(pos)) << "own event before its ack: " << dump(frame);
      ASSERT_TRUE(event_positions.empty() || event_positions.back() < pos) << "event out of order: " << dump(frame);
      event_positions.push_back(pos);
    } else if (type != "presence") {
      FAIL() << "unexpected frame: " << dump(frame);
    }
  }
  EXPECT_EQ(event_positions, ack_positions);
  EXPECT_FALSE(a.closed());
  // Nothing more: each ack and each event came exactly once.
  for (const auto& frame : frames_within(a, 300ms)) {
    EXPECT_EQ(type_of(frame), "presence") << "one more: " << dump(frame);
  }
}

// ---- message operations --------------------------------------------------------

TEST(RealtimeTest, EditsDeletionsReactionsRepliesAndMentions) {
  World w;
  auto dave = register_and_login(w.client, "dave");  // not in the group
  WsClient a(w.port());
  a.hello(w.alice.token);
  WsClient b(w.port());
  b.hello(w.bob.token);
  WsClient c(w.port());
  c.hello(w.carol.token);

  // Mentions: members named with @ in a group; never in a direct conversation.
  auto m1 = send_ok(a, w.group, "m1", "hi @bob and @Carol, not @dave nor @nobody");
  auto id = m1.at("message_id").as_int64();
  auto event = b.next_of_type("event");
  auto mentions = payload(event).at("message").at("mentions").as_array();
  std::vector<std::int64_t> mentioned;
  for (const auto& user : mentions) mentioned.push_back(user.as_int64());
  std::sort(mentioned.begin(), mentioned.end());
  std::vector<std::int64_t> expected = {w.bob.id, w.carol.id};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(mentioned, expected) << dump(event);
  auto in_direct = send_ok(a, w.direct, "d1", "hi @bob");
  auto direct_event = b.next_of_type("event");
  EXPECT_EQ(payload(direct_event).at("message").at("id"), in_direct.at("message_id"));
  EXPECT_TRUE(payload(direct_event).at("message").at("mentions").as_array().empty()) << dump(direct_event);

  // Edit: the sender only.
  expect_ok(a, object{{"type", "edit"}, {"message_id", id}, {"text", "hi @bob, edited"}});
  auto edited = b.next_of_type("event");
  ASSERT_EQ(event_type(edited), "message.edited") << dump(edited);
  EXPECT_EQ(payload(edited).at("message").at("text"), "hi @bob, edited");
  EXPECT_TRUE(payload(edited).at("message").at("edited_at").is_int64()) << dump(edited);
  EXPECT_EQ(payload(edited).at("message").at("mentions").as_array().size(), 1U);
  auto refused = b.request(object{{"type", "edit"}, {"message_id", id}, {"text", "not mine"}});
  EXPECT_EQ(type_of(refused), "error");
  EXPECT_EQ(refused.at("code"), "forbidden") << dump(refused);
  auto outsider = b.request(object{{"type", "edit"}, {"message_id", 999999}, {"text", "nothing"}});
  EXPECT_EQ(outsider.at("code"), "not_found") << dump(outsider);

  // Reactions: adding twice emits once; removing twice emits once. A fresh
  // device of alice's watches the group's stream from here on.
  WsClient watch(w.port());
  watch.hello(w.alice.token);
  expect_ok(b, object{{"type", "react"}, {"message_id", id}, {"emoji", "👍"}});
  expect_ok(b, object{{"type", "react"}, {"message_id", id}, {"emoji", "👍"}});
  auto marker1 = send_ok(c, w.group, "marker-1", "marker");
  auto reaction = watch.next_of_type("event");
  EXPECT_EQ(event_type(reaction), "reaction.added") << dump(reaction);
  EXPECT_EQ(payload(reaction).at("user_id").as_int64(), w.bob.id);
  EXPECT_EQ(payload(reaction).at("emoji"), "👍");
  EXPECT_EQ(payload(reaction).at("message_id").as_int64(), id);
  auto after_reaction = watch.next_of_type("event");
  EXPECT_EQ(event_type(after_reaction), "message.new") << "adding a reaction twice must emit once";
  EXPECT_EQ(payload(after_reaction).at("message").at("id"), marker1.at("message_id"));
  auto with_reaction = history(w.client, w.group, w.alice.token);
  ASSERT_EQ(with_reaction.front().at("reactions").as_array().size(), 1U);
  EXPECT_EQ(with_reaction.front().at("reactions").at(0).at("user_ids").as_array().size(), 1U);

  expect_ok(b, object{{"type", "react"}, {"message_id", id}, {"emoji", "👍"}, {"remove", true}});
  expect_ok(b, object{{"type", "react"}, {"message_id", id}, {"emoji", "👍"}, {"remove", true}});
  auto marker2 = send_ok(c, w.group, "marker-2", "marker");
  auto removed = watch.next_of_type("event");
  EXPECT_EQ(event_type(removed), "reaction.removed") << dump(removed);
  auto after_removal = watch.next_of_type("event");
  EXPECT_EQ(payload(after_removal).at("message").at("id"), marker2.at("message_id"))
      << "removing a reaction twice must emit once: " << dump(after_removal);

  // Replies: to a message of the same conversation only.
  auto reply_frame = send_frame(w.group, "reply-1", "answering");
  reply_frame["reply_to"] = id;
  auto reply = b.request(reply_frame);
  ASSERT_EQ(type_of(reply), "ack") << dump(reply);
  auto reply_event = watch.next_of_type("event");
  EXPECT_EQ(payload(reply_event).at("message").at("reply_to").as_int64(), id);
  auto cross = send_frame(w.group, "reply-2", "answering elsewhere");
  cross["reply_to"] = in_direct.at("message_id");
  auto cross_reply = b.request(cross);
  EXPECT_EQ(type_of(cross_reply), "error");
  EXPECT_EQ(cross_reply.at("code"), "validation_failed") << dump(cross_reply);
  auto missing = send_frame(w.group, "reply-3", "answering nothing");
  missing["reply_to"] = 987654;
  EXPECT_EQ(b.request(missing).at("code"), "validation_failed");
  auto group_history = history(w.client, w.group, w.alice.token);
  EXPECT_EQ(group_history.size(), 4U) << "refused replies must store nothing";

  // Deletion: a tombstone, live and in history. A plain member may not
  // delete someone else's message.
  auto not_admin = b.request(object{{"type", "delete"}, {"message_id", id}});
  EXPECT_EQ(not_admin.at("code"), "forbidden") << dump(not_admin);
  expect_ok(a, object{{"type", "delete"}, {"message_id", id}});
  auto deleted = watch.next_of_type("event");
  ASSERT_EQ(event_type(deleted), "message.deleted") << "refused frames must emit nothing: " << dump(deleted);
  EXPECT_EQ(payload(deleted).at("message_id").as_int64(), id);
  EXPECT_EQ(payload(deleted).at("seq"), m1.at("seq"));
  auto after_delete = history(w.client, w.group, w.bob.token);
  ASSERT_EQ(after_delete.front().at("id").as_int64(), id);
  EXPECT_EQ(after_delete.front().at("deleted"), true);
  EXPECT_EQ(after_delete.front().at("text"), "");
  EXPECT_TRUE(after_delete.front().at("mentions").as_array().empty());
  EXPECT_TRUE(after_delete.front().at("reactions").as_array().empty());
  EXPECT_EQ(after_delete.size(), 4U) << "a deleted message keeps its place";
  auto edit_deleted = a.request(object{{"type", "edit"}, {"message_id", id}, {"text", "too late"}});
  EXPECT_EQ(edit_deleted.at("code"), "conflict") << dump(edit_deleted);
  auto react_deleted = b.request(object{{"type", "react"}, {"message_id", id}, {"emoji", "👍"}});
  EXPECT_EQ(react_deleted.at("code"), "conflict") << dump(react_deleted);
  // A device catching up later sees the tombstone too.
  WsClient late(w.port());
  auto caught = late.hello(w.carol.token, 0);
  bool saw_tombstone = false;
  for (const auto& e : caught.events) {
    if (event_type(e) == "message.new" && payload(e).at("message").at("id").as_int64() == id) {
      EXPECT_EQ(payload(e).at("message").at("deleted"), true);
      EXPECT_EQ(payload(e).at("message").at("text"), "");
    }
    if (event_type(e) == "message.deleted") saw_tombstone = true;
  }
  EXPECT_TRUE(saw_tombstone);
  (void)dave;
}

// ---- typing and presence -----------------------------------------------------

TEST(RealtimeTest, TypingReachesOtherMembersOnlyAndIsThrottled) {
  World w;
  auto second = login(w.client, "alice", w.alice.password, "laptop");
  WsClient a1(w.port());
  a1.hello(w.alice.token);
  WsClient a2(w.port());
  a2.hello(second.token);
  WsClient b(w.port());
  b.hello(w.bob.token);

  a1.send(object{{"type", "typing"}, {"conversation_id", w.group}});
  auto typing = next_not_presence(b);
  ASSERT_EQ(type_of(typing), "typing") << dump(typing);
  EXPECT_EQ(typing.at("conversation_id").as_int64(), w.group);
  EXPECT_EQ(typing.at("user_id").as_int64(), w.alice.id);
  EXPECT_EQ(typing.at("expires_in_ms").as_int64(), 6000);

  // Again at once: dropped. A message sent after it arrives first.
  a1.send(object{{"type", "typing"}, {"conversation_id", w.group}});
  auto marker = send_ok(a1, w.group, "after-typing", "done typing");
  auto next = next_not_presence(b);
  EXPECT_EQ(type_of(next), "event") << "a second typing within 2 s must be dropped: " << dump(next);
  // Not to the typist's own devices.
  auto on_a2 = next_not_presence(a2);
  EXPECT_EQ(type_of(on_a2), "event") << "typing must not reach the sender's devices: " << dump(on_a2);
  EXPECT_EQ(payload(on_a2).at("message").at("id"), marker.at("message_id"));

  // Typing where one is not a member is refused.
  auto elsewhere = create_group(w.client, w.bob, "bob only", {});
  auto refused = a1.request(object{{"type", "typing"}, {"conversation_id", elsewhere}});
  EXPECT_EQ(type_of(refused), "error");
  EXPECT_EQ(refused.at("code"), "not_found") << dump(refused);

  // After the interval it goes through again.
  std::this_thread::sleep_for(2100ms);
  a1.send(object{{"type", "typing"}, {"conversation_id", w.group}});
  auto again = b.next_of_type("typing");
  EXPECT_EQ(again.at("user_id").as_int64(), w.alice.id);
}

// Typing reads a conversation's members from memory once they are known:
// a member added or removed afterwards must count at once.
TEST(RealtimeTest, TypingFollowsMembershipChangesAfterTheMembersAreKnown) {
  World w;
  auto pair = create_group(w.client, w.alice, "pair", {w.bob});
  WsClient a(w.port());
  a.hello(w.alice.token);
  WsClient b(w.port());
  b.hello(w.bob.token);
  WsClient c(w.port());
  c.hello(w.carol.token);

  // Known now: alice and bob.
  a.send(object{{"type", "typing"}, {"conversation_id", pair}});
  EXPECT_EQ(b.next_of_type("typing").at("user_id").as_int64(), w.alice.id);

  auto added = w.client.post("/api/v1/conversations/" + std::to_string(pair) + "/members",
                             object{{"username", "carol"}}, w.alice.token);
  ASSERT_EQ(added.status, 201) << added.body;
  auto joined = c.next_of_type("event");
  ASSERT_EQ(event_type(joined), "member.added") << dump(joined);
  // The new member hears the next typing.
  b.send(object{{"type", "typing"}, {"conversation_id", pair}});
  auto heard = c.next_of_type("typing");
  EXPECT_EQ(heard.at("user_id").as_int64(), w.bob.id);
  EXPECT_EQ(heard.at("conversation_id").as_int64(), pair);

  auto removed = w.client.del("/api/v1/conversations/" + std::to_string(pair) + "/members/" +
                                  std::to_string(w.carol.id),
                              w.alice.token);
  ASSERT_EQ(removed.status, 204) << removed.body;
  auto gone = c.next_of_type("event");
  ASSERT_EQ(event_type(gone), "member.removed") << dump(gone);
  // A removed member's typing is refused; the ping after it is a barrier,
  // so that "nothing went through" needs no timeout.
  c.send(object{{"type", "typing"}, {"conversation_id", pair}, {"ref", "t"}});
  c.send(object{{"type", "ping"}, {"ref", "barrier"}});
  auto answer = next_not_presence(c);
  ASSERT_EQ(type_of(answer), "error") << "a removed member's typing must be refused: " << dump(answer);
  EXPECT_EQ(answer.at("code"), "not_found") << dump(answer);
  EXPECT_EQ(type_of(next_not_presence(c)), "pong");
}

bool lists_user(const object& welcome, std::int64_t user, bool* online = nullptr) {
  for (const auto& entry : welcome.at("presence").as_array()) {
    if (entry.at("user_id").as_int64() == user) {
      if (online != nullptr) *online = entry.at("online").as_bool();
      return true;
    }
  }
  return false;
}

TEST(RealtimeTest, PresenceFollowsConnectionsAndRespectsPrivacy) {
  World w;
  WsClient a(w.port());
  auto alice_view = a.hello(w.alice.token);
  bool online = true;
  ASSERT_TRUE(lists_user(alice_view.welcome, w.bob.id, &online)) << dump(alice_view.welcome);
  EXPECT_FALSE(online);

  auto b = std::make_unique<WsClient>(w.port());
  auto bob_view = b->hello(w.bob.token);
  ASSERT_TRUE(lists_user(bob_view.welcome, w.alice.id, &online)) << dump(bob_view.welcome);
  EXPECT_TRUE(online);
  auto came = a.next_of_type("presence");
  EXPECT_EQ(came.at("user_id").as_int64(), w.bob.id);
  EXPECT_EQ(came.at("online"), true);

  b->drop();
  b.reset();
  auto left = a.next_of_type("presence");
  EXPECT_EQ(left.at("user_id").as_int64(), w.bob.id);
  EXPECT_EQ(left.at("online"), false);
  EXPECT_TRUE(left.at("last_seen_at").is_int64());

  // Bob hides his last seen: no presence frames, not in welcome.presence.
  auto patched = w.client.patch("/api/v1/me/settings", object{{"last_seen_visibility", "nobody"}}, w.bob.token);
  ASSERT_EQ(patched.status, 200) << patched.body;
  WsClient hidden(w.port());
  auto hidden_view = hidden.hello(w.bob.token);
  auto marker = send_ok(hidden, w.direct, "hidden-1", "you cannot see me");
  auto next = a.next(5s);
  EXPECT_EQ(type_of(next), "event") << "presence of a user who shows it to nobody: " << dump(next);
  WsClient a2(w.port());
  auto second_view = a2.hello(w.alice.token);
  EXPECT_FALSE(lists_user(second_view.welcome, w.bob.id)) << dump(second_view.welcome);
  // Bob still sees alice (her setting is the default).
  EXPECT_TRUE(lists_user(hidden_view.welcome, w.alice.id));
  (void)marker;
  // Nor when he leaves.
  hidden.drop();
  std::this_thread::sleep_for(300ms);
  auto after_leaving = send_ok(a2, w.direct, "after-hidden-left", "are you there?");
  auto seen = a.next(5s);
  EXPECT_EQ(type_of(seen), "event") << "presence of a user who shows it to nobody: " << dump(seen);
  (void)after_leaving;
}

// Two users who become contacts see each other's presence at once, without
// reconnecting: by accepting an invitation, and by inviting someone who had
// invited them; a user who shows it to nobody is not shown.
TEST(RealtimeTest, NewContactsGetEachOthersPresenceWithoutReconnecting) {
  ServerProcess server;
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  auto dave = register_and_login(client, "dave");
  auto erin = register_and_login(client, "erin");
  auto hide = client.patch("/api/v1/me/settings", object{{"last_seen_visibility", "nobody"}}, carol.token);
  ASSERT_EQ(hide.status, 200) << hide.body;
  WsClient a(server.port());
  EXPECT_FALSE(lists_user(a.hello(alice.token).welcome, bob.id));
  WsClient b(server.port());
  b.hello(bob.token);
  WsClient c(server.port());
  c.hello(carol.token);
  WsClient d(server.port());
  d.hello(dave.token);

  // Accepting an invitation.
  make_contacts(client, bob, alice);
  auto bob_seen = a.next_of_type("presence");
  EXPECT_EQ(bob_seen.at("user_id").as_int64(), bob.id) << dump(bob_seen);
  EXPECT_EQ(bob_seen.at("online"), true) << dump(bob_seen);
  EXPECT_TRUE(bob_seen.at("last_seen_at").is_int64()) << dump(bob_seen);
  auto alice_seen = b.next_of_type("presence");
  EXPECT_EQ(alice_seen.at("user_id").as_int64(), alice.id) << dump(alice_seen);
  EXPECT_EQ(alice_seen.at("online"), true) << dump(alice_seen);

  // A new contact who never connected: offline, never seen.
  make_contacts(client, erin, alice);
  auto erin_seen = a.next_of_type("presence");
  EXPECT_EQ(erin_seen.at("user_id").as_int64(), erin.id) << dump(erin_seen);
  EXPECT_EQ(erin_seen.at("online"), false) << dump(erin_seen);
  EXPECT_TRUE(erin_seen.at("last_seen_at").is_null()) << dump(erin_seen);

  // Inviting back (which accepts at once); carol shows her presence to
  // nobody: dave is not told of her, she is told of him.
  auto invited = client.post("/api/v1/contacts/invitations", object{{"username", "carol"}}, dave.token);
  ASSERT_EQ(invited.status, 201) << invited.body;
  auto accepted = client.post("/api/v1/contacts/invitations", object{{"username", "dave"}}, carol.token);
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  ASSERT_EQ(accepted.json().at("state"), "accepted") << accepted.body;
  auto dave_seen = c.next_of_type("presence");
  EXPECT_EQ(dave_seen.at("user_id").as_int64(), dave.id) << dump(dave_seen);
  EXPECT_EQ(dave_seen.at("online"), true) << dump(dave_seen);
  // The presence frames were queued before the HTTP reply: everything dave's
  // device got before the answer to a later ping includes any of them.
  std::vector<object> before_pong;
  auto pong = d.request(object{{"type", "ping"}}, &before_pong);
  ASSERT_EQ(type_of(pong), "pong") << dump(pong);
  for (const auto& frame : before_pong) {
    EXPECT_NE(type_of(frame), "presence") << "presence of a user who shows it to nobody: " << dump(frame);
  }
  EXPECT_FALSE(lists_user(WsClient(server.port()).hello(dave.token).welcome, carol.id));
}

// ---- close codes ----------------------------------------------------------------

TEST(RealtimeTest, RevokedSessionIsClosedWith4403AndShutdownClosesWith1001) {
  World w;
  auto phone = login(w.client, "bob", w.bob.password, "phone");
  WsClient revoked(w.port());
  revoked.hello(phone.token);
  WsClient kept(w.port());
  kept.hello(w.bob.token);
  auto reply = w.client.del("/api/v1/sessions/" + std::to_string(phone.session_id), w.bob.token);
  ASSERT_EQ(reply.status, 204) << reply.body;
  int code = revoked.wait_closed();
  EXPECT_EQ(revoked.peer_close_code() != 0 ? revoked.peer_close_code() : code, 4403);
  // Its token no longer opens a connection; the other session is unaffected.
  WsClient again(w.port());
  again.send(object{{"type", "hello"}, {"token", phone.token}});
  EXPECT_EQ(again.wait_closed(), 4401);
  WsClient a(w.port());
  a.hello(w.alice.token);
  auto ack = send_ok(a, w.direct, "to-kept", "still connected?");
  EXPECT_EQ(payload(kept.next_of_type("event")).at("message").at("id"), ack.at("message_id"));

  // SIGTERM: every device is told the server is going away.
  ASSERT_EQ(::kill(w.server.pid_for_tests(), SIGTERM), 0);
  code = kept.wait_closed(10s);
  EXPECT_EQ(kept.peer_close_code() != 0 ? kept.peer_close_code() : code, 1001);
  code = a.wait_closed(10s);
  EXPECT_EQ(a.peer_close_code() != 0 ? a.peer_close_code() : code, 1001);
  EXPECT_EQ(w.server.wait_exit(), 0);
}

// ---- durability --------------------------------------------------------------

TEST(RealtimeTest, AcknowledgedMessagesSurviveKill9) {
  ServerProcess server;
  std::vector<TestUser> senders;
  std::int64_t group = 0;
  {
    HttpClient client(server.port());
    for (int i = 0; i < 4; ++i) senders.push_back(register_and_login(client, "sender" + std::to_string(i)));
    for (int i = 1; i < 4; ++i) make_contacts(client, senders[0], senders[i]);
    group = create_group(client, senders[0], "durable", std::vector<TestUser>(senders.begin() + 1, senders.end()));
  }

  struct Acked {
    std::int64_t message_id = 0;
    std::int64_t seq = 0;
  };
  struct Sender {
    std::map<std::string, Acked> acked;
    std::optional<std::string> in_flight;
    std::string failure;
  };
  std::vector<Sender> results(senders.size());
  std::vector<std::unique_ptr<WsClient>> connections;
  for (const auto& sender : senders) {
    connections.push_back(std::make_unique<WsClient>(server.port()));
    connections.back()->hello(sender.token);
  }
  std::vector<std::thread> threads;
  for (std::size_t s = 0; s < senders.size(); ++s) {
    threads.emplace_back([&, s] {
      auto& ws = *connections[s];
      auto& result = results[s];
      for (int i = 0; i < 100000; ++i) {
        std::string client_id = "s" + std::to_string(s) + "-" + std::to_string(i);
        result.in_flight = client_id;
        try {
          auto frame = send_frame(group, client_id, "durable " + client_id);
          frame["ref"] = client_id;
          ws.send(frame);
          for (;;) {
            auto reply = ws.next(10s);
            if (!reply.contains("ref") || reply.at("ref").as_string() != client_id) continue;
            if (type_of(reply) != "ack") {
              result.failure = dump(reply);
              return;
            }
            result.acked[client_id] = {reply.at("message_id").as_int64(), reply.at("seq").as_int64()};
            break;
          }
        } catch (const std::exception&) {
          return;  // the server died: this one is in flight
        }
        result.in_flight.reset();
      }
    });
  }
  std::this_thread::sleep_for(1500ms);
  server.kill9();
  for (auto& thread : threads) thread.join();
  connections.clear();

  server.start();
  HttpClient client(server.port());
  std::size_t acked_count = 0;
  for (const auto& result : results) {
    ASSERT_EQ(result.failure, "");
    acked_count += result.acked.size();
  }
  ASSERT_GT(acked_count, 0U) << "nothing was acknowledged before the kill";

  auto check_history = [&](std::map<std::string, object>& by_client_id) {
    auto messages = history(client, group, senders[0].token);
    by_client_id.clear();
    for (std::size_t i = 0; i < messages.size(); ++i) {
      EXPECT_EQ(messages[i].at("seq").as_int64(), static_cast<std::int64_t>(i + 1)) << "seqs must be gapless";
      auto client_id = str(messages[i].at("client_id"));
      EXPECT_TRUE(by_client_id.emplace(client_id, messages[i]).second) << "client id stored twice: " << client_id;
    }
    return messages.size();
  };
  std::map<std::string, object> stored;
  auto count = check_history(stored);
  EXPECT_GE(count, acked_count);
  for (const auto& result : results) {
    for (const auto& [client_id, acked] : result.acked) {
      auto it = stored.find(client_id);
      ASSERT_NE(it, stored.end()) << "acknowledged message lost by kill -9: " << client_id;
      EXPECT_EQ(it->second.at("id").as_int64(), acked.message_id) << client_id;
      EXPECT_EQ(it->second.at("seq").as_int64(), acked.seq) << client_id;
    }
  }

  // Retrying what was in flight: stored ones are duplicates, others new.
  std::size_t added = 0;
  for (std::size_t s = 0; s < senders.size(); ++s) {
    if (!results[s].in_flight) continue;
    const auto& client_id = *results[s].in_flight;
    WsClient retry(server.port());
    retry.hello(senders[s].token);
    auto ack = send_ok(retry, group, client_id, "durable " + client_id);
    auto it = stored.find(client_id);
    if (it != stored.end()) {
      EXPECT_TRUE(ack.at("duplicate").as_bool()) << client_id;
      EXPECT_EQ(ack.at("message_id"), it->second.at("id"));
      EXPECT_EQ(ack.at("seq"), it->second.at("seq"));
    } else {
      EXPECT_FALSE(ack.at("duplicate").as_bool()) << client_id;
      ++added;
    }
  }
  std::map<std::string, object> after_retry;
  EXPECT_EQ(check_history(after_retry), count + added);
}

}  // namespace
}  // namespace parley::test
