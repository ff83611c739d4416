// The newest stream position of each user, from the events the hub
// publishes, so that a device resuming with nothing new is answered
// without a database read (docs/architecture.md "Catch-up from memory").
//
// Exact for a device that is attached to the hub before it asks: an event
// published before the device attached was recorded here before the hub
// looked for its recipients' devices (Hub::publish records first), so the
// question sees it; one published after reaches the device live. What was
// committed but not yet published is likewise delivered live.
//
// Users with no event since start-up are covered by the position the
// store had then (start_at()). Bounded: past `capacity` users the map is
// emptied and that floor raised to the newest published position, which is
// at least every forgotten user's newest.
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "storage/store.hpp"

namespace parley::realtime {

class StreamPositions {
 public:
  explicit StreamPositions(std::size_t capacity = 200'000) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The store's current position at start-up, before any write: every
  // user's newest event is at or before it. Until it is called, nothing is
  // answered from memory.
  void start_at(storage::Position current);

  // A committed batch, in position order, before the hub delivers it.
  void published(const std::vector<storage::Event>& events);

  // Events up to `upto` are, or will be, published without all their
  // recipients: a cluster node's gap read (cluster/ordered_merge.hpp) reads
  // the stream of the users connected here only. Every user's newest is
  // forgotten and the floor raised to `upto`, so a resume from before it
  // reads the database. Call before the read that chooses the users: a
  // device that attaches after it is answered from the database, one that
  // attached before is among the users read for.
  void incomplete_through(storage::Position upto);
  // True when `user` is known to have nothing in the stream after `from`
  // (and `from` is not ahead of what was published): the resume needs no
  // read. False means "read the stream", never "something is there".
  [[nodiscard]] bool nothing_since(storage::UserId user, storage::Position from) const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::optional<storage::Position> floor_;                        // guarded by mutex_
  storage::Position published_ = 0;                               // guarded by mutex_
  std::unordered_map<storage::UserId, storage::Position> newest_;  // guarded by mutex_
};

}  // namespace parley::realtime
