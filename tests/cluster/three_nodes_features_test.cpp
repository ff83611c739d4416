// Three parleyd nodes behind HAProxy, black box: what a user does on one
// node must hold on the others (docs/architecture.md "Several nodes"): an
// upload started on one node resumes on another (the shared media folder),
// a dead node's users go offline for the others within node_timeout_ms and
// one heartbeat, and a last-seen setting changed on one node decides who
// sees the user's presence on every node.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cluster/three_nodes_fixture.hpp"
#include "support/media_client.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace json = boost::json;

constexpr std::uint64_t kKiB = 1024;

// Whether a welcome frame's presence list has an entry for `user`.
bool lists(const json::object& welcome, std::int64_t user) {
  for (const auto& entry : welcome.at("presence").as_array()) {
    if (entry.at("user_id").as_int64() == user) return true;
  }
  return false;
}

// The next presence frame about `user`, skipping other frames; throws when
// none comes within `timeout`.
json::object presence_of(WsClient& ws, std::int64_t user, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) throw std::runtime_error("no presence frame for user " + std::to_string(user));
    auto frame = ws.next(left);
    if (frame.at("type") == "presence" && frame.at("user_id").as_int64() == user) return frame;
  }
}

TEST_F(ThreeNodes, UploadStartedOnOneNodeResumesOnAnother) {
  const TestUser& ann = scene.devices[0].user;
  const std::uint64_t size = 3 * 1024 * kKiB + 123;
  const std::uint64_t half = 1536 * kKiB;
  HttpClient one(cluster().node_port(1));
  HttpClient two(cluster().node_port(2));
  HttpClient three(cluster().node_port(3));

  auto created = one.post("/api/v1/uploads", json::object{{"size", size}, {"name", "video.mp4"}}, ann.token);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id(created.json().at("upload").at("id").as_string());
  auto part = [&](std::uint16_t port, std::uint64_t first, std::uint64_t last) {
    return send_pattern(port, "PATCH", "/api/v1/uploads/" + id, last - first + 1,
                        as_user(ann.token, {{"Content-Range", fmt::format("bytes {}-{}/{}", first, last, size)}}),
                        first);
  };
  auto first = part(cluster().node_port(1), 0, half - 1);
  ASSERT_EQ(first.status, 200) << first.body;

  // Another node knows how far it got, refuses a part that does not start
  // there (with the offset to resume from), and takes the rest.
  auto offset = two.get("/api/v1/uploads/" + id, ann.token);
  ASSERT_EQ(offset.status, 200) << offset.body;
  EXPECT_EQ(offset.json().at("upload").at("offset").as_int64(), static_cast<std::int64_t>(half));
  auto wrong = part(cluster().node_port(2), 0, 999);
  EXPECT_EQ(wrong.status, 409);
  EXPECT_EQ(wrong.error_code(), "offset_mismatch");
  EXPECT_EQ(wrong.headers["upload-offset"], std::to_string(half));
  auto rest = part(cluster().node_port(2), half, size - 1);
  ASSERT_EQ(rest.status, 200) << rest.body;

  // Completed on a third, downloaded from each: the same bytes.
  auto done = three.post("/api/v1/uploads/" + id + "/complete", json::object{}, ann.token);
  ASSERT_EQ(done.status, 201) << done.body;
  std::string media(done.json().at("media").at("id").as_string());
  for (int node = 1; node <= 3; ++node) {
    auto got = download(cluster().node_port(node), "/api/v1/media/" + media, ann.token);
    EXPECT_EQ(got.status, 200) << "node " << node;
    EXPECT_EQ(got.size, size) << "node " << node;
    EXPECT_EQ(got.sha256, pattern_sha256(size)) << "node " << node;
  }
  EXPECT_EQ(one.get("/api/v1/uploads/" + id, ann.token).status, 404);
}

// Shorter presence timing than the defaults (2 s heartbeats, 10 s timeout),
// so that a dead node is declared so in a few seconds.
class ThreeNodesQuickPresence : public ThreeNodes {
 protected:
  static constexpr auto kHeartbeat = 500ms;
  static constexpr auto kNodeTimeout = 2000ms;
  [[nodiscard]] std::string node_config() const override {
    return fmt::format("heartbeat_interval_ms = {}\nnode_timeout_ms = {}\n{}", kHeartbeat.count(), kNodeTimeout.count(),
                       kNodeConfig);
  }
};

TEST_F(ThreeNodesQuickPresence, ADeadNodesUsersGoOfflineForTheOthers) {
  const TestUser& viewer = scene.devices[0].user;  // a contact of everyone
  const TestUser& gone = scene.devices[1].user;
  TestUser viewer_again = login(rest(), viewer.username, viewer.password, "second device");
  WsClient on_one(cluster().node_port(1));
  WsClient on_three(cluster().node_port(3));
  on_one.hello(viewer.token);
  on_three.hello(viewer_again.token);

  WsClient on_two(cluster().node_port(2));
  on_two.hello(gone.token);
  for (WsClient* ws : {&on_one, &on_three}) EXPECT_TRUE(presence_of(*ws, gone.id, 10s).at("online").as_bool());

  // No farewell from a killed node: the others declare it dead when it
  // has been silent for node_timeout_ms, checked at each heartbeat.
  auto killed = Clock::now();
  cluster().kill_node(2);
  for (WsClient* ws : {&on_one, &on_three}) {
    EXPECT_FALSE(presence_of(*ws, gone.id, 10s).at("online").as_bool());
    auto took = Clock::now() - killed;
    EXPECT_LE(took, kNodeTimeout + kHeartbeat + 1500ms)
        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  }
}

// The viewer's list of whose presence they may see is cached on each node;
// a last-seen setting changed on node 1 must end it on node 2 as well.
TEST_F(ThreeNodes, ALastSeenSettingChangedOnOneNodeHoldsOnTheOthers) {
  const TestUser& viewer = scene.devices[0].user;  // a contact of everyone
  const TestUser& hiding = scene.devices[1].user;
  WsClient watching(cluster().node_port(2));
  auto caught = watching.hello(viewer.token);
  ASSERT_TRUE(lists(caught.welcome, hiding.id)) << json::serialize(caught.welcome);

  HttpClient one(cluster().node_port(1));
  auto changed = one.patch("/api/v1/me/settings", json::object{{"last_seen_visibility", "nobody"}}, hiding.token);
  ASSERT_EQ(changed.status, 200) << changed.body;
  // Node 1 announces the change before it answers, and this message after:
  // once node 2 delivered the message, it had the change (one Redis
  // connection, in order).
  WsClient sender(cluster().node_port(1));
  sender.hello(hiding.token);
  auto ack = sender.send_message(scene.all, "after-setting", "hello");
  ASSERT_EQ(ack.at("type"), "ack") << json::serialize(ack);
  for (;;) {
    auto frame = watching.next(10s);
    if (frame.at("type") == "event" && frame.at("event").at("type") == "message.new" &&
        frame.at("event").at("message").at("client_id") == "after-setting") {
      break;
    }
  }
  WsClient on_two(cluster().node_port(2));
  EXPECT_FALSE(lists(on_two.hello(viewer.token).welcome, hiding.id))
      << "node 2 still shows the presence of a user who hides it";
  // Node 3, whose list was never cached, agrees.
  WsClient on_three(cluster().node_port(3));
  EXPECT_FALSE(lists(on_three.hello(viewer.token).welcome, hiding.id));
}

}  // namespace
}  // namespace parley::test
