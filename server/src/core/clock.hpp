// Wall-clock time as exchanged with clients and stored: Unix milliseconds.
#pragma once

#include <chrono>
#include <cstdint>

namespace parley {

using UnixMillis = std::int64_t;

[[nodiscard]] inline UnixMillis now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace parley
