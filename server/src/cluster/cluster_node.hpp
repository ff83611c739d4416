// One parleyd node's part in a cluster (docs/architecture.md "Several
// nodes"): what it publishes to the other nodes over Redis, what it takes
// from them, and the ordered merge that turns both into one event stream in
// position order for this node's devices.
//
//   this node's commits --local_commit()--> merge --deliver--> hub
//                        \--PUBLISH parley:events--> other nodes' merges
//   other nodes' commits --Subscriber--> merge
//   the database's position, polled --> merge (gaps read from the database)
//
// The database is the source of truth; Redis only makes delivery fast. While
// Redis is down (or a message on it is lost) the merge notices the gap and
// reads it from the database: delivery goes on at the polling pace
// (cluster.poll_interval_ms), nothing is lost, nothing is repeated.
//
// Presence and typing go over Redis only and are never stored: see
// cluster/presence_table.hpp. Session revocations are announced so that
// every node closes the sessions' devices and forgets them in its caches.
//
// Threads: the merge and its timers run on one strand of the given
// io_context; Redis I/O runs on the Commander's and Subscriber's threads.
// The hooks say where each one is called. Every public method is
// thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "cluster/ordered_merge.hpp"
#include "cluster/presence_table.hpp"
#include "cluster/redis_client.hpp"
#include "core/config.hpp"

namespace parley::cluster {

struct ClusterHooks {
  // Every event with after < pos <= upto, from the database (on the strand;
  // may throw: tried again later).
  OrderedMerge::ReadRange read_range;
  // The database's newest committed position (on the strand; may throw).
  std::function<storage::Position()> current_position;
  // Events for this node's devices, in position order, each once (on the
  // strand).
  OrderedMerge::Deliver deliver;
  // A user's presence changed across the cluster (posted to the io_context).
  std::function<void(storage::UserId user, bool online)> presence_changed;
  // Another node's typing frame for this node's devices (on the subscriber
  // thread; must not block).
  std::function<void(const std::vector<storage::UserId>& to, std::shared_ptr<const std::string> frame,
                     std::optional<storage::UserId> except)>
      ephemeral;
  // Another node revoked these sessions (on the subscriber thread; must not
  // block).
  std::function<void(const std::vector<storage::SessionId>& sessions)> sessions_revoked;
  // Another node changed who may see whose presence (a last-seen setting):
  // forget cached audiences (on the subscriber thread; must not block).
  std::function<void()> presence_rules_changed;
};

struct ClusterStats {
  std::uint64_t published = 0;
  std::uint64_t publish_dropped = 0;
  std::uint64_t received = 0;
  std::uint64_t rejected = 0;  // undecodable messages
  MergeStats merge;
  storage::Position delivered = 0;
  bool redis_up = false;
  // Flow control (hold_intake()): how often the intake closed, and how
  // often it was opened by intake_hold_max rather than by the backlog.
  std::uint64_t intake_closed = 0;
  std::uint64_t intake_timeouts = 0;
};

class ClusterNode {
 public:
  ClusterNode(boost::asio::io_context& io, const ClusterOptions& options, ClusterHooks hooks);
  ~ClusterNode();  // stops

  // Starts delivering after `position` (the database's position at start)
  // and connects to Redis.
  void start(storage::Position position);
  // Stops the timers and Redis threads. Announces nothing: to the other
  // nodes a stopped node looks like a dead one (its users go offline after
  // node_timeout), unless `farewell`, which says its users left first.
  void stop(bool farewell = true);

  // This node's committed batch: positions first to last, and their events
  // (fewer, or none, when a write left a position unused: the other nodes
  // then learn it is empty instead of waiting gap_wait for it). From the
  // store's EventSink, on the writer's thread, which builds the messages'
  // payloads and publishes the batch before it goes to the merge.
  void local_commit(storage::Position first, storage::Position last, std::vector<storage::Event> events);
  // This node's user got their first device or lost their last (any
  // thread). Returns whether the user's state across the cluster changed.
  bool local_presence(storage::UserId user, bool online);
  // A typing frame for other nodes' devices of `to`.
  void publish_ephemeral(const std::vector<storage::UserId>& to, const std::string& frame,
                         std::optional<storage::UserId> except);
  // Sessions revoked here, for the other nodes.
  void publish_sessions_revoked(const std::vector<storage::SessionId>& sessions);
  // A last-seen setting changed here, for the other nodes' presence caches.
  void publish_presence_rules_changed();

  // Flow control on the node (docs/architecture.md "Several nodes: flow
  // control"). The delivery backlog is the distance between the newest
  // position this node knows was committed (its own commits, other nodes'
  // batches as they are read from Redis) and the position it has delivered
  // up to. Past cluster.delivery_backlog the node's intake closes: a device
  // that has a frame to handle calls hold_intake() first, and when it
  // returns true the device waits (reads nothing more) until `resume` is
  // called, once, from any thread: when the backlog is back to half the
  // bound, or after cluster.intake_hold_max_ms however it stands (a stalled
  // delivery must not stop the node). When it returns false `resume` is
  // dropped and the device goes on. Cheap while open: one atomic load.
  [[nodiscard]] bool hold_intake(std::function<void()> resume);
  [[nodiscard]] storage::Position delivery_backlog() const;

  [[nodiscard]] const PresenceTable& presence() const { return presence_; }
  [[nodiscard]] bool redis_up() const;
  // A consistent copy, taken on the strand (blocks until it runs: not on
  // the io_context's threads).
  [[nodiscard]] ClusterStats stats();

 private:
  void on_message(std::string_view channel, std::string_view payload);
  void on_up();
  void schedule_tick();
  void schedule_poll(std::chrono::milliseconds after);
  void poll();
  void heartbeat();
  void publish(std::string_view channel, std::string message);
  void after_merge();                     // on the strand: timers, backlog
  void seen(storage::Position position);  // any thread
  void update_intake();                   // any thread
  void on_intake_timer();
  void presence_changes(const std::vector<PresenceTable::Change>& changes);

  boost::asio::io_context& io_;
  ClusterOptions options_;
  ClusterHooks hooks_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer poll_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  std::unique_ptr<OrderedMerge> merge_;  // on the strand
  PresenceTable presence_;
  Commander commander_;
  std::unique_ptr<Subscriber> subscriber_;
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> rejected_{0};

  // Flow control: see hold_intake().
  std::atomic<storage::Position> newest_seen_{0};
  std::atomic<storage::Position> delivered_{0};
  std::atomic<bool> intake_closed_{false};
  std::mutex intake_mutex_;
  std::vector<std::function<void()>> intake_waiters_;  // guarded by intake_mutex_
  std::uint64_t intake_generation_ = 0;                // guarded by intake_mutex_
  std::atomic<std::uint64_t> intake_closed_count_{0};
  std::atomic<std::uint64_t> intake_timeouts_{0};
  boost::asio::steady_timer intake_timer_;  // on io_ (not the strand, which may wait on the database)
};

}  // namespace parley::cluster
