// A token bucket: `rate` tokens a second, at most `burst` saved up. Each
// frame a client sends takes one token.
#pragma once

#include <algorithm>
#include <chrono>

namespace parley::ws {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(double rate, double burst, Clock::time_point now = Clock::now())
      : rate_(rate), burst_(burst), tokens_(burst), updated_(now) {}

  // Takes a token if there is one.
  bool allow(Clock::time_point now = Clock::now()) {
    std::chrono::duration<double> elapsed = now - updated_;
    updated_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point updated_;
};

}  // namespace parley::ws
