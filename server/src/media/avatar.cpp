#include "media/avatar.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "media/media_access.hpp"
#include "storage/store.hpp"

namespace parley::media {

storage::Media require_avatar_image(storage::Transaction& tx, storage::UserId user, std::string_view field,
                                    std::string_view id, std::uint64_t max_pixels) {
  // Ids are 22 characters; anything much longer is not looked up.
  auto media = id.size() <= 64 ? tx.media_by_id(id) : std::nullopt;
  if (!media || !MediaAccess::may_read(tx, user, *media)) {
    throw ApiError(ErrorCode::kValidationFailed, fmt::format("{}: no such media", field));
  }
  std::string_view type = media->content_type;
  if (!type.starts_with("image/") || type.starts_with("image/svg")) {
    throw ApiError(ErrorCode::kUnsupportedMediaType, fmt::format("{}: must be an image", field));
  }
  // Width and height are set only for images that probed well at upload
  // (media/image.hpp, with its decompression-bomb limits).
  if (!media->width || !media->height || *media->width <= 0 || *media->height <= 0 ||
      static_cast<std::uint64_t>(*media->width) * static_cast<std::uint64_t>(*media->height) > max_pixels) {
    throw ApiError(ErrorCode::kInvalidImage, fmt::format("{}: the image is damaged or too large", field));
  }
  return *media;
}

}  // namespace parley::media
