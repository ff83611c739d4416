// What the three-node black-box tests share (docs/deploy.md): a cluster of
// three parleyd nodes behind HAProxy (tests/support/cluster_process), a
// REST client through HAProxy, and the scene: six users, two groups, one
// device per user, spread over the nodes or connected through HAProxy. The
// load (every device sends into its groups while a failure is inflicted)
// and the outcome every load test checks: each device saw the same gapless
// order in each group, each acknowledged message once, and the history
// holds each client message id once.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "support/cluster_process.hpp"
#include "support/http_client.hpp"
#include "support/ws_client.hpp"

namespace parley::test {

// The cheapest password hashing parleyd accepts, as in ServerProcess.
inline constexpr const char* kNodeConfig =
    "[auth]\npassword_memory_kib = 19456\npassword_passes = 2\n"
    "[stickers]\ninstall_default_pack = false\n";

inline constexpr int kDevices = 6;
inline constexpr int kMessagesPerDevice = 30;
inline constexpr int kTotal = kDevices * kMessagesPerDevice;

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

// Runs the devices' threads (kMessagesPerDevice sends each) and lets a test
// act when the load reaches a point (acks counted across devices), without
// sleeping. The destructor stops what is still running.
class Load {
 public:
  explicit Load(std::vector<Device>& devices);
  ~Load();
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  // How many sends may start in all (the rest wait); kTotal by default.
  void set_budget(int budget);
  // Connects every device (so that each sees every message from the first),
  // then lets them send.
  void start();
  // Waits until `count` sends were acknowledged across devices.
  bool wait_acks(int count, std::chrono::seconds timeout = std::chrono::seconds(60));
  // Waits for every device to have sent everything and seen every
  // acknowledged message of its groups.
  bool finish(std::chrono::seconds timeout = std::chrono::seconds(90));
  int acks();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Six users; u0 owns two groups: "all" (everyone) and "four" (u0 to u3).
// Every user's device sends into the groups it is in, in turn.
struct Scene {
  std::vector<Device> devices;
  std::int64_t all = 0;
  std::int64_t four = 0;
};

// The whole history of a conversation over REST.
std::vector<boost::json::object> history(const HttpClient& rest, const TestUser& user, std::int64_t conversation);

// The answer (ack or error) to the frame with this ref, skipping events.
boost::json::object answer_to(WsClient& ws, const std::string& ref);

// A cluster per test (scripts/cluster.sh), the REST client through HAProxy
// and the scene, made before the test body runs.
class ThreeNodes : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // What every node's config gets appended (kNodeConfig by default). It
  // follows the [cluster] table (scripts/cluster.sh): keys before any table
  // header set cluster options.
  [[nodiscard]] virtual std::string node_config() const { return kNodeConfig; }

  [[nodiscard]] ClusterProcess& cluster() { return *cluster_; }
  [[nodiscard]] const HttpClient& rest() const { return *rest_; }

  // Devices on the nodes' own ports, two per node (device i on node
  // i % 3 + 1).
  void spread_over_nodes();
  // Every device (re)connects through HAProxy.
  void through_haproxy();
  // Expects every node to log `text` at least `count` times within
  // `timeout`.
  void expect_every_node_logs(std::string_view text, std::size_t count, std::chrono::milliseconds timeout);
  // How often a node read a gap in the stream from the database instead of
  // receiving its batch over Redis (cluster/ordered_merge.hpp).
  [[nodiscard]] std::size_t gap_reads(int node) const;
  // What every load test checks once the load is over (see the top).
  void check_outcome();

  Scene scene;

 private:
  std::unique_ptr<ClusterProcess> cluster_;
  std::unique_ptr<HttpClient> rest_;
};

}  // namespace parley::test
