#include "media/content_type.hpp"

#include <fcntl.h>
#include <magic.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <vector>

namespace parley::media {
namespace {

constexpr std::string_view kUnknown = "application/octet-stream";

// One libmagic handle per thread: magic_t is not safe to share, and opening
// one per call would reload the database each time.
class MagicHandle {
 public:
  MagicHandle() {
    // MIME type only; no decompression of compressed files (work and risk on
    // hostile input for no serving benefit); no looking inside ELF sections.
    cookie_ = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF);
    if (cookie_ == nullptr) return;
    if (magic_load(cookie_, nullptr) != 0) {
      magic_close(cookie_);
      cookie_ = nullptr;
      return;
    }
    std::size_t bytes_max = kSniffBytes;
    magic_setparam(cookie_, MAGIC_PARAM_BYTES_MAX, &bytes_max);
  }
  ~MagicHandle() {
    if (cookie_ != nullptr) magic_close(cookie_);
  }
  MagicHandle(const MagicHandle&) = delete;
  MagicHandle& operator=(const MagicHandle&) = delete;

  std::string sniff(std::span<const std::byte> data) {
    if (cookie_ == nullptr) return std::string(kUnknown);
    if (data.empty()) return "application/x-empty";
    const char* type = magic_buffer(cookie_, data.data(), std::min(data.size(), kSniffBytes));
    if (type == nullptr) return std::string(kUnknown);
    std::string result = normalize_content_type(type);
    // libmagic answers with a '/'-less description when it cannot name a type.
    if (result.find('/') == std::string::npos) return std::string(kUnknown);
    return result;
  }

 private:
  magic_t cookie_ = nullptr;
};

MagicHandle& thread_handle() {
  thread_local MagicHandle handle;
  return handle;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string normalize_content_type(std::string_view mime) {
  if (const auto semicolon = mime.find(';'); semicolon != std::string_view::npos) mime = mime.substr(0, semicolon);
  while (!mime.empty() && (mime.front() == ' ' || mime.front() == '\t')) mime.remove_prefix(1);
  while (!mime.empty() && (mime.back() == ' ' || mime.back() == '\t')) mime.remove_suffix(1);
  std::string result(mime);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return result;
}

std::string sniff_content_type(std::span<const std::byte> data) { return thread_handle().sniff(data); }

std::string sniff_content_type(const std::filesystem::path& path) {
  // O_NONBLOCK: a FIFO or device in place of a file must not hang the caller;
  // only regular files are sniffed.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return std::string(kUnknown);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::string(kUnknown);
  }
  std::vector<std::byte> buffer(kSniffBytes);
  std::size_t filled = 0;
  while (filled < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + filled, buffer.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::string(kUnknown);
    }
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return sniff_content_type(std::span<const std::byte>(buffer.data(), filled));
}

bool is_active_content(std::string_view mime) {
  const std::string type = normalize_content_type(mime);
  static constexpr std::array<std::string_view, 18> kActive = {
      "text/html",
      "application/xhtml+xml",
      "image/svg+xml",
      "text/xml",
      "application/xml",
      "text/xsl",
      "application/xslt+xml",
      "text/javascript",
      "application/javascript",
      "application/x-javascript",
      "application/ecmascript",
      "text/ecmascript",
      "text/css",
      "application/pdf",
      "message/rfc822",
      "multipart/related",
      "application/x-shockwave-flash",
      "text/cache-manifest",
  };
  if (std::find(kActive.begin(), kActive.end(), type) != kActive.end()) return true;
  // Any XML dialect (application/rss+xml, image/svg+xml, ...) and anything
  // named like script.
  return ends_with(type, "+xml") || ends_with(type, "/xml") || type.find("javascript") != std::string::npos ||
         type.find("ecmascript") != std::string::npos || type.find("html") != std::string::npos;
}

bool is_inline_safe(std::string_view mime) {
  const std::string type = normalize_content_type(mime);
  static constexpr std::array<std::string_view, 24> kInline = {
      "image/jpeg", "image/png",  "image/gif",       "image/webp", "image/avif",   "image/heic",
      "image/heif", "audio/mpeg", "audio/ogg",       "audio/opus", "audio/wav",    "audio/x-wav",
      "audio/webm", "audio/mp4",  "audio/aac",       "audio/flac", "audio/x-flac", "video/mp4",
      "video/webm", "video/ogg",  "video/quicktime", "text/plain", "audio/x-m4a",  "video/x-m4v",
  };
  return !is_active_content(type) && std::find(kInline.begin(), kInline.end(), type) != kInline.end();
}

}  // namespace parley::media
