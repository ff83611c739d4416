// Online backup and restore of a data folder (`parleyd backup DEST`,
// `parleyd restore SRC`).
//
// A backup is a folder:
//   DEST/parley.db            a consistent snapshot of the database
//   DEST/device-token.key     the key that signs device tokens (if any)
//   DEST/media/blobs/ab/cd..  every blob the snapshot references
//   DEST/manifest.json        written last: sizes and SHA-256 of all the above
// A backup without manifest.json is incomplete and restore refuses it.
//
// Consistency: the database is copied with `VACUUM INTO`, which reads the
// whole database in one read transaction: one snapshot, as of the moment it
// began, while the server (WAL mode) keeps committing. The blob list is read
// from that copy, so it names exactly the blobs the snapshot refers to.
// Blobs are immutable and named by content, so copying them after the
// snapshot is safe as long as none is deleted meanwhile: the backup holds a
// shared flock() on media/sweep.lock from before the snapshot until the last
// blob is copied, and the blob sweeper (media_service.cpp) skips its run
// while that lock is held (it takes it exclusive, without waiting).
//
// Restore verifies every checksum before putting anything in place, refuses
// a non-empty target and a schema newer than this binary's, copies through
// temp file + fsync + rename, then runs PRAGMA integrity_check.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace parley::storage {

// Any refusal or failure of backup or restore, with a message for people.
class BackupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The lock file the backup holds shared and the blob sweeper exclusive.
inline constexpr const char* kSweepLockFile = "sweep.lock";

struct BackupSummary {
  std::int64_t database_bytes = 0;
  std::int64_t blob_count = 0;
  std::int64_t blob_bytes = 0;
  int schema_version = 0;
  double snapshot_seconds = 0;  // VACUUM INTO
  double total_seconds = 0;
};

// Backs up `data_dir` (parley.db, device-token.key, media/) into `dest`,
// which must not exist or be an empty folder. Safe while the server runs.
BackupSummary backup_data_dir(const std::filesystem::path& data_dir, const std::filesystem::path& dest);

struct RestoreSummary {
  std::int64_t database_bytes = 0;
  std::int64_t blob_count = 0;
  std::int64_t blob_bytes = 0;
  int schema_version = 0;
};

// Restores the backup in `src` into `data_dir`, which must not exist or be
// empty. The server must not run on `data_dir`.
RestoreSummary restore_data_dir(const std::filesystem::path& src, const std::filesystem::path& data_dir);

// Holds media/sweep.lock exclusive for the blob sweeper, if no backup holds
// it. Releases it on destruction.
class SweepLock {
 public:
  explicit SweepLock(const std::filesystem::path& media_root);
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;
  ~SweepLock();
  // False while a backup runs: the sweeper must not delete blobs.
  [[nodiscard]] bool acquired() const { return acquired_; }

 private:
  int fd_ = -1;
  bool acquired_ = false;
};

}  // namespace parley::storage
