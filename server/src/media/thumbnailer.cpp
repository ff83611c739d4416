#include "media/thumbnailer.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <vips/vips.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "media/media_error.hpp"
#include "media/vips_runtime.hpp"

namespace parley::media {
namespace {

// Frees a g_malloc'ed encoder buffer or a VipsImage when leaving scope.
struct GFree {
  void* p = nullptr;
  ~GFree() { g_free(p); }
};
struct Unref {
  VipsImage* image = nullptr;
  ~Unref() {
    if (image != nullptr) g_object_unref(image);
  }
};

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Writes `data` to a temporary file in `destination`'s folder, fsyncs it,
// renames it over `destination` and fsyncs the folder so the rename is durable.
std::error_code write_atomically(const std::filesystem::path& destination, const char* data, std::size_t size) {
  const std::filesystem::path folder = destination.parent_path().empty() ? "." : destination.parent_path();
  std::string temp = (folder / (".thumb-" + destination.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return MediaErrc::kIoError;
  const bool written = write_all(fd, data, size) && ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!written || !closed || std::rename(temp.c_str(), destination.c_str()) != 0) {
    ::unlink(temp.c_str());
    return MediaErrc::kIoError;
  }
  // Without the folder's fsync the rename may not survive a crash; report
  // the failure and take the file back so the caller's view stays "none".
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dir >= 0 && ::fsync(dir) == 0;
  if (dir >= 0) ::close(dir);
  if (!synced) {
    ::unlink(destination.c_str());
    return MediaErrc::kIoError;
  }
  return {};
}

}  // namespace

int thumbnail_box(ThumbnailSize size) noexcept {
  switch (size) {
    case ThumbnailSize::kSmall:
      return 96;
    case ThumbnailSize::kMedium:
      return 320;
    case ThumbnailSize::kLarge:
      return 1280;
  }
  return 96;
}

Thumbnailer::Thumbnailer(ThumbnailOptions options) : options_(std::move(options)) {
  detail::ensure_vips();
  const unsigned count = options_.workers == 0 ? 1 : options_.workers;
  workers_.reserve(count);
  for (unsigned i = 0; i < count; ++i) workers_.emplace_back([this] { run_worker(); });
}

Thumbnailer::~Thumbnailer() {
  std::deque<Job> abandoned;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    abandoned.swap(queue_);
  }
  wake_.notify_all();
  for (Job& job : abandoned) job.done(MediaErrc::kShuttingDown, {});
  for (std::thread& worker : workers_) worker.join();
}

void Thumbnailer::submit(std::filesystem::path source, ThumbnailSize size, std::filesystem::path destination,
                         ThumbnailCallback done) {
  std::error_code refused;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      refused = MediaErrc::kShuttingDown;
    } else if (queue_.size() >= options_.queue_limit) {
      refused = MediaErrc::kBusy;
    } else {
      queue_.push_back(Job{std::move(source), size, std::move(destination), std::move(done)});
    }
  }
  if (refused) {
    done(refused, {});
    return;
  }
  wake_.notify_one();
}

void Thumbnailer::run_worker() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    ThumbnailResult result;
    const std::error_code error = make_thumbnail(job, result);
    job.done(error, result);
  }
  // Frees libvips' per-thread buffers of this worker.
  vips_thread_shutdown();
}

std::error_code Thumbnailer::make_thumbnail(const Job& job, ThumbnailResult& result) const {
  // The bomb check: header only, before anything is decoded.
  std::error_code error;
  const ImageInfo info = probe_image(job.source, options_.limits, error);
  if (error) return error;
  (void)info;

  const int box = thumbnail_box(job.size);
  Unref thumbnail;
  // Shrink-on-load, auto-rotate (the default), first frame/page only (the
  // default), never upscaled; fail on the first decoding error instead of
  // rendering grey for a truncated file.
  const int made =
      vips_thumbnail(job.source.c_str(), &thumbnail.image, box, "height", box, "size", VIPS_SIZE_DOWN, "crop",
                     job.size == ThumbnailSize::kSmall ? VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE, "fail_on",
                     VIPS_FAIL_ON_ERROR, nullptr);
  if (made != 0) {
    vips_error_clear();
    return MediaErrc::kCorruptImage;
  }

  // Encoding pulls the pixels through the decoder: decoding errors show here.
  GFree buffer;
  std::size_t length = 0;
  const bool alpha = vips_image_hasalpha(thumbnail.image) != FALSE;
  const int saved =
      alpha ? vips_pngsave_buffer(thumbnail.image, &buffer.p, &length, "strip", TRUE, "compression", 6, nullptr)
            : vips_jpegsave_buffer(thumbnail.image, &buffer.p, &length, "Q", 82, "strip", TRUE, "optimize_coding", TRUE,
                                   nullptr);
  if (saved != 0) {
    vips_error_clear();
    return MediaErrc::kCorruptImage;
  }
  if (const std::error_code io = write_atomically(job.destination, static_cast<const char*>(buffer.p), length)) {
    return io;
  }
  result.content_type = alpha ? "image/png" : "image/jpeg";
  result.width = static_cast<std::uint32_t>(vips_image_get_width(thumbnail.image));
  result.height = static_cast<std::uint32_t>(vips_image_get_height(thumbnail.image));
  return {};
}

}  // namespace parley::media
