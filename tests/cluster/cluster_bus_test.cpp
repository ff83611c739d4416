// The cluster bus against a real redis-server (scripts/redis-test-server.sh):
// three ClusterNodes in this process share a stand-in database (committed
// events by position, visible in position order as PostgreSQL's are) and
// one Redis, which is killed and restarted under load. Every node must
// deliver every event once, in position order, including while Redis is
// down; presence, typing, revocations and presence rule changes cross
// nodes; a dead node's users go offline within the configured bound.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "auth/login_throttle.hpp"
#include "cluster/cluster_node.hpp"
#include "cluster/shared_counters.hpp"
#include "support/redis_process.hpp"

namespace parley::cluster {
namespace {

using namespace std::chrono_literals;
using storage::Position;

// Committed events by position. Positions are assigned and made visible
// under one lock: gapless, visible in order.
class FakeDatabase {
 public:
  std::vector<storage::Event> commit(std::size_t count) {
    std::lock_guard lock(mutex_);
    std::vector<storage::Event> events;
    for (std::size_t i = 0; i < count; ++i) {
      storage::Event e;
      e.pos = ++position_;
      e.recipients = {1};
      e.payload = std::make_shared<const std::string>("{\"p\":" + std::to_string(e.pos) + "}");
      events_[e.pos] = e;
      events.push_back(e);
    }
    return events;
  }
  // A position taken and left without an event (a retried send's).
  Position skip() {
    std::lock_guard lock(mutex_);
    return ++position_;
  }
  std::vector<storage::Event> read(Position after, Position upto) {
    std::lock_guard lock(mutex_);
    std::vector<storage::Event> out;
    for (auto it = events_.upper_bound(after); it != events_.end() && it->first <= upto; ++it)
      out.push_back(it->second);
    return out;
  }
  Position position() {
    std::lock_guard lock(mutex_);
    return position_;
  }

 private:
  std::mutex mutex_;
  Position position_ = 0;
  std::map<Position, storage::Event> events_;
};

// What one node delivered and saw, with waits on it.
struct Observed {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Position> delivered;
  std::map<storage::UserId, bool> presence;
  std::vector<std::string> ephemeral;
  std::vector<storage::SessionId> revoked;
  int presence_rules_changed = 0;
  // While set, the node's deliveries wait (a node too busy to deliver).
  bool stalled = false;

  template <typename Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, pred);
  }
};

ClusterOptions options_for(const test::RedisProcess& redis, std::string node) {
  ClusterOptions o;
  o.redis_url = redis.url();
  o.node_id = std::move(node);
  o.heartbeat_interval = 200ms;
  o.node_timeout = 1000ms;
  o.gap_wait = 50ms;
  o.poll_interval = 100ms;
  o.idle_poll_interval = 500ms;
  o.redis_timeout = 200ms;
  return o;
}

// A node's committed batch, as its store's EventSink hands it on.
void commit_on(ClusterNode& node, std::vector<storage::Event> events) {
  auto first = events.front().pos;
  auto last = events.back().pos;
  node.local_commit(first, last, std::move(events));
}

class ClusterBus : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  void TearDown() override {
    for (auto& seen : observed) stall(*seen, false);
    for (auto& node : nodes) node->stop(false);
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
  }

  ClusterNode& add_node(const std::string& name, const std::function<void(ClusterOptions&)>& adjust = {}) {
    auto& seen = *observed.emplace_back(std::make_unique<Observed>());
    ClusterHooks hooks{
        .read_range = [this](Position a, Position b) { return database.read(a, b); },
        .current_position = [this] { return database.position(); },
        .deliver =
            [&seen](std::vector<storage::Event> events) {
              std::unique_lock lock(seen.mutex);
              seen.changed.wait(lock, [&] { return !seen.stalled; });
              for (const auto& e : events) seen.delivered.push_back(e.pos);
              seen.changed.notify_all();
            },
        .presence_changed =
            [&seen](storage::UserId user, bool online) {
              std::lock_guard lock(seen.mutex);
              seen.presence[user] = online;
              seen.changed.notify_all();
            },
        .ephemeral =
            [&seen](const std::vector<storage::UserId>&, std::shared_ptr<const std::string> frame,
                    std::optional<storage::UserId>) {
              std::lock_guard lock(seen.mutex);
              seen.ephemeral.push_back(*frame);
              seen.changed.notify_all();
            },
        .sessions_revoked =
            [&seen](const std::vector<storage::SessionId>& sessions) {
              std::lock_guard lock(seen.mutex);
              seen.revoked.insert(seen.revoked.end(), sessions.begin(), sessions.end());
              seen.changed.notify_all();
            },
        .presence_rules_changed =
            [&seen] {
              std::lock_guard lock(seen.mutex);
              ++seen.presence_rules_changed;
              seen.changed.notify_all();
            },
    };
    auto options = options_for(redis, name);
    if (adjust) adjust(options);
    auto& node = *nodes.emplace_back(std::make_unique<ClusterNode>(io, options, std::move(hooks)));
    node.start(database.position());
    return node;
  }

  static void stall(Observed& seen, bool on) {
    std::lock_guard lock(seen.mutex);
    seen.stalled = on;
    seen.changed.notify_all();
  }

  // Waits until every node has delivered exactly 1..database.position(),
  // in order; fails with what a node has otherwise.
  void expect_all_delivered_in_order(const char* when) {
    Position last = database.position();
    std::vector<Position> expected;
    for (Position p = 1; p <= last; ++p) expected.push_back(p);
    for (std::size_t i = 0; i < observed.size(); ++i) {
      auto& seen = *observed[i];
      bool done = seen.wait([&] { return seen.delivered.size() >= expected.size(); });
      std::lock_guard lock(seen.mutex);
      EXPECT_TRUE(done) << when << ": node " << i << " delivered " << seen.delivered.size() << " of " << last;
      EXPECT_EQ(seen.delivered, expected) << when << ": node " << i;
    }
  }

  // Each node commits `batches` batches of 1-3 events, from threads of
  // their own, concurrently.
  void commit_load(int batches) {
    std::vector<std::thread> writers;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
      writers.emplace_back([this, n, batches] {
        for (int b = 0; b < batches; ++b) commit_on(*nodes[n], database.commit(1 + (b + n) % 3));
      });
    }
    for (auto& w : writers) w.join();
  }

  test::RedisProcess redis;
  FakeDatabase database;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Observed>> observed;
  std::vector<std::unique_ptr<ClusterNode>> nodes;
};

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TEST_F(ClusterBus, EveryNodeDeliversEveryEventOnceInOrderThroughARedisKillAndRestart) {
  for (const char* name : {"a", "b", "c"}) add_node(name);
  ASSERT_TRUE(wait_until([&] { return nodes[0]->redis_up() && nodes[1]->redis_up() && nodes[2]->redis_up(); }));
  commit_load(200);
  expect_all_delivered_in_order("with Redis up");
  auto from_redis = nodes[1]->stats();
  EXPECT_GT(from_redis.received, 0U);

  // Redis dies under load: delivery goes on from the database.
  std::thread load([&] { commit_load(200); });
  redis.kill9();
  load.join();
  ASSERT_TRUE(wait_until([&] { return !nodes[0]->redis_up(); }));
  commit_load(50);
  expect_all_delivered_in_order("with Redis down");
  auto while_down = nodes[1]->stats();
  EXPECT_GT(while_down.merge.fills, from_redis.merge.fills);
  EXPECT_GT(while_down.merge.filled_events, 0U);

  // Back: the nodes reconnect and fan-out goes through Redis again.
  redis.start();
  ASSERT_TRUE(wait_until([&] { return nodes[0]->redis_up() && nodes[1]->redis_up() && nodes[2]->redis_up(); }, 15s));
  commit_load(200);
  expect_all_delivered_in_order("after Redis came back");
  auto after = nodes[2]->stats();
  EXPECT_TRUE(after.redis_up);
  EXPECT_EQ(after.rejected, 0U);
}

TEST_F(ClusterBus, ALostLastBatchIsFoundByPolling) {
  add_node("a");
  add_node("b");
  ASSERT_TRUE(wait_until([&] { return nodes[0]->redis_up() && nodes[1]->redis_up(); }));
  commit_on(*nodes[0], database.commit(2));
  // Committed on "a" but never published (as if lost on the way): only
  // "b"'s poll of the position finds it.
  auto lost = database.commit(1);
  expect_all_delivered_in_order("after a lost batch");
  (void)lost;
}

// A batch whose positions hold no event (a retried send took one and stored
// nothing) still goes over the bus: the other nodes learn the position is
// empty and deliver what follows at once, without reading the database.
TEST_F(ClusterBus, AnEmptyBatchIsNoGap) {
  auto& a = add_node("a");
  add_node("b");
  ASSERT_TRUE(wait_until([&] { return nodes[0]->redis_up() && nodes[1]->redis_up(); }));
  commit_on(a, database.commit(1));
  Position empty = database.skip();
  a.local_commit(empty, empty, {});
  commit_on(a, database.commit(1));
  auto& seen_b = *observed[1];
  ASSERT_TRUE(seen_b.wait([&] { return seen_b.delivered.size() >= 2; }));
  {
    std::lock_guard lock(seen_b.mutex);
    EXPECT_EQ(seen_b.delivered, (std::vector<Position>{1, 3}));
  }
  EXPECT_EQ(nodes[1]->stats().merge.fills, 0U) << "b read the empty position from the database";
}

// Flow control: a node whose deliveries fall behind what the other nodes
// commit closes its intake past cluster.delivery_backlog positions, and
// opens it, resuming every held device once, when it has caught up.
TEST_F(ClusterBus, ANodeBehindOnDeliveriesHoldsItsIntakeUntilItCatchesUp) {
  auto& a = add_node("a");
  auto& b = add_node("b", [](ClusterOptions& o) {
    o.delivery_backlog = 100;
    o.intake_hold_max = 60s;  // only the backlog opens it in this test
  });
  ASSERT_TRUE(wait_until([&] { return a.redis_up() && b.redis_up(); }));
  auto& seen_b = *observed[1];
  EXPECT_FALSE(b.hold_intake([] { ADD_FAILURE() << "resumed while never held"; })) << "nothing behind yet";

  // b stops delivering (its first batch waits in deliver) while a commits
  // 150 positions in 30 batches over Redis: b hears of them, and is behind.
  stall(seen_b, true);
  for (int i = 0; i < 30; ++i) commit_on(a, database.commit(5));
  ASSERT_TRUE(wait_until([&] { return b.delivery_backlog() >= 100; })) << "backlog " << b.delivery_backlog();
  std::atomic<int> resumed{0};
  ASSERT_TRUE(b.hold_intake([&] { resumed.fetch_add(1); })) << "b is 100+ positions behind";
  ASSERT_TRUE(b.hold_intake([&] { resumed.fetch_add(1); })) << "a second device waits too";
  EXPECT_FALSE(a.hold_intake([] { ADD_FAILURE() << "a was never held"; })) << "a is not behind";
  EXPECT_EQ(resumed.load(), 0);

  // b catches up: both held devices go on, once each, and the intake is open.
  stall(seen_b, false);
  ASSERT_TRUE(wait_until([&] { return resumed.load() == 2; }));
  expect_all_delivered_in_order("after b caught up");
  EXPECT_LE(b.delivery_backlog(), 50);
  EXPECT_FALSE(b.hold_intake([] { ADD_FAILURE() << "resumed while never held"; }));
  auto stats = b.stats();
  EXPECT_EQ(stats.intake_closed, 1U);
  EXPECT_EQ(stats.intake_timeouts, 0U);
  EXPECT_EQ(resumed.load(), 2) << "each held device resumed once";
}

// A delivery that does not progress (a slow gap read) holds the intake for
// cluster.intake_hold_max at most: the node's sends go on, slower.
TEST_F(ClusterBus, AStalledDeliveryHoldsTheIntakeNoLongerThanItsMaximum) {
  auto& a = add_node("a");
  auto& b = add_node("b", [](ClusterOptions& o) {
    o.delivery_backlog = 50;
    o.intake_hold_max = 300ms;
  });
  ASSERT_TRUE(wait_until([&] { return a.redis_up() && b.redis_up(); }));
  auto& seen_b = *observed[1];
  stall(seen_b, true);
  for (int i = 0; i < 20; ++i) commit_on(a, database.commit(5));
  ASSERT_TRUE(wait_until([&] { return b.delivery_backlog() >= 50; }));
  std::atomic<bool> resumed{false};
  ASSERT_TRUE(b.hold_intake([&] { resumed.store(true); }));
  ASSERT_TRUE(wait_until([&] { return resumed.load(); }, 5s)) << "held past intake_hold_max";
  EXPECT_GE(b.delivery_backlog(), 50) << "resumed by the maximum, not by catching up";
  stall(seen_b, false);
  expect_all_delivered_in_order("after the stall");
  EXPECT_GE(b.stats().intake_timeouts, 1U);
}

TEST_F(ClusterBus, PresenceTypingAndRevocationsCrossNodes) {
  auto& a = add_node("a");
  auto& b = add_node("b");
  ASSERT_TRUE(wait_until([&] { return a.redis_up() && b.redis_up(); }));
  auto& seen_b = *observed[1];

  EXPECT_TRUE(a.local_presence(7, true));
  ASSERT_TRUE(seen_b.wait([&] { return seen_b.presence.contains(7) && seen_b.presence[7]; }));
  EXPECT_TRUE(b.presence().online(7));
  EXPECT_TRUE(b.presence().online_elsewhere(7));

  a.publish_ephemeral({7}, R"({"type":"typing"})", std::nullopt);
  ASSERT_TRUE(seen_b.wait([&] { return !seen_b.ephemeral.empty(); }));
  EXPECT_EQ(seen_b.ephemeral.front(), R"({"type":"typing"})");

  a.publish_sessions_revoked({42});
  ASSERT_TRUE(seen_b.wait([&] { return !seen_b.revoked.empty(); }));
  EXPECT_EQ(seen_b.revoked, std::vector<storage::SessionId>{42});

  a.publish_presence_rules_changed();
  ASSERT_TRUE(seen_b.wait([&] { return seen_b.presence_rules_changed > 0; }));

  EXPECT_TRUE(a.local_presence(7, false)) << "only a had a device of 7";
  ASSERT_TRUE(seen_b.wait([&] { return !seen_b.presence[7]; }));
}

TEST_F(ClusterBus, ADeadNodesUsersGoOfflineWithinTheTimeout) {
  auto& a = add_node("a");
  auto& b = add_node("b");
  ASSERT_TRUE(wait_until([&] { return a.redis_up() && b.redis_up(); }));
  auto& seen_b = *observed[1];
  a.local_presence(9, true);
  ASSERT_TRUE(seen_b.wait([&] { return seen_b.presence.contains(9) && seen_b.presence[9]; }));
  // "a" dies without a word (as kill -9 would leave it).
  auto died = std::chrono::steady_clock::now();
  a.stop(false);
  ASSERT_TRUE(seen_b.wait([&] { return !seen_b.presence[9]; }, 5s));
  auto took = std::chrono::steady_clock::now() - died;
  // Not before the node timeout (less the heartbeat it may have been
  // into), and within it plus one heartbeat and some scheduling slack.
  EXPECT_GE(took, 1000ms - 200ms);
  EXPECT_LE(took, 1000ms + 200ms + 1300ms);
  EXPECT_FALSE(b.presence().online(9));
}

}  // namespace
}  // namespace parley::cluster

namespace parley::cluster {
namespace {

// Login throttling shared through Redis: failures on one node block the
// same guesser on another; with Redis gone each node falls back to its own
// counters, at once.
TEST(SharedLoginThrottle, FailuresOnOneNodeBlockOnAnotherAndFallBackWhenRedisIsGone) {
  test::RedisProcess redis;
  AuthOptions options;
  options.login_failures_per_pair = 3;
  options.login_delay_base = std::chrono::seconds(30);
  SharedCounters counters_a(RedisEndpoint::parse(redis.url()), 200ms);
  SharedCounters counters_b(RedisEndpoint::parse(redis.url()), 200ms);
  auth::LoginThrottle node_a(options);
  auth::LoginThrottle node_b(options);
  node_a.set_shared(&counters_a);
  node_b.set_shared(&counters_b);
  auth::LoginAttempt guess{"alice", "203.0.113.5", ""};

  node_a.record_failure(guess);
  node_b.record_failure(guess);
  EXPECT_FALSE(node_a.retry_after(guess));
  EXPECT_FALSE(node_b.retry_after(guess));
  node_a.record_failure(guess);  // the third failure across both nodes
  auto wait = node_b.retry_after(guess);
  ASSERT_TRUE(wait) << "node b saw no block from node a's failures";
  EXPECT_GE(*wait, std::chrono::seconds(29));
  EXPECT_LE(*wait, std::chrono::seconds(30));

  // Another account from another address is not affected.
  EXPECT_FALSE(node_b.retry_after({"bob", "198.51.100.7", ""}));
  // A success clears the pair everywhere.
  node_b.record_success(guess);
  EXPECT_FALSE(node_a.retry_after(guess));

  // Redis gone: each node counts on its own, and answers at once.
  redis.kill9();
  auth::LoginAttempt other{"carol", "192.0.2.9", ""};
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) node_a.record_failure(other);
  EXPECT_TRUE(node_a.retry_after(other)) << "the local counters still block";
  EXPECT_FALSE(node_b.retry_after(other)) << "node b cannot know without Redis";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "calls do not queue behind a dead Redis";
}

}  // namespace
}  // namespace parley::cluster
