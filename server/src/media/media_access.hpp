// Who may read a media file: the one rule every media route (download,
// thumbnail, info) asks, so that a new way of sharing a file is added here
// and nowhere else.
//
// Today: the uploader. Conversations a message carried the file into, and
// avatars, extend this function (docs/security.md "Media").
//
// Anyone else gets the same 404 as for an id that does not exist: the
// routes never tell "exists but not yours" apart from "no such file".
//
// Thread safety: call inside a storage transaction, on its thread.
#pragma once

#include "storage/records.hpp"

namespace parley::storage {
class Transaction;
}

namespace parley::media {

class MediaAccess {
 public:
  // True when `user` may read `media` (its bytes, thumbnails and metadata).
  [[nodiscard]] static bool may_read(storage::Transaction& tx, storage::UserId user, const storage::Media& media);
};

}  // namespace parley::media
