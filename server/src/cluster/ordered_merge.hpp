// The ordered merge of a node's own and other nodes' events
// (docs/architecture.md "Several nodes: delivery order").
//
// Every node delivers the event stream to its own devices strictly in
// position order, each event once. Batches come from two sources: this
// node's own commits (the store's EventSink) and other nodes' commits
// (Redis pub/sub). Neither is trusted to be complete: a pub/sub message can
// be lost (Redis down, a reconnect, a slow subscriber cut off), and only the
// database is the source of truth. So:
//
//   - a batch covers positions [first, last]; everything at or below
//     delivered() was delivered, and a batch (or the part of one) at or
//     below it is a duplicate and dropped;
//   - a batch above delivered() + 1 is held back until the positions
//     between arrive;
//   - a gap (a position known to be committed, above delivered(), that has
//     not arrived) that has held delivery up for `gap_wait` (its wait starts
//     when it becomes the first missing position) is read from the
//     database, in chunks of at most `fill_chunk` positions, and delivered;
//     batches held back then resume.
//
// What is "known to be committed": the last position of any batch seen, and
// what the owner reports through horizon() (the database's current
// position, polled: that is how a node notices a lost batch when nothing
// follows it, and how delivery continues while Redis is down). Reading
// (a, b] from the database is correct only if every position up to b is
// visible once b is: the PostgreSQL backend's positions are gapless and
// become visible in position order (docs/architecture.md), which makes it so.
//
// The merge holds no clock and no thread: time is passed in, and the owner
// calls tick() at next_deadline(). Not thread-safe: one strand owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "storage/records.hpp"

namespace parley::cluster {

using Clock = std::chrono::steady_clock;

// One commit's events: positions [first, last] (last >= first), the events
// among them in position order (a position may have none: a write rolled
// back in the batch).
struct EventBatch {
  storage::Position first = 0;
  storage::Position last = 0;
  std::vector<storage::Event> events;
};

struct MergeOptions {
  // How long a gap may wait for its batch to arrive over Redis before it is
  // read from the database. Pub/sub delivers in well under a millisecond on
  // a LAN; a batch can still be later when the committing node is slow to
  // publish. 200 ms keeps a lost batch's delay small and a database read
  // for a merely late one rare.
  std::chrono::milliseconds gap_wait{200};
  // Positions read from the database at once: bounds one read's size.
  storage::Position fill_chunk = 1000;
  // Batches held back at most; beyond this the gap is filled at once (a
  // long gap with traffic behind it should not grow memory).
  std::size_t max_held = 10'000;
};

struct MergeStats {
  std::uint64_t delivered_events = 0;
  std::uint64_t duplicate_batches = 0;
  std::uint64_t fills = 0;         // database reads
  std::uint64_t filled_events = 0;  // events delivered from them
  std::uint64_t fill_failures = 0;
};

class OrderedMerge {
 public:
  // Delivers events, in position order, never one twice.
  using Deliver = std::function<void(std::vector<storage::Event>)>;
  // Reads every event with after < pos <= upto from the database, in
  // position order. Throws when the database cannot answer (the gap is
  // tried again at the next tick).
  using ReadRange = std::function<std::vector<storage::Event>(storage::Position after, storage::Position upto)>;

  // `delivered`: the position the stream is at when the merge starts (the
  // database's current position; devices catch up from the database on
  // their own).
  OrderedMerge(storage::Position delivered, ReadRange read, Deliver deliver, MergeOptions options = {});

  // A batch from this node or another.
  void add(EventBatch batch, Clock::time_point now);
  // Every position up to `pos` is committed (a poll of the database).
  void horizon(storage::Position pos, Clock::time_point now);
  // Fills gaps whose wait is over. Call at next_deadline().
  void tick(Clock::time_point now);
  // When tick() has work next, or nullopt when there is no gap.
  [[nodiscard]] std::optional<Clock::time_point> next_deadline() const;

  [[nodiscard]] storage::Position delivered() const { return delivered_; }
  [[nodiscard]] storage::Position known() const { return known_; }
  [[nodiscard]] std::size_t held() const { return held_.size(); }
  [[nodiscard]] const MergeStats& stats() const { return stats_; }

 private:
  void drain(Clock::time_point now);
  void fill(Clock::time_point now);
  void deliver(std::vector<storage::Event> events);

  ReadRange read_;
  Deliver deliver_;
  MergeOptions options_;
  storage::Position delivered_;
  storage::Position known_;
  std::map<storage::Position, EventBatch> held_;  // by first position
  std::optional<Clock::time_point> gap_since_;
  MergeStats stats_;
};

}  // namespace parley::cluster
