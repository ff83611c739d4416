#include "wsproto/utf8.hpp"

#include <cstring>

namespace parley::wsproto {

bool Utf8Validator::feed(const std::uint8_t* data, std::size_t size) noexcept {
  if (failed_) return false;
  std::size_t i = 0;
  while (i < size) {
    if (need_ == 0) {
      // Text is mostly ASCII: skip it eight bytes at a time.
      while (i + 8 <= size) {
        std::uint64_t word;
        std::memcpy(&word, data + i, 8);
        if (word & 0x8080808080808080ULL) break;
        i += 8;
      }
      if (i == size) break;
      std::uint8_t b = data[i++];
      if (b < 0x80) continue;
      lo_ = 0x80;
      hi_ = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) {
        need_ = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        need_ = 2;
        if (b == 0xE0) lo_ = 0xA0;  // overlong
        if (b == 0xED) hi_ = 0x9F;  // surrogates
      } else if (b >= 0xF0 && b <= 0xF4) {
        need_ = 3;
        if (b == 0xF0) lo_ = 0x90;  // overlong
        if (b == 0xF4) hi_ = 0x8F;  // above U+10FFFF
      } else {
        failed_ = true;  // a continuation byte, C0/C1 (overlong) or F5-FF
        return false;
      }
    } else {
      std::uint8_t b = data[i++];
      if (b < lo_ || b > hi_) {
        failed_ = true;
        return false;
      }
      lo_ = 0x80;
      hi_ = 0xBF;
      --need_;
    }
  }
  return true;
}

}  // namespace parley::wsproto
