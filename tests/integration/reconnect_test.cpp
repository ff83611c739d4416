// What a reconnection is answered from memory (docs/architecture.md
// "Sessions from memory", "Presence from memory", "Catch-up from memory"),
// black box: every way a session ends takes effect at the very next
// connect and on live connections; last-used times are shown at once and
// written once per interval; presence follows contacts, blocks and
// memberships as they change; a resume with nothing new is synced at its
// own position and then gets live events.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;
using boost::json::object;

std::string type_of(const object& frame) { return std::string(frame.at("type").as_string()); }
std::string dump(const object& frame) { return boost::json::serialize(frame); }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- sessions ----------------------------------------------------------------

// A token that was used over HTTP and over a WebSocket (so the server knows
// it from memory), with that WebSocket still open.
struct UsedSession {
  UsedSession(std::uint16_t port, const HttpClient& client, TestUser who) : user(std::move(who)), ws(port) {
    EXPECT_EQ(client.get("/api/v1/me", user.token).status, 200);
    ws.hello(user.token);
    EXPECT_EQ(client.get("/api/v1/me", user.token).status, 200);
  }
  TestUser user;
  WsClient ws;
};

// The session has ended: its live connection was closed with 4403, and
// its token is refused at once, over HTTP and at the next hello.
void expect_ended(std::uint16_t port, const HttpClient& client, UsedSession& used, const std::string& how) {
  int code = used.ws.wait_closed();
  EXPECT_EQ(used.ws.peer_close_code() != 0 ? used.ws.peer_close_code() : code, 4403) << how;
  EXPECT_EQ(client.get("/api/v1/me", used.user.token).status, 401) << how;
  WsClient again(port);
  again.send(object{{"type", "hello"}, {"token", used.user.token}});
  EXPECT_EQ(again.wait_closed(), 4401) << how;
}

void expect_alive(const HttpClient& client, const TestUser& user, const std::string& how) {
  EXPECT_EQ(client.get("/api/v1/me", user.token).status, 200) << how;
}

TEST(ReconnectTest, EveryWayASessionEndsTakesEffectAtTheNextConnectAndOnLiveConnections) {
  ServerProcess server;
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");

  {
    UsedSession phone(server.port(), client, login(client, "alice", alice.password, "phone"));
    ASSERT_EQ(client.del("/api/v1/sessions/current", phone.user.token).status, 204);
    expect_ended(server.port(), client, phone, "logout");
  }
  {
    UsedSession phone(server.port(), client, login(client, "alice", alice.password, "phone"));
    ASSERT_EQ(client.del("/api/v1/sessions/" + std::to_string(phone.user.session_id), alice.token).status, 204);
    expect_ended(server.port(), client, phone, "revoked by id");
  }
  {
    UsedSession phone(server.port(), client, login(client, "alice", alice.password, "phone"));
    UsedSession tablet(server.port(), client, login(client, "alice", alice.password, "tablet"));
    ASSERT_EQ(client.post("/api/v1/sessions/revoke-others", object{}, alice.token).status, 200);
    expect_ended(server.port(), client, phone, "revoke others (phone)");
    expect_ended(server.port(), client, tablet, "revoke others (tablet)");
    expect_alive(client, alice, "revoke others keeps the caller");
  }
  {
    UsedSession phone(server.port(), client, login(client, "alice", alice.password, "phone"));
    auto changed = client.post("/api/v1/me/password",
                               object{{"current_password", alice.password}, {"new_password", "a new passphrase"}},
                               alice.token);
    ASSERT_EQ(changed.status, 204) << changed.body;
    expect_ended(server.port(), client, phone, "password change");
    expect_alive(client, alice, "password change keeps the caller");
    alice.password = "a new passphrase";
  }
  {
    UsedSession phone(server.port(), client, login(client, "alice", alice.password, "phone"));
    UsedSession laptop(server.port(), client, alice);
    auto deleted = client.request("DELETE", "/api/v1/me", boost::json::serialize(object{{"password", alice.password}}),
                                  alice.token);
    ASSERT_EQ(deleted.status, 204) << deleted.body;
    expect_ended(server.port(), client, phone, "account deletion (phone)");
    expect_ended(server.port(), client, laptop, "account deletion (the caller)");
  }
}

TEST(ReconnectTest, AnIdleSessionExpiresFromMemoryToo) {
  ServerOptions options;
  options.extra_config = "[auth]\npassword_memory_kib = 19456\npassword_passes = 2\nsession_idle_timeout_seconds = 1\n";
  ServerProcess server(options);
  HttpClient client(server.port());
  auto jane = register_and_login(client, "jane");
  {
    WsClient ws(server.port());
    ws.hello(jane.token);  // known from memory from now on
  }
  // Time passing is what is tested here.
  std::this_thread::sleep_for(2100ms);
  WsClient late(server.port());
  late.send(object{{"type", "hello"}, {"token", jane.token}});
  EXPECT_EQ(late.wait_closed(), 4401);
  EXPECT_EQ(client.get("/api/v1/me", jane.token).status, 401);
}

std::int64_t listed_last_seen(const HttpClient& client, const TestUser& viewer, std::int64_t session) {
  auto reply = client.get("/api/v1/sessions", viewer.token);
  if (reply.status != 200) throw std::runtime_error("sessions: " + reply.body);
  auto body = reply.json();
  for (const auto& entry : body.at("sessions").as_array()) {
    if (entry.at("id").as_int64() == session) return entry.at("last_seen_at").as_int64();
  }
  throw std::runtime_error("session not listed");
}

// Sessions' last uses and users' last-seen times written once an hour.
constexpr const char* kHourlyFlushConfig =
    "[auth]\npassword_memory_kib = 19456\npassword_passes = 2\nsession_touch_interval_seconds = 3600\n";

// With an interval of an hour: a use shows in the sessions list at once
// (from memory), is not written per use (a crash loses it), and is written
// at a clean shutdown.
TEST(ReconnectTest, LastUsedIsShownAtOnceAndWrittenOncePerIntervalNotPerUse) {
  ServerOptions options;
  options.extra_config = kHourlyFlushConfig;
  ServerProcess server(options);
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  auto phone = login(client, "alice", alice.password, "phone");
  auto created = listed_last_seen(client, alice, phone.session_id);

  // Time must pass between the login and the use for the use to show.
  while (now_ms() <= created + 5) std::this_thread::sleep_for(5ms);
  auto used_at = now_ms();
  {
    WsClient ws(server.port());
    ws.hello(phone.token);
    EXPECT_GE(listed_last_seen(client, alice, phone.session_id), used_at) << "the use is shown from memory";
  }
  server.kill9();
  server.start();
  HttpClient after_crash(server.port());
  EXPECT_EQ(listed_last_seen(after_crash, alice, phone.session_id), created)
      << "a use within the interval is not written on its own";

  while (now_ms() <= created + 10) std::this_thread::sleep_for(5ms);
  used_at = now_ms();
  ASSERT_EQ(after_crash.get("/api/v1/me", phone.token).status, 200);
  ASSERT_EQ(server.terminate(), 0);
  server.start();
  HttpClient after_restart(server.port());
  EXPECT_GE(listed_last_seen(after_restart, alice, phone.session_id), used_at) << "written at shutdown";
}

// ---- presence ----------------------------------------------------------------

// `subject`'s last_seen_at in the presence list of a welcome (null: never
// seen offline).
boost::json::value listed_last_seen_in(const object& welcome, std::int64_t subject) {
  for (const auto& entry : welcome.at("presence").as_array()) {
    if (entry.at("user_id").as_int64() == subject) return entry.at("last_seen_at");
  }
  throw std::runtime_error("not in the presence list: " + dump(welcome));
}

// With an interval of an hour: the time a user was last seen shows at once
// (from memory), is not written per disconnection (a crash loses it), and
// is written at a clean shutdown.
TEST(ReconnectTest, LastSeenIsShownAtOnceAndWrittenOncePerIntervalNotPerDisconnection) {
  ServerOptions options;
  options.extra_config = kHourlyFlushConfig;
  ServerProcess server(options);
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  make_contacts(client, bob, alice);
  // bob comes and goes while alice watches; returns the time she is told.
  auto bob_comes_and_goes = [&] {
    WsClient viewer(server.port());
    viewer.hello(alice.token);
    auto subject = std::make_unique<WsClient>(server.port());
    subject->hello(bob.token);
    EXPECT_EQ(viewer.next_of_type("presence").at("online"), true);
    subject->drop();
    auto left = viewer.next_of_type("presence");
    EXPECT_EQ(left.at("online"), false) << dump(left);
    return left.at("last_seen_at").as_int64();
  };
  auto last_seen_by_alice = [&] {
    WsClient viewer(server.port());
    return listed_last_seen_in(viewer.hello(alice.token).welcome, bob.id);
  };

  auto left_at = bob_comes_and_goes();
  EXPECT_EQ(last_seen_by_alice(), left_at) << "shown from memory";
  server.kill9();
  server.start();
  EXPECT_TRUE(last_seen_by_alice().is_null()) << "a disconnection within the interval is not written on its own";

  left_at = bob_comes_and_goes();
  ASSERT_EQ(server.terminate(), 0);
  server.start();
  EXPECT_EQ(last_seen_by_alice(), left_at) << "written at shutdown";
}

// bob's presence as seen by alice (the viewer), with wendy, bob's contact,
// as a witness of each of bob's comings and goings.
struct PresenceWorld {
  PresenceWorld() : client(server.port()) {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    wendy = register_and_login(client, "wendy");
    make_contacts(client, bob, wendy);
    viewer = std::make_unique<WsClient>(server.port());
    viewer->hello(alice.token);
    witness = std::make_unique<WsClient>(server.port());
    witness->hello(wendy.token);
  }

  // bob connects (an online flip: his audience is looked up); true when
  // alice was told. His presence frames reached alice's connection before
  // his welcome was sent, so they come before the answer to a ping sent
  // after it.
  bool bob_comes_and_alice_is_told() {
    bob_leaves();
    drain_viewer();
    subject = std::make_unique<WsClient>(server.port());
    subject->hello(bob.token);
    wait_for_bob(true);
    std::vector<object> before;
    auto pong = viewer->request(object{{"type", "ping"}}, &before);
    EXPECT_EQ(type_of(pong), "pong") << dump(pong);
    bool told = false;
    for (const auto& frame : before) {
      if (type_of(frame) == "presence" && frame.at("user_id").as_int64() == bob.id) {
        EXPECT_EQ(frame.at("online"), true) << dump(frame);
        told = true;
      }
    }
    return told;
  }

  void bob_leaves() {
    if (!subject) return;
    subject->drop();
    subject.reset();
    wait_for_bob(false);
  }

  // Whatever alice's connection was sent so far (introductions of new
  // contacts, bob leaving) is read and set aside.
  void drain_viewer() {
    auto pong = viewer->request(object{{"type", "ping"}});
    EXPECT_EQ(type_of(pong), "pong") << dump(pong);
  }

  void wait_for_bob(bool online) {
    for (;;) {
      auto frame = witness->next_of_type("presence");
      if (frame.at("user_id").as_int64() == bob.id && frame.at("online").as_bool() == online) return;
    }
  }

  // Whether a new connection of alice's lists bob in welcome.presence.
  bool alice_welcome_lists_bob() {
    WsClient again(server.port());
    auto caught = again.hello(alice.token);
    for (const auto& entry : caught.welcome.at("presence").as_array()) {
      if (entry.at("user_id").as_int64() == bob.id) return true;
    }
    return false;
  }

  ServerProcess server;
  HttpClient client;
  TestUser alice, bob, wendy;
  std::unique_ptr<WsClient> viewer, witness, subject;
};

TEST(ReconnectTest, PresenceFollowsContactsMadeAndRemoved) {
  PresenceWorld w;
  EXPECT_FALSE(w.bob_comes_and_alice_is_told());  // strangers; bob's audience is now known
  EXPECT_FALSE(w.alice_welcome_lists_bob());
  make_contacts(w.client, w.alice, w.bob);
  EXPECT_TRUE(w.bob_comes_and_alice_is_told());
  EXPECT_TRUE(w.alice_welcome_lists_bob());
  ASSERT_EQ(w.client.del("/api/v1/contacts/bob", w.alice.token).status, 204);
  EXPECT_FALSE(w.bob_comes_and_alice_is_told());
  EXPECT_FALSE(w.alice_welcome_lists_bob());
}

TEST(ReconnectTest, PresenceFollowsBlocks) {
  PresenceWorld w;
  make_contacts(w.client, w.alice, w.bob);
  EXPECT_TRUE(w.bob_comes_and_alice_is_told());
  EXPECT_TRUE(w.alice_welcome_lists_bob());
  // Blocked by alice: hidden both ways.
  ASSERT_EQ(w.client.put("/api/v1/blocks/bob", object{}, w.alice.token).status, 204);
  EXPECT_FALSE(w.bob_comes_and_alice_is_told());
  EXPECT_FALSE(w.alice_welcome_lists_bob());
  ASSERT_EQ(w.client.del("/api/v1/blocks/bob", w.alice.token).status, 204);
  // Still contacts? A block removes the contact; whatever remains decides.
  auto contacts = w.client.get("/api/v1/contacts", w.alice.token);
  bool still_contacts = contacts.body.find("\"bob\"") != std::string::npos;
  EXPECT_EQ(w.bob_comes_and_alice_is_told(), still_contacts);
  EXPECT_EQ(w.alice_welcome_lists_bob(), still_contacts);
}

TEST(ReconnectTest, PresenceFollowsMemberships) {
  PresenceWorld w;
  // carol owns a group; alice and bob are her contacts, not each other's.
  auto carol = register_and_login(w.client, "carol");
  make_contacts(w.client, carol, w.alice);
  make_contacts(w.client, carol, w.bob);
  // Members of a shared conversation see presence only when it is shown to
  // everyone (the default is contacts).
  auto shown = w.client.patch("/api/v1/me/settings", object{{"last_seen_visibility", "everyone"}}, w.bob.token);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_FALSE(w.bob_comes_and_alice_is_told());
  auto group = create_group(w.client, carol, "shared", {w.alice, w.bob});
  EXPECT_TRUE(w.bob_comes_and_alice_is_told());  // members of a shared conversation
  EXPECT_TRUE(w.alice_welcome_lists_bob());
  auto removed = w.client.del("/api/v1/conversations/" + std::to_string(group) + "/members/" + std::to_string(w.alice.id),
                              carol.token);
  ASSERT_EQ(removed.status, 204) << removed.body;
  EXPECT_FALSE(w.bob_comes_and_alice_is_told());
  EXPECT_FALSE(w.alice_welcome_lists_bob());
}

TEST(ReconnectTest, PresenceFollowsTheLastSeenSetting) {
  PresenceWorld w;
  make_contacts(w.client, w.alice, w.bob);
  EXPECT_TRUE(w.bob_comes_and_alice_is_told());
  w.bob_leaves();
  auto hidden = w.client.patch("/api/v1/me/settings", object{{"last_seen_visibility", "nobody"}}, w.bob.token);
  ASSERT_EQ(hidden.status, 200) << hidden.body;
  w.drain_viewer();
  // wendy cannot witness bob any more (she is told nothing either): the
  // viewer's ping alone, as bob's welcome follows his presence frames.
  WsClient bob_again(w.server.port());
  bob_again.hello(w.bob.token);
  std::vector<object> before;
  ASSERT_EQ(type_of(w.viewer->request(object{{"type", "ping"}}, &before)), "pong");
  for (const auto& frame : before) {
    EXPECT_FALSE(type_of(frame) == "presence" && frame.at("online").as_bool()) << dump(frame);
  }
  EXPECT_FALSE(w.alice_welcome_lists_bob());
}

// ---- catch-up ------------------------------------------------------------------

// A device resuming at its own newest position while others' traffic moved
// the stream on: synced at its position at once, then live events.
TEST(ReconnectTest, AResumeWithNothingNewIsSyncedAtItsPositionThenLive) {
  ServerProcess server;
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  auto dave = register_and_login(client, "dave");
  make_contacts(client, alice, bob);
  make_contacts(client, carol, dave);
  auto ab = direct_conversation(client, alice, bob);
  auto cd = direct_conversation(client, carol, dave);

  WsClient a(server.port());
  a.hello(alice.token);
  auto ack = a.send_message(ab, "a-1", "hello bob");
  ASSERT_EQ(type_of(ack), "ack") << dump(ack);
  WsClient b(server.port());
  auto first = b.hello(bob.token, 0);
  ASSERT_EQ(type_of(first.marker), "synced");
  std::int64_t bob_at = first.position;
  ASSERT_GE(bob_at, ack.at("position").as_int64());
  b.drop();

  // Others' traffic: the stream moves on, nothing of it is bob's.
  WsClient c(server.port());
  c.hello(carol.token);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(type_of(c.send_message(cd, "c-" + std::to_string(i), "not for bob")), "ack");

  WsClient b2(server.port());
  auto resumed = b2.hello(bob.token, bob_at);
  EXPECT_EQ(type_of(resumed.marker), "synced") << dump(resumed.marker);
  EXPECT_EQ(resumed.position, bob_at);
  EXPECT_TRUE(resumed.events.empty());
  // Then live, and a later resume from there gets exactly what it missed.
  auto live = a.send_message(ab, "a-2", "are you back?");
  auto event = b2.next_of_type("event");
  EXPECT_EQ(event.at("position"), live.at("position")) << dump(event);
  b2.drop();
  auto missed = a.send_message(ab, "a-3", "gone again");
  WsClient b3(server.port());
  auto again = b3.hello(bob.token, live.at("position").as_int64());
  ASSERT_EQ(again.events.size(), 1U);
  EXPECT_EQ(again.events[0].at("position"), missed.at("position"));
  EXPECT_EQ(type_of(again.marker), "synced");
}

}  // namespace
}  // namespace parley::test
