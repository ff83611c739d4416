#include "media/media_access.hpp"

#include "storage/store.hpp"

namespace parley::media {

bool MediaAccess::may_read(storage::Transaction& /*tx*/, storage::UserId user, const storage::Media& media) {
  return media.owner_id == user;
}

}  // namespace parley::media
