// The media server's logic between the routes (media/media_routes.cpp) and
// storage: uploads (simple and resumable) streamed to disk, content sniffed
// and images probed, bytes deduplicated into the blob store, quotas, who may
// read, thumbnails, and the sweepers that delete abandoned uploads and
// unreferenced blobs. docs/architecture.md "Media" has the whole picture.
//
// Where work runs: reading a request body and writing it to the page cache
// happens on the connection's I/O thread (small writes, no fsync). Everything
// that can take long (fsync, hashing a whole upload, sniffing, probing,
// renaming into the blob store, thumbnails) runs on the service's own worker
// threads, which the I/O coroutines await.
//
// Blobs and their rows: a blob file is made known to the database
// (Transaction::note_blob) before it is moved into the blob store, and a blob
// whose reference count is 0 is deleted by the blob sweeper, file first, then
// row. One mutex (blob_mutex_) serialises "store a blob and refer to it"
// against "delete an unreferenced blob", so that a blob is never deleted
// between an upload finding it already stored and its row referring to it.
// That mutex is per process: servers sharing one blob folder would need a
// lock in the database instead.
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/config.hpp"
#include "core/error.hpp"
#include "http/message.hpp"
#include "storage/blob_store.hpp"
#include "storage/records.hpp"

namespace parley::storage {
class Store;
}
namespace parley::media {
class Thumbnailer;
enum class ThumbnailSize;
}  // namespace parley::media

namespace parley::media {

// A resumable upload's part did not start where the server's bytes end
// (kOffsetMismatch, 409); `offset` is where the next part must start.
class OffsetMismatch : public ApiError {
 public:
  explicit OffsetMismatch(std::int64_t current);
  std::int64_t offset;
};

class MediaService {
 public:
  // Opens the blob store at `root` (creating it). Nothing runs until
  // recover() and start().
  MediaService(boost::asio::io_context& io, storage::Store& store, const MediaOptions& options,
               const std::filesystem::path& root);
  // Stops the sweepers and waits for the workers.
  ~MediaService();
  MediaService(const MediaService&) = delete;
  MediaService& operator=(const MediaService&) = delete;

  // At start-up, before serving: removes staged files and upload files
  // without a row (left by a crash or kill -9). Blocks.
  void recover();
  // Starts the sweepers (every media.sweep_interval) on the io_context.
  void start();
  // Stops the sweepers; work in progress finishes. Idempotent.
  void stop();

  // --- Uploads ------------------------------------------------------------

  // A simple upload: the whole body is the file. `name` is the client's
  // name (sanitised here). Throws kQuotaExceeded, kPayloadTooLarge (from the
  // body), kMalformedRequest (the body ended early); nothing is left on
  // disk then.
  [[nodiscard]] boost::asio::awaitable<storage::Media> upload(storage::UserId owner, std::string_view name,
                                                              http::BodyReader& body);

  // A resumable upload of `size` bytes (1..max_upload_bytes). Reserves its
  // size against the quota. Throws kPayloadTooLarge, kQuotaExceeded,
  // kConflict (too many uploads in progress), kValidationFailed.
  [[nodiscard]] boost::asio::awaitable<storage::MediaUpload> create_upload(storage::UserId owner, std::string_view name,
                                                                           std::int64_t size);
  // The upload, if `owner` has one with this id (else kNotFound).
  [[nodiscard]] storage::MediaUpload upload_status(storage::UserId owner, std::string_view id);
  // Appends a part that must start at the upload's offset (OffsetMismatch
  // otherwise) and ends at `last` (inclusive; the body must be exactly that
  // long). The bytes are fsynced before the offset moves and the call
  // returns. If the body breaks off, what arrived is kept and acknowledged,
  // and the request fails: the client asks the offset and resumes.
  [[nodiscard]] boost::asio::awaitable<storage::MediaUpload> append_upload(storage::UserId owner, std::string_view id,
                                                                           std::int64_t first, std::int64_t last,
                                                                           std::int64_t total, http::BodyReader& body);
  // Turns a complete upload into a media file (OffsetMismatch while bytes
  // are missing).
  [[nodiscard]] boost::asio::awaitable<storage::Media> complete_upload(storage::UserId owner, std::string_view id);
  // Deletes an upload in progress and its bytes.
  [[nodiscard]] boost::asio::awaitable<void> cancel_upload(storage::UserId owner, std::string_view id);

  // Stores a local file as a media file of `owner` (sticker import and
  // similar). Blocks: not for I/O threads. Not counted against the quota.
  storage::Media import_file(storage::UserId owner, std::string_view name, const std::filesystem::path& path);

  // --- Reading --------------------------------------------------------------

  // The media if `reader` may read it (MediaAccess); kNotFound otherwise,
  // the same as for an id that does not exist.
  [[nodiscard]] storage::Media readable(storage::UserId reader, std::string_view id);
  // Its bytes. kNotFound if the blob is missing (logged: it should not be).
  [[nodiscard]] storage::OpenBlob open(const storage::Media& media);
  // The thumbnail of an image, made on first request and then kept. Throws
  // kNotFound for media that is not an image, kUnsupportedMediaType for an
  // image format that is not decoded, kInvalidImage for a damaged image or
  // one over the pixel limits, kServiceBusy when the queue is full.
  [[nodiscard]] boost::asio::awaitable<storage::MediaThumbnail> thumbnail(const storage::Media& media,
                                                                          ThumbnailSize size);
  [[nodiscard]] storage::OpenBlob open(const storage::MediaThumbnail& thumbnail);
  // Deletes the owner's media file; kNotFound unless `owner` uploaded it,
  // kConflict while a message carries it.
  [[nodiscard]] boost::asio::awaitable<void> delete_media(storage::UserId owner, std::string_view id);

  // --- Sweepers (also run by start()'s timer) --------------------------------

  // Deletes uploads whose expiry has passed, rows and files. Blocks.
  std::size_t sweep_expired_uploads();
  // Deletes blobs no row refers to, files and rows. Blocks.
  std::size_t sweep_unreferenced_blobs();

  [[nodiscard]] storage::BlobStore& blobs() { return *blobs_; }

 private:
  class UploadGuard;
  struct Finished {
    std::string sha256;
    std::int64_t size = 0;
  };

  // Sniffs and probes the file at `path` into `media` (content_type, width,
  // height).
  void describe(const std::filesystem::path& path, storage::Media& media) const;
  // Stores `staged` as blob `sha256` and inserts `media` referring to it, as
  // one step under blob_mutex_. `check_quota`: refuse if the owner's usage
  // would pass the quota. Blocks.
  void store_blob_and_row(storage::StagedFile staged, const storage::Media& media, bool check_quota);
  void schedule_sweep();

  boost::asio::io_context& io_;
  storage::Store& store_;
  MediaOptions options_;
  std::filesystem::path root_;  // the blob store's folder, for the backup lock
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<Thumbnailer> thumbnailer_;
  boost::asio::thread_pool workers_;
  boost::asio::steady_timer sweep_timer_;
  std::mutex blob_mutex_;
  std::mutex uploads_mutex_;
  std::set<std::string, std::less<>> busy_uploads_;  // guarded by uploads_mutex_
  std::atomic<bool> stopped_{false};  // set on the I/O thread, read by the workers
};

// The JSON shapes of media in responses (docs/openapi.yaml Media and
// MediaUpload).
[[nodiscard]] boost::json::object media_view(const storage::Media& media);
[[nodiscard]] boost::json::object upload_view(const storage::MediaUpload& upload);

}  // namespace parley::media
