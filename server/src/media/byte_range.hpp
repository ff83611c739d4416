// The Range header of a download (RFC 9110 §14): one byte range is answered
// 206 with that range, anything else whole.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace parley::media {

struct RangeDecision {
  enum Kind {
    kWhole,          // 200 with the whole file: no Range, not "bytes", several ranges, or not parsable
    kPartial,        // 206 with [first, first + length)
    kUnsatisfiable,  // 416 with Content-Range: bytes */size
  };
  Kind kind = kWhole;
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};

// Decides how to answer `range` (the Range header's value, empty when absent)
// for a file of `size` bytes:
//   "bytes=10-20"  the 11 bytes 10..20 (an end past the file is cut to it);
//   "bytes=10-"    from 10 to the end;
//   "bytes=-500"   the last 500 bytes (the whole file when it is shorter);
//   a first byte at or past the end, or "bytes=-0": unsatisfiable;
//   several ranges ("bytes=0-1,5-6"): the whole file. Serving several parts
//   needs multipart/byteranges, which no client of ours uses, and answering
//   overlapping ranges is a known amplification;
//   a malformed value or another unit: ignored, the whole file (RFC 9110
//   lets a server ignore a Range it does not understand).
[[nodiscard]] RangeDecision decide_range(std::string_view range, std::uint64_t size);

}  // namespace parley::media
