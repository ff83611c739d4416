#include "cluster/ordered_merge.hpp"

#include <algorithm>
#include <exception>

#include "core/log.hpp"

namespace parley::cluster {

OrderedMerge::OrderedMerge(storage::Position delivered, ReadRange read, Deliver deliver, MergeOptions options)
    : read_(std::move(read)),
      deliver_(std::move(deliver)),
      options_(options),
      delivered_(delivered),
      known_(delivered) {}

void OrderedMerge::add(EventBatch batch, Clock::time_point now) {
  if (batch.last < batch.first) batch.last = batch.first;
  if (batch.last <= delivered_) {
    ++stats_.duplicate_batches;
    return;
  }
  known_ = std::max(known_, batch.last);
  auto it = held_.find(batch.first);
  if (it != held_.end()) {
    // The same commit twice (this node's own, echoed by Redis; a resend):
    // keep the one that covers more.
    ++stats_.duplicate_batches;
    if (it->second.last >= batch.last) {
      drain(now);
      return;
    }
    it->second = std::move(batch);
  } else {
    held_.emplace(batch.first, std::move(batch));
  }
  drain(now);
  if (held_.size() > options_.max_held) fill(now);
}

void OrderedMerge::horizon(storage::Position pos, Clock::time_point now) {
  known_ = std::max(known_, pos);
  drain(now);
}

void OrderedMerge::deliver(std::vector<storage::Event> events) {
  if (events.empty()) return;
  stats_.delivered_events += events.size();
  deliver_(std::move(events));
}

void OrderedMerge::drain(Clock::time_point now) {
  const auto delivered_before = delivered_;
  while (!held_.empty() && held_.begin()->first <= delivered_ + 1) {
    EventBatch batch = std::move(held_.begin()->second);
    held_.erase(held_.begin());
    if (batch.last <= delivered_) {
      ++stats_.duplicate_batches;
      continue;
    }
    // A batch that overlaps what was delivered (a fill covered part of it)
    // gives only what is new.
    std::erase_if(batch.events, [&](const storage::Event& e) { return e.pos <= delivered_; });
    delivered_ = batch.last;
    deliver(std::move(batch.events));
  }
  // The wait is the first missing position's: it starts again whenever
  // delivery moves on. Timed from the first of a run of gaps instead, a
  // node under steady load (always some batch in flight, each arriving in
  // time) read from the database every gap_wait what Redis was bringing.
  if (known_ > delivered_) {
    if (!gap_since_ || delivered_ != delivered_before) gap_since_ = now;
  } else {
    gap_since_.reset();
  }
}

std::optional<Clock::time_point> OrderedMerge::next_deadline() const {
  if (!gap_since_) return std::nullopt;
  return *gap_since_ + options_.gap_wait;
}

void OrderedMerge::tick(Clock::time_point now) {
  if (gap_since_ && now >= *gap_since_ + options_.gap_wait) fill(now);
}

void OrderedMerge::fill(Clock::time_point now) {
  // Up to the highest position known to be committed, chunk by chunk;
  // held batches resume as soon as the fill reaches them.
  while (known_ > delivered_) {
    storage::Position upto = std::min(known_, delivered_ + options_.fill_chunk);
    // Stop where a held batch takes over: it has the events already.
    if (!held_.empty() && held_.begin()->first > delivered_ + 1) {
      upto = std::min(upto, held_.begin()->first - 1);
    }
    std::vector<storage::Event> events;
    try {
      ++stats_.fills;
      events = read_(delivered_, upto);
    } catch (const std::exception& e) {
      ++stats_.fill_failures;
      log::get("cluster")->warn("could not read events after={} upto={} error=\"{}\"", delivered_, upto, e.what());
      // Try again after another wait.
      gap_since_ = now;
      return;
    }
    std::erase_if(events, [&](const storage::Event& e) { return e.pos <= delivered_ || e.pos > upto; });
    // Rare when Redis is up (a lost or late batch): worth a line, and what
    // tests count to tell a read from a batch that arrived.
    log::get("cluster")->info("gap read from the database after={} upto={} events={}", delivered_, upto, events.size());
    stats_.filled_events += events.size();
    delivered_ = upto;
    deliver(std::move(events));
    drain(now);
  }
  gap_since_.reset();
}

}  // namespace parley::cluster
