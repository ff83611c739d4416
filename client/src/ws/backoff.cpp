#include "ws/backoff.hpp"

#include <algorithm>

namespace parley::ws {

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed)
    : min_(std::max(min, std::chrono::milliseconds(1))), max_(std::max(max, min_)), ceiling_(min_), random_(seed) {}

std::chrono::milliseconds Backoff::next() {
  std::uniform_int_distribution<std::int64_t> pick(0, ceiling_.count());
  const auto delay = std::chrono::milliseconds(pick(random_));
  ceiling_ = std::min(ceiling_ * 2, max_);
  return delay;
}

}  // namespace parley::ws
