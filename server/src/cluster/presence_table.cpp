#include "cluster/presence_table.hpp"

namespace parley::cluster {

bool PresenceTable::online_locked(storage::UserId user) const {
  return local_.contains(user) || remote_count_.contains(user);
}

bool PresenceTable::online(storage::UserId user) const {
  std::lock_guard lock(mutex_);
  return online_locked(user);
}

bool PresenceTable::online_elsewhere(storage::UserId user) const {
  std::lock_guard lock(mutex_);
  return remote_count_.contains(user);
}

std::vector<storage::UserId> PresenceTable::local_users() const {
  std::lock_guard lock(mutex_);
  return {local_.begin(), local_.end()};
}

std::size_t PresenceTable::nodes() const {
  std::lock_guard lock(mutex_);
  return nodes_.size();
}

std::optional<PresenceTable::Change> PresenceTable::local(storage::UserId user, bool online) {
  std::lock_guard lock(mutex_);
  bool before = online_locked(user);
  if (online) {
    local_.insert(user);
  } else {
    local_.erase(user);
  }
  bool after = online_locked(user);
  if (before == after) return std::nullopt;
  return Change{user, after};
}

void PresenceTable::add_remote(storage::UserId user, std::vector<Change>& changes) {
  bool before = online_locked(user);
  ++remote_count_[user];
  if (!before) changes.push_back({user, true});
}

void PresenceTable::remove_remote(storage::UserId user, std::vector<Change>& changes) {
  auto it = remote_count_.find(user);
  if (it == remote_count_.end()) return;
  if (--it->second == 0) remote_count_.erase(it);
  if (!online_locked(user)) changes.push_back({user, false});
}

std::vector<PresenceTable::Change> PresenceTable::remote(const PresenceMessage& message, Clock::time_point now) {
  std::vector<Change> changes;
  if (message.node == self_) return changes;
  std::lock_guard lock(mutex_);
  Node& node = nodes_[message.node];
  node.heard = now;
  switch (message.kind) {
    case PresenceMessage::Kind::kSnapshot: {
      std::set<storage::UserId> next(message.users.begin(), message.users.end());
      for (auto user : node.users) {
        if (!next.contains(user)) remove_remote(user, changes);
      }
      for (auto user : next) {
        if (!node.users.contains(user)) add_remote(user, changes);
      }
      node.users = std::move(next);
      break;
    }
    case PresenceMessage::Kind::kOnline:
      for (auto user : message.users) {
        if (node.users.insert(user).second) add_remote(user, changes);
      }
      break;
    case PresenceMessage::Kind::kOffline:
      for (auto user : message.users) {
        if (node.users.erase(user) != 0) remove_remote(user, changes);
      }
      break;
  }
  return changes;
}

std::vector<PresenceTable::Change> PresenceTable::expire(Clock::time_point now) {
  std::vector<Change> changes;
  std::lock_guard lock(mutex_);
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (now - it->second.heard < node_timeout_) {
      ++it;
      continue;
    }
    for (auto user : it->second.users) remove_remote(user, changes);
    it = nodes_.erase(it);
  }
  return changes;
}

void PresenceTable::revive(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  for (auto& [name, node] : nodes_) node.heard = now;
}

}  // namespace parley::cluster
