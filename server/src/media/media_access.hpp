// Who may read a media file: the one rule every media route (download,
// thumbnail, info) and every use of a file (attaching it to a message,
// making it an avatar) asks, so that a new way of sharing a file is added
// here and nowhere else.
//
// A user may read a file when
//   - they uploaded it;
//   - a message carried it into a conversation they are a member of (the
//     whole history: a member sees every message in it);
//   - a message carried it into a conversation while they were a member
//     (posted after their join, up to the end of the membership), even after
//     they left or were removed; never what was posted later
//     (docs/security.md "Message visibility and deletion");
//   - it is a user's avatar (profiles are visible to every signed-in user);
//   - it is the avatar of a group they are a member of.
// A deleted message no longer carries its files, so it grants nothing.
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
  // The owner costs nothing; anyone else one indexed query
  // (Transaction::media_shared_with).
  [[nodiscard]] static bool may_read(storage::Transaction& tx, storage::UserId user, const storage::Media& media);
};

}  // namespace parley::media
