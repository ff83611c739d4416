#include "media/orphan_sweep.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "storage/store.hpp"

namespace parley::media {

std::size_t sweep_orphaned_media(storage::Store& store, std::chrono::milliseconds grace, std::size_t limit) {
  UnixMillis before = now_millis() - grace.count();
  auto candidates = store.read([&](storage::Transaction& tx) { return tx.orphaned_media(before, limit); });
  if (candidates.empty()) return 0;
  // One write for the batch (bounded by `limit`); delete_orphaned_media
  // checks each again inside it: a send may have attached the file since
  // the list was read.
  std::size_t removed = store.write_blocking([&](storage::Transaction& tx) {
    std::size_t n = 0;
    for (const auto& id : candidates) n += tx.delete_orphaned_media(id, before) ? 1 : 0;
    return n;
  });
  if (removed > 0) log::get("media")->info("orphaned media removed count={}", removed);
  return removed;
}

}  // namespace parley::media
