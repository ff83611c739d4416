#include "media/media_error.hpp"

#include <string>

namespace parley::media {
namespace {

class MediaCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "parley.media"; }
  std::string message(int value) const override {
    switch (static_cast<MediaErrc>(value)) {
      case MediaErrc::kNotAnImage:
        return "not an image";
      case MediaErrc::kUnsupportedImage:
        return "unsupported image format";
      case MediaErrc::kTooManyPixels:
        return "image has too many pixels";
      case MediaErrc::kTooManyFrames:
        return "animation has too many frames";
      case MediaErrc::kCorruptImage:
        return "image is truncated or corrupt";
      case MediaErrc::kBusy:
        return "thumbnail queue is full";
      case MediaErrc::kShuttingDown:
        return "thumbnailer is shutting down";
      case MediaErrc::kIoError:
        return "media input/output error";
    }
    return "unknown media error";
  }
};

}  // namespace

const std::error_category& media_category() noexcept {
  static const MediaCategory category;
  return category;
}

ErrorCode media_api_error_code(std::error_code error) noexcept {
  if (error.category() != media_category()) return ErrorCode::kInternal;
  switch (static_cast<MediaErrc>(error.value())) {
    case MediaErrc::kNotAnImage:
    case MediaErrc::kUnsupportedImage:
      return ErrorCode::kUnsupportedMediaType;
    case MediaErrc::kTooManyPixels:
    case MediaErrc::kTooManyFrames:
      return ErrorCode::kPayloadTooLarge;
    case MediaErrc::kCorruptImage:
      return ErrorCode::kValidationFailed;
    case MediaErrc::kBusy:
      return ErrorCode::kServiceBusy;
    case MediaErrc::kShuttingDown:
    case MediaErrc::kIoError:
      return ErrorCode::kInternal;
  }
  return ErrorCode::kInternal;
}

}  // namespace parley::media
