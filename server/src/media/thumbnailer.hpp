// Thumbnails of uploaded images, made on a bounded pool of worker threads.
//
// Decoding images is CPU work of unbounded duration, so it never runs on an
// I/O thread: submit() only queues a job (or refuses it when the queue is
// full, without blocking) and a worker calls the completion callback when the
// thumbnail is on disk.
//
// Each job: probe the source (header only) and refuse decompression bombs
// before any decoding (ImageLimits); shrink-on-load with vips_thumbnail (the
// JPEG and WebP decoders scale while decoding, so memory follows the output
// size), auto-rotated by EXIF orientation, first frame only of animations;
// strip every piece of metadata (EXIF, XMP, IPTC, ICC after conversion to
// sRGB: a photo's GPS position must never leak through a thumbnail); encode
// JPEG (quality 82) for opaque images and PNG for images with an alpha channel
// (PNG is lossless for the flat-colour art that usually has alpha, and every
// client decodes it; WebP would be smaller but not every desktop notifier
// shows it); write to a temporary file beside the destination, fsync, rename
// into place and fsync the folder: a reader sees the whole file or none.
//
// Thread safety: submit() may be called from any thread. Callbacks run on a
// worker thread, or, for a refusal (kBusy, kShuttingDown), on the caller's
// thread before submit() returns; they must not block for long and must not
// call back into the Thumbnailer's destructor.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "media/image.hpp"

namespace parley::media {

// The fixed sizes clients can ask for; never upscaled.
enum class ThumbnailSize {
  kSmall,   // 96×96, square, cropped around the centre: avatars, lists
  kMedium,  // fits in 320×320, aspect kept: message previews
  kLarge,   // fits in 1280×1280, aspect kept: the image viewer before the original
};

// The pixel box of a size (96, 320 or 1280).
[[nodiscard]] int thumbnail_box(ThumbnailSize size) noexcept;

// The content type a finished thumbnail has: "image/jpeg" or "image/png".
struct ThumbnailResult {
  std::string content_type;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

struct ThumbnailOptions {
  // Worker threads. 1: thumbnails are cheap with shrink-on-load (tens of ms),
  // and the I/O threads need the other cores more; raise on big machines.
  unsigned workers = 1;
  // Jobs waiting (not yet started) before submit() refuses with kBusy. 64: a
  // burst of a few dozen image posts waits rather than failing; beyond that
  // the client retries (503 with Retry-After), and memory stays bounded.
  std::size_t queue_limit = 64;
  // The decompression-bomb limits checked before decoding.
  ImageLimits limits;
};

using ThumbnailCallback = std::function<void(std::error_code, const ThumbnailResult&)>;

class Thumbnailer {
 public:
  explicit Thumbnailer(ThumbnailOptions options = {});
  // Stops: jobs not started are completed with kShuttingDown, running ones
  // finish, then the workers are joined.
  ~Thumbnailer();
  Thumbnailer(const Thumbnailer&) = delete;
  Thumbnailer& operator=(const Thumbnailer&) = delete;

  // Queues a thumbnail of `source` at `size`, written to `destination` (whose
  // folder must exist). `done` is called exactly once: with an empty error and
  // the result, or with a media error (kBusy at once when the queue is full;
  // kNotAnImage, kUnsupportedImage, kTooManyPixels, kTooManyFrames,
  // kCorruptImage, kIoError from the worker). On failure nothing is left at
  // `destination` or beside it. Only a crash of the process between writing
  // and renaming can leave a temporary `.thumb-*` file in the folder: whoever
  // owns the folder removes those at start-up.
  void submit(std::filesystem::path source, ThumbnailSize size, std::filesystem::path destination,
              ThumbnailCallback done);

 private:
  struct Job {
    std::filesystem::path source;
    ThumbnailSize size;
    std::filesystem::path destination;
    ThumbnailCallback done;
  };

  void run_worker();
  [[nodiscard]] std::error_code make_thumbnail(const Job& job, ThumbnailResult& result) const;

  const ThumbnailOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;  // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace parley::media
