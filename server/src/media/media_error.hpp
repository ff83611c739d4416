// Errors of the media processing library (server/src/media).
//
// The library does not throw for bad input: probing and thumbnailing return a
// std::error_code in the category below, so a caller on an I/O thread can
// branch on it cheaply. A route turns one into the client-visible ErrorCode
// with media_api_error_code() (the one mapping, beside the vocabulary of
// core/error.hpp), never by inspecting messages.
#pragma once

#include <system_error>

#include "core/error.hpp"

namespace parley::media {

enum class MediaErrc {
  kNotAnImage = 1,    // no enabled image loader recognises the bytes
  kUnsupportedImage,  // an image format we do not decode (blocked or unknown loader)
  kTooManyPixels,     // width × height (per frame) above the limit: refused before decoding
  kTooManyFrames,     // an animation with more frames, or more pixels in all, than allowed
  kCorruptImage,      // truncated or damaged: the header or the pixels do not decode
  kBusy,              // the thumbnail queue is full; try again later (never blocks)
  kShuttingDown,      // the thumbnailer stopped before the job ran
  kIoError,           // reading the source or writing the result failed (server side)
};

[[nodiscard]] const std::error_category& media_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(MediaErrc e) noexcept {
  return {static_cast<int>(e), media_category()};
}

// The client-visible code for a media error: kNotAnImage and kUnsupportedImage
// -> kUnsupportedMediaType (415), kTooManyPixels and kTooManyFrames ->
// kPayloadTooLarge (413: a size limit, like the upload limit), kCorruptImage ->
// kValidationFailed (422), kBusy -> kServiceBusy (503 with Retry-After),
// everything else (including codes of other categories) -> kInternal.
[[nodiscard]] ErrorCode media_api_error_code(std::error_code error) noexcept;

}  // namespace parley::media

template <>
struct std::is_error_code_enum<parley::media::MediaErrc> : std::true_type {};
