#include "web/static_site.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/unique_fd.hpp"
#include "http/conditional.hpp"
#include "http/router.hpp"

namespace parley::web {
namespace {

using http::Request;
using http::Response;

// Hashed build output: a new release has new names, so a year is safe.
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
// Everything else is revalidated on every load (a cheap 304 when unchanged).
constexpr std::string_view kRevalidate = "no-cache";

// An open regular file of the site, and how it is encoded.
struct SiteFile {
  UniqueFd fd;
  struct stat info {};
  bool gzip = false;
};

// Opens the regular file at `relative` below `root`, one component at a
// time without following a symbolic link anywhere: O_NOFOLLOW alone guards
// only the last component, and a linked folder inside the site could lead
// out of it.
std::optional<SiteFile> open_regular(const std::filesystem::path& root, const std::filesystem::path& relative) {
  UniqueFd folder(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!folder) return std::nullopt;
  std::filesystem::path name;
  for (const auto& part : relative) {
    if (!name.empty()) {
      UniqueFd next(::openat(folder.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next) return std::nullopt;
      folder = std::move(next);
    }
    name = part;
  }
  if (name.empty()) return std::nullopt;
  UniqueFd fd(::openat(folder.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return std::nullopt;
  SiteFile file;
  if (::fstat(fd.get(), &file.info) != 0 || !S_ISREG(file.info.st_mode)) return std::nullopt;
  file.fd = std::move(fd);
  return file;
}

// The file itself, or its precompressed sibling when the client takes gzip.
std::optional<SiteFile> open_site_file(const std::filesystem::path& root, const std::filesystem::path& relative,
                                       bool gzip) {
  auto file = open_regular(root, relative);
  if (!file || !gzip) return file;
  auto compressed = open_regular(root, relative.string() + ".gz");
  if (!compressed) return file;
  compressed->gzip = true;
  return compressed;
}

// Changes whenever the file is rebuilt; the encoding is part of it because
// the two representations differ byte for byte.
std::string entity_tag(const SiteFile& file) {
  auto modified = static_cast<long long>(file.info.st_mtim.tv_sec) * 1'000'000'000LL + file.info.st_mtim.tv_nsec;
  return fmt::format("\"{:x}-{:x}{}\"", modified, static_cast<long long>(file.info.st_size), file.gzip ? "-gz" : "");
}

class StaticSite {
 public:
  explicit StaticSite(std::filesystem::path root) : root_(std::move(root)) {}

  boost::asio::awaitable<Response> serve(Request& request) { co_return respond(request); }

 private:
  Response respond(const Request& request) const {
    if (is_server_path(request.path)) throw ApiError(ErrorCode::kNotFound, "no such endpoint");
    auto relative = site_file(request.path);
    if (!relative) throw ApiError(ErrorCode::kNotFound, "no such file");
    bool gzip = accepts_gzip(request.header("Accept-Encoding"));
    std::optional<SiteFile> file;
    if (!relative->empty()) file = open_site_file(root_, *relative, gzip);
    if (!file) {
      if (!relative->empty() && looks_like_file(*relative)) throw ApiError(ErrorCode::kNotFound, "no such file");
      relative = "index.html";
      file = open_site_file(root_, *relative, gzip);
      if (!file) throw ApiError(ErrorCode::kNotFound, "the web app is not installed");
    }

    Response response;
    auto etag = entity_tag(*file);
    bool immutable = relative->begin() != relative->end() && *relative->begin() == "assets";
    response.headers.emplace_back("Cache-Control", std::string(immutable ? kImmutable : kRevalidate));
    response.headers.emplace_back("ETag", etag);
    response.headers.emplace_back("Vary", "Accept-Encoding");
    response.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
    response.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
    if (http::if_none_match(request.header("If-None-Match"), etag)) {
      response.status = 304;
      response.content_type.clear();
      return response;
    }
    response.content_type = std::string(content_type_for(relative->filename().string()));
    if (file->gzip) response.headers.emplace_back("Content-Encoding", "gzip");
    auto size = static_cast<std::uint64_t>(file->info.st_size);
    response.file = std::make_shared<http::FileBody>(http::FileBody{std::move(file->fd), 0, size});
    return response;
  }

  std::filesystem::path root_;
};

bool is_prefix_path(std::string_view path, std::string_view prefix) {
  return path == prefix || (path.starts_with(prefix) && path[prefix.size()] == '/');
}

}  // namespace

bool is_server_path(std::string_view path) {
  return is_prefix_path(path, "/api") || is_prefix_path(path, "/ws") || path == "/healthz" || path == "/readyz" ||
         path == "/metrics";
}

std::optional<std::filesystem::path> site_file(std::string_view path) {
  if (!path.starts_with('/')) return std::nullopt;
  if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos) return std::nullopt;
  path.remove_prefix(1);
  std::filesystem::path relative;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto segment = path.substr(0, slash);
    // A trailing slash is harmless (a client-side route like "/settings/");
    // an empty segment inside the path ("a//b") is not a name the build wrote.
    if (segment.empty() && slash != std::string_view::npos) return std::nullopt;
    if (segment.starts_with('.')) return std::nullopt;  // ".", "..", hidden files
    if (!segment.empty()) relative /= std::string(segment);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return relative;
}

bool looks_like_file(const std::filesystem::path& relative) {
  if (relative.begin() != relative.end() && *relative.begin() == "assets") return true;
  return relative.filename().has_extension();
}

std::string_view content_type_for(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 19> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".avif", "image/avif"},
      {".gif", "image/gif"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
      {".xml", "application/xml"},
  }};
  auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  auto extension = file_name.substr(dot);
  for (const auto& [known, type] : kTypes) {
    if (std::equal(known.begin(), known.end(), extension.begin(), extension.end(),
                   [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b); })) {
      return type;
    }
  }
  return "application/octet-stream";
}

bool accepts_gzip(std::string_view accept_encoding) {
  std::size_t at = 0;
  while (at < accept_encoding.size()) {
    auto comma = accept_encoding.find(',', at);
    auto item = accept_encoding.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    auto semicolon = item.find(';');
    auto coding = item.substr(0, semicolon);
    while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
    bool named = coding.size() == 4 && (coding[0] | 0x20) == 'g' && (coding[1] | 0x20) == 'z' &&
                 (coding[2] | 0x20) == 'i' && (coding[3] | 0x20) == 'p';
    if (named || coding == "*") {
      // "q=0", "q=0.0", "q=0.000" refuse it; any other weight accepts.
      bool refused = false;
      if (semicolon != std::string_view::npos) {
        auto parameters = item.substr(semicolon + 1);
        auto q = parameters.find("q=");
        if (q != std::string_view::npos) {
          auto weight = parameters.substr(q + 2);
          while (!weight.empty() && (weight.back() == ' ' || weight.back() == '\t')) weight.remove_suffix(1);
          refused = !weight.empty() && weight.find_first_not_of("0.") == std::string_view::npos;
        }
      }
      return !refused;
    }
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return false;
}

void register_web_app(http::Router& router, const std::filesystem::path& root) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(root / "index.html", ec)) {
    throw ConfigError(fmt::format("web.root: {} has no index.html (build the web app: npm --prefix web run build)",
                                  root.string()));
  }
  auto site = std::make_shared<StaticSite>(root);
  router.set_fallback("web-app", [site](Request& request) { return site->serve(request); });
}

}  // namespace parley::web
