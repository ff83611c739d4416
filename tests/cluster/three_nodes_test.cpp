// Three parleyd nodes behind HAProxy, black box (docs/deploy.md): a real
// PostgreSQL, Redis, three nodes and HAProxy on loopback, started by
// scripts/cluster.sh (tests/support/cluster_process). Several devices send
// concurrently into shared groups while a node is killed, Redis is killed or
// its connections cut, or PostgreSQL restarts; afterwards every device must
// have seen the same gapless order of messages in each group, each
// acknowledged message exactly once, and the stored history must hold each
// client message id once.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "support/cluster_process.hpp"
#include "support/http_client.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace json = boost::json;

// The cheapest password hashing parleyd accepts, as in ServerProcess.
constexpr const char* kNodeConfig =
    "[auth]\npassword_memory_kib = 19456\npassword_passes = 2\n"
    "[stickers]\ninstall_default_pack = false\n";

constexpr int kDevices = 6;
constexpr int kMessagesPerDevice = 30;
constexpr int kTotal = kDevices * kMessagesPerDevice;

// A message as a device saw it in a message.new event.
struct Seen {
  std::int64_t id = 0;
  std::int64_t seq = 0;
  std::string client_id;
};

struct Acked {
  std::int64_t conversation = 0;
  std::int64_t message_id = 0;
};

// One user's device: it connects, sends its messages into its groups
// (retrying each under the same client id until acknowledged), and reads
// every event, resuming from its last position after a lost connection.
struct Device {
  TestUser user;
  std::vector<std::int64_t> conversations;  // where it sends, in turn
  std::function<std::uint16_t()> port;      // where it (re)connects

  // Written by the device's thread only; read after it ended.
  std::int64_t position = 0;
  std::map<std::int64_t, std::vector<Seen>> seen;  // by conversation, in arrival order
  std::vector<std::string> order_errors;           // positions that did not grow
  std::map<std::string, Acked> acked;              // by client id
  int reconnects = 0;
  int internal_errors = 0;
  int duplicate_acks = 0;  // retries that found their first attempt stored
  std::string failure;     // why the thread gave up, if it did
};

// Runs the devices' threads and lets a test act when the load reaches a
// point (acks counted across devices), without sleeping.
class Load {
 public:
  explicit Load(std::vector<Device>& devices) : devices_(devices) {}
  ~Load() {
    {
      std::lock_guard lock(mutex_);
      budget_ = kTotal;
      abort_ = true;
    }
    changed_.notify_all();
    for (auto& thread : threads_) thread.join();
  }

  // How many sends may start in all (the rest wait); kTotal by default.
  void set_budget(int budget) {
    {
      std::lock_guard lock(mutex_);
      budget_ = budget;
    }
    changed_.notify_all();
  }

  // Connects every device (so that each sees every message from the first),
  // then lets them send.
  void start() {
    for (auto& device : devices_) {
      threads_.emplace_back([this, &device] {
        try {
          run(device);
        } catch (const std::exception& e) {
          device.failure = e.what();
        }
        std::lock_guard lock(mutex_);
        ++finished_;
        changed_.notify_all();
      });
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return connected_ == kDevices || finished_ > 0; });
    sending_ = true;
    changed_.notify_all();
  }

  // Waits until `count` sends were acknowledged across devices.
  bool wait_acks(int count, std::chrono::seconds timeout = 60s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return acks_ >= count || finished_ == kDevices; }) && acks_ >= count;
  }

  // Waits for every device to have sent everything and seen every
  // acknowledged message of its groups.
  bool finish(std::chrono::seconds timeout = 90s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return finished_ == kDevices; });
  }

  int acks() {
    std::lock_guard lock(mutex_);
    return acks_;
  }

 private:
  void connect(Device& device, std::unique_ptr<WsClient>& ws, bool first) {
    auto deadline = Clock::now() + 60s;
    for (;;) {
      try {
        ws.reset();
        auto client = std::make_unique<WsClient>(device.port());
        Caught caught = first ? client->hello(device.user.token) : client->hello(device.user.token, device.position);
        if (caught.marker.at("type").as_string() != "synced") {
          throw std::logic_error("resync_required at position " + std::to_string(device.position));
        }
        for (auto& event : caught.events) take(device, event);
        device.position = std::max(device.position, caught.position);
        ws = std::move(client);
        return;
      } catch (const std::runtime_error& e) {
        // A node that died, one HAProxy has not taken out yet, or a
        // database that is restarting: the client's backoff, then again.
        if (Clock::now() > deadline) throw std::runtime_error(std::string("could not reconnect: ") + e.what());
        std::this_thread::sleep_for(100ms);
      }
    }
  }

  void take(Device& device, const json::object& frame) {
    if (frame.at("type").as_string() != "event") return;
    std::int64_t position = frame.at("position").as_int64();
    if (position <= device.position) {
      device.order_errors.push_back(std::to_string(position) + " after " + std::to_string(device.position));
    }
    device.position = std::max(device.position, position);
    const auto& event = frame.at("event").as_object();
    if (event.at("type").as_string() == "message.new") {
      const auto& message = event.at("message").as_object();
      device.seen[message.at("conversation_id").as_int64()].push_back(
          {message.at("id").as_int64(), message.at("seq").as_int64(),
           std::string(message.at("client_id").as_string())});
    }
  }

  // Everything acknowledged so far in the device's conversations, once all
  // devices have sent everything; nullopt before.
  std::optional<std::set<std::int64_t>> expected(const Device& device) {
    std::lock_guard lock(mutex_);
    if (done_sending_ < kDevices) return std::nullopt;
    std::set<std::int64_t> ids;
    for (const auto& other : devices_) {
      for (const auto& [client_id, ack] : other.acked) {
        if (std::count(device.conversations.begin(), device.conversations.end(), ack.conversation) > 0) {
          ids.insert(ack.message_id);
        }
      }
    }
    return ids;
  }

  void run(Device& device) {
    std::unique_ptr<WsClient> ws;
    connect(device, ws, true);
    {
      std::unique_lock lock(mutex_);
      ++connected_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return sending_ || abort_; });
    }
    for (int i = 0; i < kMessagesPerDevice; ++i) {
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return started_ < budget_; });
        if (abort_) return;
        ++started_;
      }
      std::string client_id = device.user.username + "-" + std::to_string(i);
      std::int64_t conversation = device.conversations[static_cast<std::size_t>(i) % device.conversations.size()];
      json::object frame{{"type", "send"},
                         {"conversation_id", conversation},
                         {"client_id", client_id},
                         {"text", "message " + client_id},
                         {"ref", client_id}};
      auto deadline = Clock::now() + 60s;
      for (;;) {
        if (Clock::now() > deadline) throw std::runtime_error("no ack for " + client_id);
        std::vector<json::object> skipped;
        std::optional<json::object> answer;
        try {
          answer = ws->request(frame, &skipped);
        } catch (const std::runtime_error&) {
          // The connection dropped (or the answer never came): resume and
          // send again under the same client id.
        }
        for (auto& other : skipped) take(device, other);
        if (!answer) {
          ++device.reconnects;
          connect(device, ws, false);
          continue;
        }
        if (answer->at("type").as_string() == "ack") {
          Acked ack{conversation, answer->at("message_id").as_int64()};
          std::lock_guard lock(mutex_);
          auto [at, inserted] = device.acked.emplace(client_id, ack);
          if (!inserted && at->second.message_id != ack.message_id) {
            throw std::logic_error(client_id + " acknowledged as two messages");
          }
          if (answer->at("duplicate").as_bool()) ++device.duplicate_acks;
          ++acks_;
          changed_.notify_all();
          break;
        }
        if (answer->at("code").as_string() != "internal") {
          throw std::logic_error("unexpected answer " + json::serialize(*answer));
        }
        // The database could not commit: nothing was acknowledged; the
        // client's backoff, then the same send again.
        ++device.internal_errors;
        std::this_thread::sleep_for(50ms);
      }
    }
    {
      std::lock_guard lock(mutex_);
      ++done_sending_;
      changed_.notify_all();
    }
    // Read until every acknowledged message of its groups has arrived.
    auto deadline = Clock::now() + 60s;
    for (;;) {
      if (auto ids = expected(device)) {
        std::set<std::int64_t> have;
        for (const auto& [conversation, list] : device.seen) {
          for (const auto& m : list) have.insert(m.id);
        }
        if (std::includes(have.begin(), have.end(), ids->begin(), ids->end())) return;
      }
      if (Clock::now() > deadline) throw std::runtime_error("not every acknowledged message arrived");
      try {
        if (auto frame = ws->try_next(200ms)) take(device, *frame);
      } catch (const std::runtime_error&) {
        ++device.reconnects;
        connect(device, ws, false);
      }
    }
  }

  std::vector<Device>& devices_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int connected_ = 0;
  bool sending_ = false;
  bool abort_ = false;
  int budget_ = kTotal;
  int started_ = 0;
  int acks_ = 0;
  int done_sending_ = 0;
  int finished_ = 0;
};

// Six users; u0 owns two groups: "all" (everyone) and "four" (u0 to u3).
// Every user's device sends into the groups it is in, in turn.
struct Scene {
  std::vector<Device> devices;
  std::int64_t all = 0;
  std::int64_t four = 0;
};

Scene make_scene(const HttpClient& rest) {
  Scene scene;
  std::vector<TestUser> users;
  for (int i = 0; i < kDevices; ++i) users.push_back(register_and_login(rest, "user" + std::to_string(i)));
  for (int i = 1; i < kDevices; ++i) make_contacts(rest, users[0], users[static_cast<std::size_t>(i)]);
  scene.all = create_group(rest, users[0], "all", std::vector<TestUser>(users.begin() + 1, users.end()));
  scene.four = create_group(rest, users[0], "four", std::vector<TestUser>(users.begin() + 1, users.begin() + 4));
  for (int i = 0; i < kDevices; ++i) {
    Device device;
    device.user = users[static_cast<std::size_t>(i)];
    device.conversations =
        i < 4 ? std::vector<std::int64_t>{scene.all, scene.four} : std::vector<std::int64_t>{scene.all};
    scene.devices.push_back(std::move(device));
  }
  return scene;
}

// The whole history of a conversation over REST.
std::vector<json::object> history(const HttpClient& rest, const TestUser& user, std::int64_t conversation) {
  std::vector<json::object> messages;
  std::int64_t after = 0;
  for (;;) {
    auto reply = rest.get("/api/v1/conversations/" + std::to_string(conversation) +
                              "/messages?after=" + std::to_string(after) + "&limit=200",
                          user.token);
    if (reply.status != 200) throw std::runtime_error("history: " + std::to_string(reply.status) + " " + reply.body);
    auto page = reply.json().as_object();
    for (const auto& m : page.at("messages").as_array()) {
      messages.push_back(m.as_object());
      after = m.as_object().at("seq").as_int64();
    }
    if (!page.at("has_more").as_bool()) return messages;
  }
}

// What every test checks once the load is over: each device saw, in each of
// its groups, seqs 1, 2, 3, ... once each, the same messages in the same
// order as every other device, exactly the acknowledged ones; the history
// holds each client id once, with the acknowledged message id.
void check_outcome(const HttpClient& rest, const Scene& scene) {
  int reconnects = 0, internal = 0, duplicates = 0;
  for (const auto& device : scene.devices) {
    reconnects += device.reconnects;
    internal += device.internal_errors;
    duplicates += device.duplicate_acks;
  }
  std::cout << "[ load     ] " << kTotal << " messages from " << kDevices << " devices: " << reconnects
            << " reconnects, " << internal << " sends answered internal, " << duplicates << " retries found stored\n";
  std::map<std::int64_t, std::map<std::string, std::int64_t>> acked;  // conversation → client id → message id
  std::size_t total = 0;
  for (const auto& device : scene.devices) {
    EXPECT_EQ(device.failure, "") << device.user.username;
    EXPECT_EQ(device.acked.size(), static_cast<std::size_t>(kMessagesPerDevice)) << device.user.username;
    for (const auto& [client_id, ack] : device.acked) acked[ack.conversation][client_id] = ack.message_id;
    total += device.acked.size();
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kTotal));

  for (std::int64_t conversation : {scene.all, scene.four}) {
    std::vector<std::int64_t> reference;
    for (const auto& device : scene.devices) {
      if (std::count(device.conversations.begin(), device.conversations.end(), conversation) == 0) continue;
      EXPECT_TRUE(device.order_errors.empty())
          << device.user.username << ": positions did not grow: " << device.order_errors.front();
      std::vector<std::int64_t> ids;
      auto it = device.seen.find(conversation);
      const std::vector<Seen> none;
      const auto& list = it == device.seen.end() ? none : it->second;
      for (std::size_t i = 0; i < list.size(); ++i) {
        EXPECT_EQ(list[i].seq, static_cast<std::int64_t>(i + 1))
            << device.user.username << " in " << conversation << ": a skipped or repeated message";
        EXPECT_EQ(acked[conversation].count(list[i].client_id), 1U) << list[i].client_id << " was never acked";
        ids.push_back(list[i].id);
      }
      EXPECT_EQ(ids.size(), acked[conversation].size()) << device.user.username << " in " << conversation;
      if (reference.empty()) {
        reference = ids;
      } else {
        EXPECT_EQ(ids, reference) << device.user.username << " saw another order in " << conversation;
      }
    }
    auto stored = history(rest, scene.devices[0].user, conversation);
    EXPECT_EQ(stored.size(), acked[conversation].size()) << "history of " << conversation;
    std::set<std::string> client_ids;
    for (const auto& m : stored) {
      std::string client_id(m.at("client_id").as_string());
      EXPECT_TRUE(client_ids.insert(client_id).second) << client_id << " stored twice";
      auto found = acked[conversation].find(client_id);
      ASSERT_NE(found, acked[conversation].end()) << client_id << " stored but never acked";
      EXPECT_EQ(found->second, m.at("id").as_int64()) << client_id;
    }
  }
}

// The answer (ack or error) to the frame with this ref, skipping events.
json::object answer_to(WsClient& ws, const std::string& ref) {
  for (;;) {
    auto frame = ws.next(10s);
    if (frame.contains("ref") && frame.at("ref").is_string() && frame.at("ref").as_string() == ref) return frame;
  }
}

// Devices on the nodes' own ports, two per node.
void spread_over_nodes(const ClusterProcess& cluster, Scene& scene) {
  for (std::size_t i = 0; i < scene.devices.size(); ++i) {
    std::uint16_t port = cluster.node_port(static_cast<int>(i % 3) + 1);
    scene.devices[i].port = [port] { return port; };
  }
}

TEST(ThreeNodes, ClientsSpreadOverNodesSeeOneGaplessOrder) {
  ClusterProcess cluster(kNodeConfig);
  HttpClient rest(cluster.lb_port());
  Scene scene = make_scene(rest);
  spread_over_nodes(cluster, scene);
  {
    Load load(scene.devices);
    load.start();
    ASSERT_TRUE(load.finish());
  }
  check_outcome(rest, scene);
}

TEST(ThreeNodes, KilledNodesClientsResumeThroughHaproxy) {
  ClusterProcess cluster(kNodeConfig);
  HttpClient rest(cluster.lb_port());
  Scene scene = make_scene(rest);
  std::uint16_t lb = cluster.lb_port();
  for (auto& device : scene.devices) device.port = [lb] { return lb; };
  {
    Load load(scene.devices);
    load.start();
    ASSERT_TRUE(load.wait_acks(kTotal / 3));
    cluster.kill_node(2);
    ASSERT_TRUE(load.finish());
  }
  // HAProxy's leastconn put two of the six devices on node 2.
  int moved = 0;
  for (const auto& device : scene.devices) moved += device.reconnects > 0 ? 1 : 0;
  EXPECT_GE(moved, 1);
  check_outcome(rest, scene);
}

TEST(ThreeNodes, RedisKilledUnderLoadLosesAndRepeatsNothing) {
  ClusterProcess cluster(kNodeConfig);
  HttpClient rest(cluster.lb_port());
  Scene scene = make_scene(rest);
  spread_over_nodes(cluster, scene);
  {
    Load load(scene.devices);
    load.set_budget(kTotal / 2);
    load.start();
    ASSERT_TRUE(load.wait_acks(kTotal / 4));
    cluster.kill_redis();
    // Every node notices; sends and deliveries go on from the database.
    for (int node = 1; node <= 3; ++node) {
      EXPECT_TRUE(cluster.wait_for_node_log(node, "redis connection lost role=subscribe", 1, 15s)) << "node " << node;
    }
    ASSERT_TRUE(load.wait_acks(kTotal / 2));
    load.set_budget(kTotal);
    cluster.start_redis();
    for (int node = 1; node <= 3; ++node) {
      EXPECT_TRUE(cluster.wait_for_node_log(node, "redis connected role=subscribe", 2, 20s)) << "node " << node;
    }
    ASSERT_TRUE(load.finish());
  }
  check_outcome(rest, scene);
}

TEST(ThreeNodes, RedisConnectionsCutUnderLoadLoseAndRepeatNothing) {
  ClusterProcess cluster(kNodeConfig);
  HttpClient rest(cluster.lb_port());
  Scene scene = make_scene(rest);
  spread_over_nodes(cluster, scene);
  {
    Load load(scene.devices);
    load.start();
    ASSERT_TRUE(load.wait_acks(kTotal / 3));
    EXPECT_GE(cluster.cut_redis_connections(), 3);  // at least each node's subscriber
    for (int node = 1; node <= 3; ++node) {
      EXPECT_TRUE(cluster.wait_for_node_log(node, "redis connection lost role=subscribe", 1, 15s)) << "node " << node;
      EXPECT_TRUE(cluster.wait_for_node_log(node, "redis connected role=subscribe", 2, 20s)) << "node " << node;
    }
    ASSERT_TRUE(load.finish());
  }
  check_outcome(rest, scene);
}

TEST(ThreeNodes, PostgresRestartFailsSendsWithInternalAndRetriesStoreOnce) {
  ClusterProcess cluster(kNodeConfig);
  HttpClient rest(cluster.lb_port());
  Scene scene = make_scene(rest);
  spread_over_nodes(cluster, scene);
  {
    Load load(scene.devices);
    load.start();
    ASSERT_TRUE(load.wait_acks(kTotal / 3));
    auto restart = Clock::now();
    cluster.restart_postgres();
    auto back = Clock::now();
    // Once PostgreSQL is back, reads succeed at once on every node, though
    // each node's idle pooled connections were closed by the restart.
    for (int node = 1; node <= 3; ++node) {
      HttpClient direct(cluster.node_port(node));
      for (int i = 0; i < 8; ++i) {
        auto reply = direct.get("/api/v1/conversations/" + std::to_string(scene.all) + "/messages?limit=1",
                                scene.devices[0].user.token);
        EXPECT_EQ(reply.status, 200) << "node " << node << ": " << reply.body;
      }
    }
    ASSERT_TRUE(load.finish());
    std::cout << "[ restart  ] PostgreSQL back after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(back - restart).count() << " ms, the load done "
              << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - back).count() << " ms later\n";
  }
  int internal = 0;
  for (const auto& device : scene.devices) internal += device.internal_errors;
  EXPECT_GE(internal, 1) << "no send was in flight when PostgreSQL restarted";
  check_outcome(rest, scene);
}

// Each send is tried on one node and retried under the same client id on
// another: half after the first attempt's ack, half at once, both attempts
// in flight together. Six users do so concurrently.
TEST(ThreeNodes, SendRetriedOnAnotherNodeIsStoredOnce) {
  ClusterProcess cluster(kNodeConfig);
  HttpClient rest(cluster.lb_port());
  Scene scene = make_scene(rest);
  std::map<std::string, std::int64_t> all;
  {
    // Quiet first: a retry takes no position of the stream. One it took and
    // left unused would be a gap that every node waits for (gap_wait_ms)
    // before reading it from the database, holding up what follows.
    const TestUser& user = scene.devices[0].user;
    WsClient one(cluster.node_port(1));
    WsClient two(cluster.node_port(2));
    one.hello(user.token);
    two.hello(user.token);
    auto first = one.send_message(scene.all, "quiet-1", "first");
    auto retry = two.send_message(scene.all, "quiet-1", "first");
    auto next = two.send_message(scene.all, "quiet-2", "next");
    ASSERT_EQ(first.at("type"), "ack") << json::serialize(first);
    ASSERT_EQ(retry.at("type"), "ack") << json::serialize(retry);
    ASSERT_EQ(next.at("type"), "ack") << json::serialize(next);
    EXPECT_TRUE(retry.at("duplicate").as_bool());
    EXPECT_EQ(retry.at("position"), first.at("position"));
    EXPECT_EQ(next.at("position").as_int64(), first.at("position").as_int64() + 1);
    all["quiet-1"] = first.at("message_id").as_int64();
    all["quiet-2"] = next.at("message_id").as_int64();
  }
  std::vector<std::thread> threads;
  std::vector<std::string> failures(scene.devices.size());
  std::vector<std::map<std::string, std::int64_t>> acked(scene.devices.size());
  for (std::size_t d = 0; d < scene.devices.size(); ++d) {
    threads.emplace_back([&, d] {
      try {
        const Device& device = scene.devices[d];
        TestUser second = login(rest, device.user.username, device.user.password, "second device");
        WsClient first_node(cluster.node_port(static_cast<int>(d % 3) + 1));
        WsClient other_node(cluster.node_port(static_cast<int>((d + 1) % 3) + 1));
        first_node.hello(device.user.token);
        other_node.hello(second.token);
        for (int i = 0; i < kMessagesPerDevice; ++i) {
          std::string client_id = device.user.username + "-" + std::to_string(i);
          std::int64_t conversation = device.conversations[static_cast<std::size_t>(i) % device.conversations.size()];
          json::object a{{"type", "send"},
                         {"conversation_id", conversation},
                         {"client_id", client_id},
                         {"text", "message " + client_id},
                         {"ref", client_id + "-a"}};
          json::object b = a;
          b["ref"] = client_id + "-b";
          json::object first;
          json::object retry;
          if (i % 2 == 0) {
            first = first_node.request(a);
            retry = other_node.request(b);
          } else {
            first_node.send(a);
            retry = other_node.request(b);
            first = answer_to(first_node, client_id + "-a");
          }
          if (first.at("type").as_string() != "ack" || retry.at("type").as_string() != "ack") {
            throw std::runtime_error("not acked: " + json::serialize(first) + " " + json::serialize(retry));
          }
          if (first.at("message_id") != retry.at("message_id")) {
            throw std::runtime_error(client_id + " stored as two messages");
          }
          // One attempt stored it, the other found it.
          if (first.at("duplicate").as_bool() == retry.at("duplicate").as_bool()) {
            throw std::runtime_error(client_id + ": " + json::serialize(first) + " " + json::serialize(retry));
          }
          if (i % 2 == 0 && !retry.at("duplicate").as_bool()) {
            throw std::runtime_error(client_id + ": the retry after an ack stored again");
          }
          acked[d][client_id] = retry.at("message_id").as_int64();
        }
      } catch (const std::exception& e) {
        failures[d] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& failure : failures) EXPECT_EQ(failure, "");
  for (const auto& device_acks : acked) all.insert(device_acks.begin(), device_acks.end());
  std::size_t stored = 0;
  for (std::int64_t conversation : {scene.all, scene.four}) {
    for (const auto& m : history(rest, scene.devices[0].user, conversation)) {
      ++stored;
      auto found = all.find(std::string(m.at("client_id").as_string()));
      ASSERT_NE(found, all.end());
      EXPECT_EQ(found->second, m.at("id").as_int64());
    }
  }
  EXPECT_EQ(stored, static_cast<std::size_t>(kTotal) + 2);  // and the two quiet ones
}

}  // namespace
}  // namespace parley::test
