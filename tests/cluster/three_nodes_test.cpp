// Three parleyd nodes behind HAProxy, black box (docs/deploy.md): a real
// PostgreSQL, Redis, three nodes and HAProxy on loopback, started by
// scripts/cluster.sh (tests/support/cluster_process). Several devices send
// concurrently into shared groups while a node is killed, Redis is killed or
// its connections cut, or PostgreSQL restarts; afterwards every device must
// have seen the same gapless order of messages in each group, each
// acknowledged message exactly once, and the stored history must hold each
// client message id once (cluster/three_nodes_fixture.hpp).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <iostream>
#include <map>
#include <thread>

#include "cluster/three_nodes_fixture.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace json = boost::json;

TEST_F(ThreeNodes, ClientsSpreadOverNodesSeeOneGaplessOrder) {
  spread_over_nodes();
  {
    Load load(scene.devices);
    load.start();
    ASSERT_TRUE(load.finish());
  }
  check_outcome();
}

TEST_F(ThreeNodes, KilledNodesClientsResumeThroughHaproxy) {
  through_haproxy();
  {
    Load load(scene.devices);
    load.start();
    ASSERT_TRUE(load.wait_acks(kTotal / 3));
    cluster().kill_node(2);
    ASSERT_TRUE(load.finish());
  }
  // HAProxy's leastconn put two of the six devices on node 2.
  int moved = 0;
  for (const auto& device : scene.devices) moved += device.reconnects > 0 ? 1 : 0;
  EXPECT_GE(moved, 1);
  check_outcome();
}

TEST_F(ThreeNodes, RedisKilledUnderLoadLosesAndRepeatsNothing) {
  spread_over_nodes();
  {
    Load load(scene.devices);
    load.set_budget(kTotal / 2);
    load.start();
    ASSERT_TRUE(load.wait_acks(kTotal / 4));
    cluster().kill_redis();
    // Every node notices; sends and deliveries go on from the database.
    expect_every_node_logs("redis connection lost role=subscribe", 1, 15s);
    ASSERT_TRUE(load.wait_acks(kTotal / 2));
    load.set_budget(kTotal);
    cluster().start_redis();
    expect_every_node_logs("redis connected role=subscribe", 2, 20s);
    ASSERT_TRUE(load.finish());
  }
  check_outcome();
}

TEST_F(ThreeNodes, RedisConnectionsCutUnderLoadLoseAndRepeatNothing) {
  spread_over_nodes();
  {
    Load load(scene.devices);
    load.start();
    ASSERT_TRUE(load.wait_acks(kTotal / 3));
    EXPECT_GE(cluster().cut_redis_connections(), 3);  // at least each node's subscriber
    expect_every_node_logs("redis connection lost role=subscribe", 1, 15s);
    expect_every_node_logs("redis connected role=subscribe", 2, 20s);
    ASSERT_TRUE(load.finish());
  }
  check_outcome();
}

TEST_F(ThreeNodes, PostgresRestartFailsSendsWithInternalAndRetriesStoreOnce) {
  spread_over_nodes();
  {
    Load load(scene.devices);
    load.start();
    ASSERT_TRUE(load.wait_acks(kTotal / 3));
    auto restart = Clock::now();
    cluster().restart_postgres();
    auto back = Clock::now();
    // Once PostgreSQL is back, reads succeed at once on every node, though
    // each node's idle pooled connections were closed by the restart.
    for (int node = 1; node <= 3; ++node) {
      HttpClient direct(cluster().node_port(node));
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
  check_outcome();
}

// Each send is tried on one node and retried under the same client id on
// another: half after the first attempt's ack, half at once, both attempts
// in flight together. Six users do so concurrently.
TEST_F(ThreeNodes, SendRetriedOnAnotherNodeIsStoredOnce) {
  std::map<std::string, std::int64_t> all;
  {
    // Quiet first: the retry takes a position of the stream and stores
    // nothing there. The other nodes must learn from the retry's batch that
    // the position is empty (EventSink::publish_range), not wait for it
    // (gap_wait_ms) and read it from the database, holding up what follows.
    const TestUser& user = scene.devices[0].user;
    WsClient one(cluster().node_port(1));
    WsClient two(cluster().node_port(2));
    WsClient three(cluster().node_port(3));
    one.hello(user.token);
    two.hello(user.token);
    three.hello(user.token);
    std::size_t reads_before[] = {gap_reads(1), gap_reads(2), gap_reads(3)};
    auto first = one.send_message(scene.all, "quiet-1", "first");
    auto retry = two.send_message(scene.all, "quiet-1", "first");
    auto next = two.send_message(scene.all, "quiet-2", "next");
    ASSERT_EQ(first.at("type"), "ack") << json::serialize(first);
    ASSERT_EQ(retry.at("type"), "ack") << json::serialize(retry);
    ASSERT_EQ(next.at("type"), "ack") << json::serialize(next);
    EXPECT_TRUE(retry.at("duplicate").as_bool());
    EXPECT_EQ(retry.at("position"), first.at("position"));
    EXPECT_GT(next.at("position").as_int64(), first.at("position").as_int64());
    // Delivered on the nodes that did not commit it; neither read a gap.
    for (WsClient* ws : {&one, &three}) {
      for (;;) {
        auto frame = ws->next(10s);
        if (frame.at("type") != "event" || frame.at("event").at("type") != "message.new") continue;
        if (frame.at("event").at("message").at("client_id") == "quiet-2") break;
      }
    }
    for (int node = 1; node <= 3; ++node) {
      EXPECT_EQ(gap_reads(node), reads_before[node - 1]) << "node " << node << " read a gap from the database";
    }
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
        TestUser second = login(rest(), device.user.username, device.user.password, "second device");
        WsClient first_node(cluster().node_port(static_cast<int>(d % 3) + 1));
        WsClient other_node(cluster().node_port(static_cast<int>((d + 1) % 3) + 1));
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
    for (const auto& m : history(rest(), scene.devices[0].user, conversation)) {
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
