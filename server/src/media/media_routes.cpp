#include "media/media_routes.hpp"

#include <charconv>

#include <boost/json/object.hpp>
#include <boost/url/params_view.hpp>
#include <fmt/format.h>

#include "api/services.hpp"
#include "auth/authenticator.hpp"
#include "core/error.hpp"
#include "http/conditional.hpp"
#include "http/json_body.hpp"
#include "http/router.hpp"
#include "media/byte_range.hpp"
#include "media/content_type.hpp"
#include "media/file_name.hpp"
#include "media/media_service.hpp"
#include "media/thumbnailer.hpp"

namespace parley::media {
namespace {

using boost::asio::awaitable;
using boost::json::object;
using http::Request;
using http::Response;

// Content under an id never changes, so a client may keep it as long as it
// likes; "private": it is one user's to see, never a shared cache's.
constexpr std::string_view kCacheControl = "private, max-age=31536000, immutable";
// On every media response: whatever the bytes are, a browser that opens
// them runs no script, loads nothing and gets an opaque origin.
constexpr std::string_view kContentSecurityPolicy = "sandbox; default-src 'none'";

std::optional<std::string> query_value(const Request& request, std::string_view name) {
  boost::urls::params_view params(request.query);
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

std::string served_type(std::string_view content_type) {
  // Text is served as UTF-8, so that no browser guesses an encoding (UTF-7
  // sniffing turned text into script once).
  if (content_type == "text/plain") return "text/plain; charset=utf-8";
  return std::string(content_type);
}

// An entity tag from the content's digest: identical bytes, identical tag.
std::string entity_tag(std::string_view sha256) { return fmt::format("\"{}\"", sha256); }

void add_common_headers(Response& response, std::string_view etag) {
  response.headers.emplace_back("ETag", std::string(etag));
  response.headers.emplace_back("Cache-Control", std::string(kCacheControl));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.headers.emplace_back("Accept-Ranges", "bytes");
}

// Serves `blob` (of `size` bytes) under the conditional and range rules.
Response file_response(const Request& request, storage::OpenBlob blob, std::string_view sha256,
                       std::string_view content_type, std::string disposition) {
  const auto size = static_cast<std::uint64_t>(blob.size);
  const std::string etag = entity_tag(sha256);
  Response response;
  response.content_type = served_type(content_type);
  if (http::if_none_match(request.header("If-None-Match"), etag)) {
    response.status = 304;
    response.content_type.clear();
    add_common_headers(response, etag);
    return response;
  }
  RangeDecision range = decide_range(request.header("Range"), size);
  // If-Range: a range of another version would splice two files.
  if (auto if_range = request.header("If-Range"); !if_range.empty() && if_range != etag) range = {};
  if (range.kind == RangeDecision::kUnsatisfiable) {
    response = Response::error(
        ApiError(ErrorCode::kRangeNotSatisfiable, fmt::format("the file has {} bytes; the range is outside it", size)));
    response.headers.emplace_back("Content-Range", fmt::format("bytes */{}", size));
    add_common_headers(response, etag);
    return response;
  }
  add_common_headers(response, etag);
  response.headers.emplace_back("Content-Disposition", std::move(disposition));
  auto file = std::make_shared<http::FileBody>();
  file->fd = std::move(blob.fd);
  if (range.kind == RangeDecision::kPartial) {
    response.status = 206;
    response.headers.emplace_back("Content-Range",
                                  fmt::format("bytes {}-{}/{}", range.first, range.first + range.length - 1, size));
    file->offset = range.first;
    file->length = range.length;
  } else {
    file->length = size;
  }
  response.file = std::move(file);
  return response;
}

ThumbnailSize parse_size(const Request& request) {
  auto value = query_value(request, "size").value_or("medium");
  if (value == "small") return ThumbnailSize::kSmall;
  if (value == "medium") return ThumbnailSize::kMedium;
  if (value == "large") return ThumbnailSize::kLarge;
  throw ApiError(ErrorCode::kValidationFailed, "size: must be small, medium or large");
}

// Content-Range of an upload part: "bytes FIRST-LAST/TOTAL".
struct PartRange {
  std::int64_t first = 0;
  std::int64_t last = 0;
  std::int64_t total = 0;
};

PartRange parse_content_range(std::string_view header) {
  auto bad = [] {
    return ApiError(ErrorCode::kMalformedRequest, "Content-Range: expected \"bytes FIRST-LAST/TOTAL\"");
  };
  constexpr std::string_view kPrefix = "bytes ";
  if (!header.starts_with(kPrefix)) throw bad();
  header.remove_prefix(kPrefix.size());
  PartRange range;
  auto read = [&](std::int64_t& out, char stop) {
    auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), out);
    if (ec != std::errc{} || end == header.data() || out < 0) throw bad();
    header.remove_prefix(static_cast<std::size_t>(end - header.data()));
    if (stop != '\0') {
      if (header.empty() || header.front() != stop) throw bad();
      header.remove_prefix(1);
    }
  };
  read(range.first, '-');
  read(range.last, '/');
  read(range.total, '\0');
  if (!header.empty()) throw bad();
  return range;
}

Response upload_response(const storage::MediaUpload& upload, int status = 200) {
  Response response = Response::json(object{{"upload", upload_view(upload)}}, status);
  response.headers.emplace_back("Upload-Offset", std::to_string(upload.received));
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

class MediaRoutes {
 public:
  MediaRoutes(api::Services& services, MediaService& media) : s_(services), media_(media) {}

  awaitable<Response> upload(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto name = query_value(request, "name").value_or("file");
    auto media = co_await media_.upload(me.user_id, name, *request.body_stream);
    co_return Response::json(object{{"media", media_view(media)}}, 201);
  }

  awaitable<Response> create_upload(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    http::JsonBody body(request);
    auto size = body.optional_int("size");
    auto name = body.optional_string("name");
    body.reject_unknown_fields();
    if (!size) throw ApiError(ErrorCode::kValidationFailed, "size: is required");
    auto upload = co_await media_.create_upload(me.user_id, name.value_or("file"), *size);
    co_return upload_response(upload, 201);
  }

  awaitable<Response> get_upload(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_return upload_response(media_.upload_status(me.user_id, request.param("upload_id")));
  }

  awaitable<Response> append_upload(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto range = parse_content_range(request.header("Content-Range"));
    try {
      auto upload = co_await media_.append_upload(me.user_id, request.param("upload_id"), range.first, range.last,
                                                  range.total, *request.body_stream);
      co_return upload_response(upload);
    } catch (const OffsetMismatch& mismatch) {
      Response response = Response::error(mismatch);
      response.headers.emplace_back("Upload-Offset", std::to_string(mismatch.offset));
      co_return response;
    }
  }

  awaitable<Response> complete_upload(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    try {
      auto media = co_await media_.complete_upload(me.user_id, request.param("upload_id"));
      co_return Response::json(object{{"media", media_view(media)}}, 201);
    } catch (const OffsetMismatch& mismatch) {
      Response response = Response::error(mismatch);
      response.headers.emplace_back("Upload-Offset", std::to_string(mismatch.offset));
      co_return response;
    }
  }

  awaitable<Response> cancel_upload(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_await media_.cancel_upload(me.user_id, request.param("upload_id"));
    co_return Response::no_content();
  }

  awaitable<Response> download(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto media = media_.readable(me.user_id, request.param("media_id"));
    auto kind = is_inline_safe(media.content_type) ? Disposition::kInline : Disposition::kAttachment;
    co_return file_response(request, media_.open(media), media.sha256, media.content_type,
                            content_disposition(media.name, kind));
  }

  awaitable<Response> info(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto media = media_.readable(me.user_id, request.param("media_id"));
    co_return Response::json(object{{"media", media_view(media)}});
  }

  awaitable<Response> thumbnail(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto size = parse_size(request);
    auto media = media_.readable(me.user_id, request.param("media_id"));
    auto thumbnail = co_await media_.thumbnail(media, size);
    co_return file_response(request, media_.open(thumbnail), thumbnail.sha256, thumbnail.content_type,
                            content_disposition(media.name, Disposition::kInline));
  }

  awaitable<Response> remove(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_await media_.delete_media(me.user_id, request.param("media_id"));
    co_return Response::no_content();
  }

 private:
  api::Services& s_;
  MediaService& media_;
};

}  // namespace

void register_media_routes(http::Router& router, api::Services& services, MediaService& media) {
  auto routes = std::make_shared<MediaRoutes>(services, media);
  auto bind = [&](auto method) { return http::member_handler(routes, method); };
  const auto limit = services.config.media.max_upload_bytes;
  router.add_streaming("POST", "/api/v1/media", limit, bind(&MediaRoutes::upload));
  router.add("POST", "/api/v1/uploads", bind(&MediaRoutes::create_upload));
  router.add("GET", "/api/v1/uploads/{upload_id}", bind(&MediaRoutes::get_upload));
  router.add_streaming("PATCH", "/api/v1/uploads/{upload_id}", limit, bind(&MediaRoutes::append_upload));
  router.add("POST", "/api/v1/uploads/{upload_id}/complete", bind(&MediaRoutes::complete_upload));
  router.add("DELETE", "/api/v1/uploads/{upload_id}", bind(&MediaRoutes::cancel_upload));
  router.add("GET", "/api/v1/media/{media_id}", bind(&MediaRoutes::download));
  router.add("GET", "/api/v1/media/{media_id}/info", bind(&MediaRoutes::info));
  router.add("GET", "/api/v1/media/{media_id}/thumbnail", bind(&MediaRoutes::thumbnail));
  router.add("DELETE", "/api/v1/media/{media_id}", bind(&MediaRoutes::remove));
}

}  // namespace parley::media
