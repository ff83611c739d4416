// The orphan sweeper: deletes media files that nothing refers to — no
// message, no user or group avatar — once media.orphan_grace has passed
// since their upload, or since their last reference went (a deleted
// message, a changed avatar). A client uploads before it sends, so a fresh
// upload is an orphan for a moment by design; the grace covers that.
//
// Which media are orphans, and since when, is kept by the database itself
// (migration 0006, table media_orphans, maintained by triggers); the sweep
// re-checks every reference before it deletes a row. It deletes rows only:
// their blobs lose a reference (media_blobs.refcount), and the blob sweeper
// then deletes the files that no row uses any more, through the blob store.
//
// Bounded work: at most `limit` rows per call, deleted in one write
// transaction (one commit), so that a large backlog never holds the writer
// long; the next sweep continues.
//
// Thread safety: blocks on the database; call from a worker thread.
#pragma once

#include <chrono>
#include <cstddef>

namespace parley::storage {
class Store;
}

namespace parley::media {

// Rows deleted per sweep: a minute's sweep interval then clears 30 000
// orphans an hour, far above what uploads without sends produce, while one
// write of 500 small deletes keeps the writer for milliseconds.
inline constexpr std::size_t kOrphanSweepBatch = 500;

// Deletes up to `limit` media rows unreferenced for longer than `grace`.
// Returns how many were deleted.
std::size_t sweep_orphaned_media(storage::Store& store, std::chrono::milliseconds grace,
                                 std::size_t limit = kOrphanSweepBatch);

}  // namespace parley::media
