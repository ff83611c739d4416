#include "realtime/stream_positions.hpp"

#include <algorithm>

namespace parley::realtime {

void StreamPositions::start_at(storage::Position current) {
  std::lock_guard lock(mutex_);
  floor_ = std::max(current, published_);
  published_ = *floor_;
}

void StreamPositions::published(const std::vector<storage::Event>& events) {
  std::lock_guard lock(mutex_);
  for (const auto& event : events) {
    published_ = std::max(published_, event.pos);
    for (auto user : event.recipients) newest_[user] = event.pos;
    if (event.user_id) newest_[*event.user_id] = event.pos;
  }
  if (newest_.size() > capacity_) {
    newest_.clear();
    if (floor_) floor_ = published_;
  }
}

void StreamPositions::incomplete_through(storage::Position upto) {
  std::lock_guard lock(mutex_);
  newest_.clear();
  if (floor_) floor_ = std::max({*floor_, published_, upto});
}

bool StreamPositions::nothing_since(storage::UserId user, storage::Position from) const {
  std::lock_guard lock(mutex_);
  if (!floor_ || from > published_) return false;
  auto found = newest_.find(user);
  // Never below the floor: after incomplete_through() a user's recorded
  // newest may be older than what they had in the gap.
  return from >= (found == newest_.end() ? *floor_ : std::max(*floor_, found->second));
}

}  // namespace parley::realtime
