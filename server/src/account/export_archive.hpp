// The archive of a personal data export (docs/security.md "Personal data
// export"; the format is in docs/openapi.yaml, DataExport).
//
// A zip file, written with libarchive, holding:
//   profile.json                    the account, settings, sessions, second factor, sticker packs
//   contacts.json                   contacts, invitations both ways, blocks
//   conversations.json              every conversation the user is or was in, and who the senders are
//   messages/<conversation>.json    every message the user can read there, as they can read it
//   media/<media id>.<ext>          the files they sent and their avatar, byte for byte
//   manifest.json                   format, time, and the size and SHA-256 of every other entry
//
// What "can read" means is the history's rule (Transaction::readable_messages):
// a member reads the whole conversation; through a membership that ended,
// what was posted during it, as it was at its end; deleted messages are
// absent. Nothing else of anyone else is read.
//
// Memory stays bounded whatever the history's size: messages are read a
// page at a time and streamed into a scratch file beside the archive, which
// libarchive then copies in chunks (a zip entry's size is written before
// its data). The whole database part is read in one read transaction, so
// the archive is one consistent snapshot; the media bytes are copied after
// it ends (blobs never change, and a blob a sent message refers to is kept).
//
// Thread safety: everything here blocks on disk I/O; run it off the I/O
// threads. An ArchiveWriter belongs to one thread.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/records.hpp"

namespace parley::storage {
class Store;
class BlobStore;
}  // namespace parley::storage

namespace parley::account {

// The version of the archive's layout, in manifest.json.
inline constexpr int kExportFormatVersion = 1;

// The name a media file gets in the archive: "media/<id>" plus the display
// name's extension when it is 1 to 16 ASCII letters and digits (lower-cased).
// The id is the media id as stored (22 URL-safe base64 characters); anything
// else (which never comes from the database) is refused with
// std::invalid_argument, so no entry name can climb out of its folder.
[[nodiscard]] std::string archive_media_name(std::string_view media_id, std::string_view display_name);

// Writes a zip archive to a new file, entry by entry, keeping each entry's
// size and SHA-256 and the digest of the whole file.
class ArchiveWriter {
 public:
  struct Entry {
    std::string name;
    std::int64_t size = 0;
    std::string sha256;
  };

  // Creates `path` (mode 0600; it must not exist). Entries get `mtime`
  // (seconds since the epoch). Throws std::runtime_error.
  ArchiveWriter(const std::filesystem::path& path, std::int64_t mtime);
  // An archive not finished is closed and its file removed.
  ~ArchiveWriter();
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  void add_bytes(std::string_view name, std::string_view bytes);
  // Copies `size` bytes from the descriptor's current offset, in chunks.
  // Throws if it holds fewer.
  void add_fd(std::string_view name, int fd, std::int64_t size);
  void add_file(std::string_view name, const std::filesystem::path& path);

  // Adds manifest.json (`manifest` with "entries": every entry so far),
  // closes the archive and fsyncs the file. Returns the file's size and
  // SHA-256.
  struct Result {
    std::int64_t size = 0;
    std::string sha256;
  };
  Result finish(boost::json::object manifest);

  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<Entry> entries_;
};

// Thrown out of build_export when `progress` asked it to stop.
class ExportInterrupted : public std::runtime_error {
 public:
  ExportInterrupted() : std::runtime_error("export interrupted") {}
};

// Builds the export of `user` into `target` (through `target`.tmp, fsync
// and rename; a scratch file `target`.part is removed either way).
// `progress` is called now and then with the share done (0 to 1); it may
// throw ExportInterrupted to stop. Returns the archive's size and digest.
ArchiveWriter::Result build_export(storage::Store& store, storage::BlobStore& blobs, storage::UserId user,
                                   const std::filesystem::path& target, const std::function<void(double)>& progress);

}  // namespace parley::account
