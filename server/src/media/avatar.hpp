// What may be an avatar (a user's or a group's): an image the person setting
// it may read (media/media_access.hpp), which probed well at upload within
// the pixel limit (media.max_image_pixels), so that its `small` thumbnail can
// be made. The avatar is then shown through
// GET /api/v1/media/{id}/thumbnail?size=small to whoever may see the profile
// or group (media_access.hpp).
//
// Thread safety: call inside a storage transaction, on its thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "storage/records.hpp"

namespace parley::storage {
class Transaction;
}

namespace parley::media {

// The media `id` if `user` may use it as an avatar. Throws ApiError:
// kValidationFailed "<field>: no such media" for an id that does not exist or
// that the user may not read (the same answer for both);
// kUnsupportedMediaType when it is not a raster image (SVG is active
// content, never an avatar); kInvalidImage when it did not probe as an image
// or has more than `max_pixels` pixels.
storage::Media require_avatar_image(storage::Transaction& tx, storage::UserId user, std::string_view field,
                                    std::string_view id, std::uint64_t max_pixels);

}  // namespace parley::media
