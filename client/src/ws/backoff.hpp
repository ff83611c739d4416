// Reconnect delays: exponential with full jitter (a uniformly random delay
// between 0 and the current ceiling), so that devices cut off together do
// not come back together. The ceiling doubles per failure from `min` up to
// `max`; reset() after a connection that reached `synced`.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace parley::ws {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt; raises the ceiling.
  std::chrono::milliseconds next();
  void reset() { ceiling_ = min_; }
  [[nodiscard]] std::chrono::milliseconds ceiling() const { return ceiling_; }

 private:
  std::chrono::milliseconds min_, max_, ceiling_;
  std::mt19937_64 random_;
};

}  // namespace parley::ws
