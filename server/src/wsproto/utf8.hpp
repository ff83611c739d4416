// Incremental UTF-8 validation: text that arrives in pieces (frames,
// fragments, inflated chunks) is checked as it arrives, and fails on the
// first byte that can begin no valid UTF-8 sequence (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), without waiting for the
// message to end (Autobahn|Testsuite 6.4.x expects this "fail fast").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace parley::wsproto {

class Utf8Validator {
 public:
  // Checks the next piece of the text. False when `piece` (with what came
  // before) is not a prefix of any valid UTF-8 text; the validator then
  // stays failed until reset().
  [[nodiscard]] bool feed(const std::uint8_t* data, std::size_t size) noexcept;
  [[nodiscard]] bool feed(std::string_view piece) noexcept {
    return feed(reinterpret_cast<const std::uint8_t*>(piece.data()), piece.size());
  }

  // True when the text so far is complete: no sequence is cut off at its end.
  [[nodiscard]] bool complete() const noexcept { return !failed_ && need_ == 0; }

  void reset() noexcept { *this = Utf8Validator(); }

 private:
  std::uint8_t need_ = 0;   // continuation bytes still to come
  std::uint8_t lo_ = 0x80;  // the range the next continuation byte must be in
  std::uint8_t hi_ = 0xBF;
  bool failed_ = false;
};

// Whether `text` is, on its own, valid UTF-8.
[[nodiscard]] inline bool is_valid_utf8(std::string_view text) noexcept {
  Utf8Validator v;
  return v.feed(text) && v.complete();
}

}  // namespace parley::wsproto
