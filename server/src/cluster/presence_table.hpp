// Who is online anywhere in the cluster (docs/architecture.md "Several
// nodes: presence").
//
// Each node announces the users it has devices of: a snapshot of all of them
// with every heartbeat (cluster.heartbeat_interval_ms), and each change as it
// happens. Every node keeps the other nodes' last announcements here; a user
// is online when this node or any live node has a device of theirs. A node
// whose heartbeat has not been heard for cluster.node_timeout_ms is taken
// for dead and its users go offline: after a crash, presence is right again
// within node_timeout_ms (plus one heartbeat at most for the last
// announcement to have been made).
//
// While this node cannot hear Redis, it cannot tell a dead node from a
// silent bus: other nodes' announcements stay as last heard (expire() is not
// called), and when the bus is back every node gets a fresh deadline
// (revive()) before its next heartbeat decides.
//
// Changes are returned for the user's state across the cluster: a user who
// goes offline here but is online on another node changes nothing.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/bus_messages.hpp"

namespace parley::cluster {

class PresenceTable {
 public:
  struct Change {
    storage::UserId user = 0;
    bool online = false;
    bool operator==(const Change&) const = default;
  };

  PresenceTable(std::string self, std::chrono::milliseconds node_timeout)
      : self_(std::move(self)), node_timeout_(node_timeout) {}

  // This node's user got a first device (online) or lost the last.
  std::optional<Change> local(storage::UserId user, bool online);
  // Another node's announcement (this node's own are ignored).
  std::vector<Change> remote(const PresenceMessage& message, Clock::time_point now);
  // Forgets nodes not heard from for node_timeout.
  std::vector<Change> expire(Clock::time_point now);
  // Every known node's deadline starts over from `now`.
  void revive(Clock::time_point now);

  [[nodiscard]] bool online(storage::UserId user) const;
  // Online on another node (whatever this node has).
  [[nodiscard]] bool online_elsewhere(storage::UserId user) const;
  [[nodiscard]] std::vector<storage::UserId> local_users() const;
  [[nodiscard]] std::size_t nodes() const;

 private:
  struct Node {
    std::set<storage::UserId> users;
    Clock::time_point heard;
  };
  bool online_locked(storage::UserId user) const;
  // Adds/removes one remote node's user; appends a change when the
  // cluster-wide state flips.
  void add_remote(storage::UserId user, std::vector<Change>& changes);
  void remove_remote(storage::UserId user, std::vector<Change>& changes);

  const std::string self_;
  const std::chrono::milliseconds node_timeout_;
  mutable std::mutex mutex_;
  std::set<storage::UserId> local_;                       // guarded by mutex_
  std::unordered_map<std::string, Node> nodes_;           // guarded by mutex_
  std::unordered_map<storage::UserId, int> remote_count_;  // guarded by mutex_: nodes listing the user
};

}  // namespace parley::cluster
