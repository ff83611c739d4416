#include "media/media_service.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <future>
#include <limits>
#include <system_error>
#include <vector>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/offload.hpp"
#include "core/random_id.hpp"
#include "core/sha256.hpp"
#include "core/log.hpp"
#include "media/content_type.hpp"
#include "media/file_name.hpp"
#include "media/image.hpp"
#include "media/media_access.hpp"
#include "media/media_error.hpp"
#include "media/orphan_sweep.hpp"
#include "media/thumbnailer.hpp"
#include "storage/backup.hpp"
#include "storage/store.hpp"

namespace parley::media {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using storage::Transaction;

// Read and hash buffers: the most a request or a worker holds of a file.
constexpr std::size_t kChunkBytes = 64 * 1024;
// Work taken per sweep, so that one sweep never holds the writer long.
constexpr std::size_t kSweepBatch = 256;
// Two workers: one can hash a large upload while the other finishes small
// ones; thumbnails have their own pool.
constexpr int kWorkers = 2;

[[noreturn]] void throw_errno(std::string_view what) {
  throw std::system_error(errno, std::generic_category(), std::string(what));
}

// Hashes a whole file from the start; returns the digest and the size.
std::pair<std::string, std::int64_t> hash_file(int fd) {
  Sha256 hash;
  std::vector<char> buffer(kChunkBytes);
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read");
    if (n == 0) break;
    hash.update(buffer.data(), static_cast<std::size_t>(n));
    offset += n;
  }
  return {hash.hex_digest(), static_cast<std::int64_t>(offset)};
}

void write_all(int fd, const char* data, std::size_t size, off_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write");
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
}

void fsync_or_throw(int fd) {
  if (::fsync(fd) != 0) throw_errno("fsync");
}

// Ids are only ever what random_base64url(16) makes; anything else cannot exist, and
// never reaches a query or a file name.
bool plausible_id(std::string_view id) {
  if (id.size() != 22) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

ApiError no_such_media() { return ApiError(ErrorCode::kNotFound, "no such media"); }
ApiError no_such_upload() { return ApiError(ErrorCode::kNotFound, "no such upload"); }

ApiError quota_exceeded(std::uint64_t quota) {
  return ApiError(ErrorCode::kQuotaExceeded, fmt::format("this would pass your storage quota of {} bytes", quota));
}

}  // namespace

OffsetMismatch::OffsetMismatch(std::int64_t current)
    : ApiError(ErrorCode::kOffsetMismatch,
               fmt::format("the server has {} bytes of this upload; send the part that starts there", current)),
      offset(current) {}

// Marks an upload as having a request in progress, so that two requests
// never append to (or finish) one upload at once, and the sweeper leaves it.
class MediaService::UploadGuard {
 public:
  UploadGuard(MediaService& service, std::string_view id) : service_(service), id_(id) {
    std::lock_guard lock(service_.uploads_mutex_);
    if (!service_.busy_uploads_.insert(id_).second) {
      throw ApiError(ErrorCode::kConflict, "another request is working on this upload");
    }
  }
  ~UploadGuard() {
    std::lock_guard lock(service_.uploads_mutex_);
    service_.busy_uploads_.erase(id_);
  }
  UploadGuard(const UploadGuard&) = delete;
  UploadGuard& operator=(const UploadGuard&) = delete;

 private:
  MediaService& service_;
  std::string id_;
};

MediaService::MediaService(asio::io_context& io, storage::Store& store, const MediaOptions& options,
                           const fs::path& root)
    : io_(io),
      store_(store),
      options_(options),
      root_(root),
      blobs_(storage::make_local_blob_store(root)),
      thumbnailer_(std::make_unique<Thumbnailer>(ThumbnailOptions{
          options.thumbnail_workers, options.thumbnail_queue, ImageLimits{.max_pixels = options.max_image_pixels}})),
      workers_(kWorkers),
      sweep_timer_(io) {}

MediaService::~MediaService() {
  stop();
  workers_.join();
}


void MediaService::recover() {
  auto logger = log::get("media");
  std::size_t staged = blobs_->clean_staging();
  auto known = store_.read([](Transaction& tx) { return tx.upload_ids(); });
  std::set<std::string, std::less<>> rows(known.begin(), known.end());
  std::size_t orphans = 0;
  for (const auto& id : blobs_->upload_ids()) {
    if (rows.count(id) == 0) {
      blobs_->remove_upload(id);
      ++orphans;
    }
  }
  if (staged > 0 || orphans > 0) {
    logger->info("removed left-overs of an earlier run staged_files={} upload_files={}", staged, orphans);
  }
}

void MediaService::start() { schedule_sweep(); }

void MediaService::stop() {
  asio::post(io_, [this] { sweep_timer_.cancel(); });
  stopped_ = true;
}

void MediaService::schedule_sweep() {
  sweep_timer_.expires_after(options_.sweep_interval);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    asio::post(workers_, [this] {
      try {
        sweep_expired_uploads();
        // Orphans first: the blobs they leave unreferenced go in the same sweep.
        sweep_orphaned_media(store_, options_.orphan_grace);
        sweep_unreferenced_blobs();
      } catch (const std::exception& e) {
        log::get("media")->error("media sweep failed error=\"{}\"", e.what());
      }
      asio::post(io_, [this] {
        if (!stopped_) schedule_sweep();
      });
    });
  });
}

void MediaService::describe(const fs::path& path, storage::Media& media) const {
  media.content_type = sniff_content_type(path);
  if (media.content_type.starts_with("image/")) {
    std::error_code error;
    ImageInfo info = probe_image(path, ImageLimits{.max_pixels = options_.max_image_pixels}, error);
    if (!error) {
      media.width = static_cast<int>(info.display_width);
      media.height = static_cast<int>(info.display_height);
    }
  }
}

void MediaService::store_blob_and_row(storage::StagedFile staged, const storage::Media& media, bool check_quota) {
  std::lock_guard lock(blob_mutex_);
  store_.write_blocking([&](Transaction& tx) { tx.note_blob(media.sha256, media.size, media.created_at); });
  blobs_->commit(std::move(staged), media.sha256);
  // A failure below leaves a blob that the database knows with no
  // reference: the sweeper deletes it.
  store_.write_blocking([&](Transaction& tx) {
    if (check_quota && options_.quota_bytes != 0 &&
        static_cast<std::uint64_t>(tx.media_usage(media.owner_id) + media.size) > options_.quota_bytes) {
      throw quota_exceeded(options_.quota_bytes);
    }
    tx.insert_media(media);
  });
}

asio::awaitable<storage::Media> MediaService::upload(storage::UserId owner, std::string_view name,
                                                     http::BodyReader& body) {
  std::uint64_t room = std::numeric_limits<std::uint64_t>::max();
  if (options_.quota_bytes != 0) {
    auto used = static_cast<std::uint64_t>(store_.read([&](Transaction& tx) { return tx.media_usage(owner); }));
    room = used >= options_.quota_bytes ? 0 : options_.quota_bytes - used;
  }
  // Refused before the client sends the body (no 100 Continue was sent).
  if (auto declared = body.content_length(); declared && *declared > room) throw quota_exceeded(options_.quota_bytes);

  storage::StagedFile staged = blobs_->stage();
  Sha256 hash;
  std::vector<char> buffer(kChunkBytes);
  std::uint64_t size = 0;
  for (;;) {
    std::size_t n = co_await body.read_some(buffer);
    if (n == 0) break;
    size += n;
    if (size > room) throw quota_exceeded(options_.quota_bytes);  // `staged` removes the file
    hash.update(buffer.data(), n);
    // Into the page cache: fast enough for the I/O thread; the fsync that
    // waits for the disk runs on a worker below.
    write_all(staged.fd(), buffer.data(), n, static_cast<off_t>(size - n));
  }
  buffer = {};

  storage::Media media;
  media.id = random_base64url(16);
  media.owner_id = owner;
  media.sha256 = hash.hex_digest();
  media.size = static_cast<std::int64_t>(size);
  media.name = sanitize_file_name(name);
  auto finish = [this, &media, &staged] {
    describe(staged.path(), media);
    media.created_at = now_millis();
    store_blob_and_row(std::move(staged), media, /*check_quota=*/true);
  };
  co_await parley::offload(workers_, finish);
  co_return media;
}

asio::awaitable<storage::MediaUpload> MediaService::create_upload(storage::UserId owner, std::string_view name,
                                                                  std::int64_t size) {
  if (size < 1) throw ApiError(ErrorCode::kValidationFailed, "size: must be at least 1 (send empty files whole)");
  if (static_cast<std::uint64_t>(size) > options_.max_upload_bytes) {
    throw ApiError(ErrorCode::kPayloadTooLarge,
                   fmt::format("a file may have at most {} bytes", options_.max_upload_bytes));
  }
  storage::MediaUpload upload;
  upload.id = random_base64url(16);
  upload.owner_id = owner;
  upload.name = sanitize_file_name(name);
  upload.total_size = size;
  upload.created_at = now_millis();
  upload.expires_at = upload.created_at + std::chrono::milliseconds(options_.upload_expiry).count();
  co_await store_.write([&](Transaction& tx) {
    if (tx.open_uploads(owner) >= options_.max_open_uploads) {
      throw ApiError(ErrorCode::kConflict, fmt::format("you have {} uploads in progress already; finish or cancel one",
                                                       options_.max_open_uploads));
    }
    if (options_.quota_bytes != 0 && static_cast<std::uint64_t>(tx.media_usage(owner) + size) > options_.quota_bytes) {
      throw quota_exceeded(options_.quota_bytes);
    }
    tx.insert_upload(upload);
  });
  co_return upload;
}

storage::MediaUpload MediaService::upload_status(storage::UserId owner, std::string_view id) {
  if (!plausible_id(id)) throw no_such_upload();
  auto upload = store_.read([&](Transaction& tx) { return tx.upload_by_id(id); });
  if (!upload || upload->owner_id != owner) throw no_such_upload();
  return *upload;
}

asio::awaitable<storage::MediaUpload> MediaService::append_upload(storage::UserId owner, std::string_view id,
                                                                  std::int64_t first, std::int64_t last,
                                                                  std::int64_t total, http::BodyReader& body) {
  UploadGuard guard(*this, id);
  storage::MediaUpload upload = upload_status(owner, id);
  if (total != upload.total_size) {
    throw ApiError(ErrorCode::kValidationFailed,
                   fmt::format("Content-Range: the upload's size is {}, not {}", upload.total_size, total));
  }
  if (first != upload.received) throw OffsetMismatch(upload.received);
  if (last < first || last >= total) {
    throw ApiError(ErrorCode::kRangeNotSatisfiable, "Content-Range: the part must end within the upload");
  }
  const std::int64_t expected = last - first + 1;
  if (auto declared = body.content_length(); declared && static_cast<std::int64_t>(*declared) != expected) {
    throw ApiError(ErrorCode::kMalformedRequest, "Content-Length does not match Content-Range");
  }

  auto fd = std::make_shared<UniqueFd>(std::move(*blobs_->open_upload(upload.id, /*create=*/true)));
  // Bytes past the acknowledged offset are left from a part that was never
  // acknowledged (a crash between write and fsync): they are not the
  // client's to keep.
  if (::ftruncate(fd->get(), upload.received) != 0) throw_errno("ftruncate");

  std::int64_t written = 0;
  std::exception_ptr failure;
  try {
    std::vector<char> buffer(kChunkBytes);
    for (;;) {
      std::size_t n = co_await body.read_some(buffer);
      if (n == 0) break;
      if (written + static_cast<std::int64_t>(n) > expected) {
        throw ApiError(ErrorCode::kMalformedRequest, "the body is longer than Content-Range says");
      }
      write_all(fd->get(), buffer.data(), n, static_cast<off_t>(upload.received + written));
      written += static_cast<std::int64_t>(n);
    }
    if (written != expected)
      throw ApiError(ErrorCode::kMalformedRequest, "the body is shorter than Content-Range says");
  } catch (...) {
    failure = std::current_exception();
  }

  // What arrived is kept, durably, before it is acknowledged: a part cut off
  // by a dropped connection need not be sent again.
  if (written > 0) {
    auto sync = [&fd] { fsync_or_throw(fd->get()); };
    co_await parley::offload(workers_, sync);
    auto expires = now_millis() + std::chrono::milliseconds(options_.upload_expiry).count();
    bool advanced = co_await store_.write([&](Transaction& tx) {
      return tx.advance_upload(upload.id, upload.received, upload.received + written, expires);
    });
    if (!advanced) throw no_such_upload();  // cancelled or expired meanwhile
    upload.received += written;
    upload.expires_at = expires;
  }
  if (failure) std::rethrow_exception(failure);
  co_return upload;
}

asio::awaitable<storage::Media> MediaService::complete_upload(storage::UserId owner, std::string_view id) {
  UploadGuard guard(*this, id);
  storage::MediaUpload upload = upload_status(owner, id);
  if (upload.received != upload.total_size) throw OffsetMismatch(upload.received);
  auto finish = [this, &upload] {
    fs::path path = blobs_->upload_path(upload.id);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw std::system_error(errno, std::generic_category(), "open upload");
    auto [sha256, size] = hash_file(fd.get());
    if (size != upload.total_size) throw std::runtime_error("upload file size differs from its row");
    storage::Media media;
    media.id = random_base64url(16);
    media.owner_id = upload.owner_id;
    media.sha256 = sha256;
    media.size = size;
    media.name = upload.name;
    describe(path, media);
    media.created_at = now_millis();
    std::lock_guard lock(blob_mutex_);
    store_.write_blocking([&](Transaction& tx) { tx.note_blob(media.sha256, media.size, media.created_at); });
    blobs_->commit_upload(upload.id, media.sha256);
    // The upload's reservation becomes the file's size: the quota was
    // checked when the upload was created.
    store_.write_blocking([&](Transaction& tx) {
      tx.delete_upload(upload.id);
      tx.insert_media(media);
    });
    return media;
  };
  co_return co_await parley::offload(workers_, finish);
}

asio::awaitable<void> MediaService::cancel_upload(storage::UserId owner, std::string_view id) {
  UploadGuard guard(*this, id);
  storage::MediaUpload upload = upload_status(owner, id);
  co_await store_.write([&](Transaction& tx) { tx.delete_upload(upload.id); });
  auto remove = [this, &upload] { blobs_->remove_upload(upload.id); };
  co_await parley::offload(workers_, remove);
}

storage::Media MediaService::import_file(storage::UserId owner, std::string_view name, const fs::path& path) {
  storage::StagedFile staged = blobs_->stage();
  UniqueFd source(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!source) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  Sha256 hash;
  std::vector<char> buffer(kChunkBytes);
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::read(source.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read");
    if (n == 0) break;
    hash.update(buffer.data(), static_cast<std::size_t>(n));
    write_all(staged.fd(), buffer.data(), static_cast<std::size_t>(n), offset);
    offset += n;
  }
  storage::Media media;
  media.id = random_base64url(16);
  media.owner_id = owner;
  media.sha256 = hash.hex_digest();
  media.size = static_cast<std::int64_t>(offset);
  media.name = sanitize_file_name(name);
  describe(staged.path(), media);
  media.created_at = now_millis();
  store_blob_and_row(std::move(staged), media, /*check_quota=*/false);
  return media;
}

storage::Media MediaService::readable(storage::UserId reader, std::string_view id) {
  if (!plausible_id(id)) throw no_such_media();
  auto media = store_.read([&](Transaction& tx) -> std::optional<storage::Media> {
    auto found = tx.media_by_id(id);
    if (!found || !MediaAccess::may_read(tx, reader, *found)) return std::nullopt;
    return found;
  });
  if (!media) throw no_such_media();
  return *media;
}

storage::OpenBlob MediaService::open(const storage::Media& media) {
  auto blob = blobs_->open(media.sha256);
  if (!blob) {
    log::get("media")->error("blob missing media={} sha256={}", media.id, media.sha256);
    throw no_such_media();
  }
  return std::move(*blob);
}

storage::OpenBlob MediaService::open(const storage::MediaThumbnail& thumbnail) {
  auto blob = blobs_->open(thumbnail.sha256);
  if (!blob) {
    log::get("media")->error("thumbnail blob missing media={} sha256={}", thumbnail.media_id, thumbnail.sha256);
    throw no_such_media();
  }
  return std::move(*blob);
}

asio::awaitable<storage::MediaThumbnail> MediaService::thumbnail(const storage::Media& media, ThumbnailSize size) {
  if (!media.content_type.starts_with("image/")) throw ApiError(ErrorCode::kNotFound, "not an image");
  const int size_index = static_cast<int>(size);
  if (auto kept = store_.read([&](Transaction& tx) { return tx.media_thumbnail(media.id, size_index); })) {
    co_return *kept;
  }
  auto make = [this, &media, size, size_index] {
    auto source = blobs_->local_path(media.sha256);
    if (!source) throw no_such_media();
    // The thumbnailer writes beside its destination and renames: inside the
    // staging folder, which start-up empties.
    fs::path destination = blobs_->staging_dir() / (random_base64url(16) + ".thumb");
    std::promise<std::pair<std::error_code, ThumbnailResult>> made;
    thumbnailer_->submit(*source, size, destination, [&made](std::error_code error, const ThumbnailResult& result) {
      made.set_value({error, result});
    });
    auto [error, result] = made.get_future().get();
    if (error) {
      auto code = media_api_error_code(error);
      if (code == ErrorCode::kServiceBusy) {
        throw ApiError(code, "thumbnails are busy; try again shortly", std::chrono::seconds(1));
      }
      throw ApiError(code, fmt::format("no thumbnail: {}", error.message()));
    }
    UniqueFd fd(::open(destination.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) throw std::system_error(errno, std::generic_category(), "open thumbnail");
    auto [sha256, bytes] = hash_file(fd.get());
    storage::StagedFile staged(std::move(fd), destination);
    storage::MediaThumbnail thumbnail{media.id,
                                      size_index,
                                      sha256,
                                      bytes,
                                      result.content_type,
                                      static_cast<int>(result.width),
                                      static_cast<int>(result.height),
                                      now_millis()};
    std::lock_guard lock(blob_mutex_);
    // The record's fields, not the structured bindings above: a lambda may
    // not capture those in clang 14 (the fuzz build).
    store_.write_blocking(
        [&](Transaction& tx) { tx.note_blob(thumbnail.sha256, thumbnail.bytes, thumbnail.created_at); });
    blobs_->commit(std::move(staged), thumbnail.sha256);
    // Two requests may make the same thumbnail at once: the first row
    // stays, and the other's blob (the same bytes) is shared or swept.
    return store_.write_blocking([&](Transaction& tx) {
      if (!tx.insert_media_thumbnail(thumbnail)) return *tx.media_thumbnail(media.id, size_index);
      return thumbnail;
    });
  };
  co_return co_await parley::offload(workers_, make);
}

asio::awaitable<void> MediaService::delete_media(storage::UserId owner, std::string_view id) {
  if (!plausible_id(id)) throw no_such_media();
  co_await store_.write([&](Transaction& tx) {
    auto media = tx.media_by_id(id);
    if (!media || media->owner_id != owner) throw no_such_media();
    if (tx.media_references(id) > 0) {
      throw ApiError(ErrorCode::kConflict, "messages carry this file; delete them first");
    }
    tx.delete_media(id);
  });
  // Its blob, if no other row uses it, goes with the next blob sweep.
}

std::size_t MediaService::sweep_expired_uploads() {
  auto expired = store_.read([](Transaction& tx) { return tx.expired_uploads(now_millis(), kSweepBatch); });
  std::size_t removed = 0;
  for (const auto& upload : expired) {
    {
      std::lock_guard lock(uploads_mutex_);
      if (busy_uploads_.count(upload.id) > 0) continue;  // a part is arriving right now
      busy_uploads_.insert(upload.id);
    }
    try {
      bool deleted = store_.write_blocking([&](Transaction& tx) {
        auto current = tx.upload_by_id(upload.id);
        return current && current->expires_at < now_millis() && tx.delete_upload(upload.id);
      });
      if (deleted) {
        blobs_->remove_upload(upload.id);
        ++removed;
      }
    } catch (...) {
      std::lock_guard lock(uploads_mutex_);
      busy_uploads_.erase(upload.id);
      throw;
    }
    std::lock_guard lock(uploads_mutex_);
    busy_uploads_.erase(upload.id);
  }
  if (removed > 0) log::get("media")->info("expired uploads removed count={}", removed);
  return removed;
}

std::size_t MediaService::sweep_unreferenced_blobs() {
  // A backup (parleyd backup) holds this lock shared while it copies the
  // blobs its snapshot names, some of which may have lost their last
  // reference since: no blob is deleted until it is done (storage/backup.hpp).
  storage::SweepLock backup_lock(root_);
  if (!backup_lock.acquired()) {
    log::get("media")->info("blob sweep skipped: a backup is running");
    return 0;
  }
  auto candidates = store_.read([](Transaction& tx) { return tx.unreferenced_blobs(kSweepBatch); });
  std::size_t removed = 0;
  for (const auto& sha256 : candidates) {
    std::lock_guard lock(blob_mutex_);
    // Looked at again under the lock: an upload may have referred to it
    // since the list was read.
    if (store_.read([&](Transaction& tx) { return tx.blob_referenced(sha256); })) continue;
    // The file first: should the row outlive it (a crash in between), the
    // next sweep finds the row and finishes.
    if (storage::is_blob_name(sha256)) blobs_->remove(sha256);
    if (store_.write_blocking([&](Transaction& tx) { return tx.delete_unreferenced_blob(sha256); })) ++removed;
  }
  if (removed > 0) log::get("media")->info("unreferenced blobs removed count={}", removed);
  return removed;
}

boost::json::object media_view(const storage::Media& media) {
  boost::json::object view{{"id", media.id},
                           {"name", media.name},
                           {"size", media.size},
                           {"content_type", media.content_type},
                           {"created_at", media.created_at}};
  view["width"] = media.width ? boost::json::value(*media.width) : boost::json::value(nullptr);
  view["height"] = media.height ? boost::json::value(*media.height) : boost::json::value(nullptr);
  return view;
}

boost::json::object upload_view(const storage::MediaUpload& upload) {
  return boost::json::object{{"id", upload.id},
                             {"name", upload.name},
                             {"size", upload.total_size},
                             {"offset", upload.received},
                             {"created_at", upload.created_at},
                             {"expires_at", upload.expires_at}};
}

}  // namespace parley::media
