// parleyd in cluster mode (PostgreSQL and a real redis-server), black box:
// what a node answers from memory stays exact when its events come from
// other nodes or from the database (docs/architecture.md "Several nodes").
// - A gap filled from the database carries only the users connected to
//   the node: a device of another user resuming there from before the gap
//   must still get the gap's events (not "nothing since" from memory).
// - Presence follows blocks in cluster mode as on one node: the audience
//   cache is invalidated by the events the merge delivers.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/pg_database.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::object;
using namespace std::chrono_literals;

std::string type_of(const object& frame) { return std::string(frame.at("type").as_string()); }
std::string dump(const object& frame) { return boost::json::serialize(frame); }

std::string cluster_config(const PgTestDatabase& db, const RedisProcess& redis, const std::string& node) {
  return "[storage]\nbackend = \"postgres\"\npostgres_url = \"" + db.conninfo() + "\"\n[cluster]\nredis_url = \"" +
         redis.url() + "\"\nnode_id = \"" + node + "\"\n";
}

bool is_message(const object& frame, const std::string& text) {
  if (type_of(frame) != "event") return false;
  const auto& event = frame.at("event").as_object();
  return event.at("type") == "message.new" && event.at("message").at("text") == text.c_str();
}

// Reads `ws` until its user's presence frame for `user` says `online`.
void wait_for_presence(WsClient& ws, std::int64_t user, bool online) {
  for (;;) {
    auto frame = ws.next_of_type("presence", 10s);
    if (frame.at("user_id").as_int64() == user && frame.at("online").as_bool() == online) return;
  }
}

TEST(ClusterMode, AGapFilledForOtherUsersIsNotAnsweredFromMemory) {
  PgTestDatabase db;
  RedisProcess redis;
  ServerProcess a{ServerOptions{cluster_config(db, redis, "a"), {}}};
  ServerProcess b{ServerOptions{cluster_config(db, redis, "b"), {}}};
  HttpClient client(a.port());
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  make_contacts(client, alice, bob);
  make_contacts(client, alice, carol);
  make_contacts(client, bob, carol);
  auto group = create_group(client, alice, "g", {bob, carol});

  // bob stays on node b (the gap is read for him); carol comes to b, takes
  // her position and leaves (bob sees her go, so b no longer has her).
  WsClient bob_ws(b.port());
  bob_ws.hello(bob.token);
  std::int64_t carol_at = 0;
  {
    WsClient carol_ws(b.port());
    carol_at = carol_ws.hello(carol.token).position;
    wait_for_presence(bob_ws, carol.id, true);
  }
  wait_for_presence(bob_ws, carol.id, false);

  // Redis goes: node b learns of alice's message from the database only.
  redis.kill9();
  WsClient alice_ws(a.port());
  alice_ws.hello(alice.token);
  auto ack = alice_ws.send_message(group, "gap-1", "sent while Redis was down");
  ASSERT_EQ(type_of(ack), "ack") << dump(ack);
  for (;;) {
    auto frame = bob_ws.next(15s);
    if (is_message(frame, "sent while Redis was down")) break;
  }

  // carol resumes on node b from before the message.
  WsClient again(b.port());
  auto caught = again.hello(carol.token, carol_at);
  bool got = false;
  for (const auto& frame : caught.events) got = got || is_message(frame, "sent while Redis was down");
  EXPECT_TRUE(got) << "carol resumed at " << carol_at << " and was synced at " << caught.position
                   << " without the message";
}

TEST(ClusterMode, PresenceFollowsBlocks) {
  PgTestDatabase db;
  RedisProcess redis;
  ServerProcess server{ServerOptions{cluster_config(db, redis, "a"), {}}};
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto wendy = register_and_login(client, "wendy");
  make_contacts(client, bob, wendy);
  make_contacts(client, alice, bob);
  WsClient viewer(server.port());
  viewer.hello(alice.token);
  WsClient witness(server.port());
  witness.hello(wendy.token);

  // bob connects (an online flip: his audience is looked up, and cached);
  // true when alice was told. His presence frames reached alice's
  // connection before the answer to a ping sent after his welcome.
  std::unique_ptr<WsClient> subject;
  auto bob_comes_and_alice_is_told = [&] {
    if (subject) {
      subject->drop();
      subject.reset();
      wait_for_presence(witness, bob.id, false);
    }
    auto drained = viewer.request(object{{"type", "ping"}});
    EXPECT_EQ(type_of(drained), "pong") << dump(drained);
    subject = std::make_unique<WsClient>(server.port());
    subject->hello(bob.token);
    wait_for_presence(witness, bob.id, true);
    std::vector<object> before;
    auto pong = viewer.request(object{{"type", "ping"}}, &before);
    EXPECT_EQ(type_of(pong), "pong") << dump(pong);
    bool told = false;
    for (const auto& frame : before) {
      if (type_of(frame) == "presence" && frame.at("user_id").as_int64() == bob.id) {
        told = told || frame.at("online").as_bool();
      }
    }
    return told;
  };

  EXPECT_TRUE(bob_comes_and_alice_is_told());
  // Blocked by alice: hidden both ways, at once.
  ASSERT_EQ(client.put("/api/v1/blocks/bob", object{}, alice.token).status, 204);
  EXPECT_FALSE(bob_comes_and_alice_is_told()) << "bob's audience was not looked up again after the block";
}

}  // namespace
}  // namespace parley::test
