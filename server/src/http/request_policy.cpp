#include "http/request_policy.hpp"

#include <algorithm>
#include <cstdint>

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "core/log.hpp"
#include "http/router.hpp"

namespace parley::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

std::string_view trim(std::string_view value) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && space(value.front())) value.remove_prefix(1);
  while (!value.empty() && space(value.back())) value.remove_suffix(1);
  return value;
}

ApiError bad_framing(std::string_view why) {
  return ApiError(ErrorCode::kMalformedRequest, fmt::format("ambiguous message framing: {}", why));
}

}  // namespace

void apply_limits(RequestParser& parser, const HttpOptions& options) {
  parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(options.max_header_bytes, UINT32_MAX)));
  parser.body_limit(options.max_body_bytes);
}

std::optional<ApiError> check_framing(const RequestParser& parser) {
  const auto& header = parser.get();
  auto encodings = header.count(bhttp::field::transfer_encoding);
  auto lengths = header.count(bhttp::field::content_length);
  if (encodings > 0) {
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty
    // framing, whatever else it says.
    if (header.version() < 11) return bad_framing("Transfer-Encoding in an HTTP/1.0 request");
    // RFC 9112 §6.3 lets Transfer-Encoding override Content-Length, but a
    // proxy in front may have used the length: refuse rather than guess.
    if (lengths > 0) return bad_framing("both Transfer-Encoding and Content-Length");
    if (encodings > 1 || !beast::iequals(trim(header[bhttp::field::transfer_encoding]), "chunked")) {
      return bad_framing("the only Transfer-Encoding accepted is a single chunked");
    }
  }
  if (lengths > 1) return bad_framing("more than one Content-Length");
  if (lengths == 1) {
    auto value = trim(header[bhttp::field::content_length]);
    bool digits =
        !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) return bad_framing("Content-Length is not a decimal number");
  }
  return std::nullopt;
}

std::optional<ApiError> limit_body(RequestParser& parser, std::uint64_t limit) {
  auto length = parser.content_length();
  if (length && *length > limit) {
    return ApiError(ErrorCode::kPayloadTooLarge, fmt::format("body exceeds {} bytes", limit));
  }
  parser.body_limit(limit);
  return std::nullopt;
}

ReadFailure classify_read_error(boost::system::error_code error, const HttpOptions& options) {
  if (error == bhttp::error::header_limit) {
    return {ApiError(ErrorCode::kHeaderTooLarge, fmt::format("headers exceed {} bytes", options.max_header_bytes)),
            false};
  }
  if (error == bhttp::error::body_limit) {
    return {ApiError(ErrorCode::kPayloadTooLarge, fmt::format("body exceeds {} bytes", options.max_body_bytes)), true};
  }
  if (error == bhttp::error::end_of_stream || error == beast::error::timeout || error == asio::error::eof ||
      error == asio::error::connection_reset || error == asio::error::operation_aborted ||
      error == bhttp::error::partial_message) {
    return {std::nullopt, false};
  }
  return {ApiError(ErrorCode::kMalformedRequest, "malformed HTTP request"), false};
}

namespace {

asio::awaitable<Response> run_route(const Router& router, const RequestHeader& header, std::string_view body,
                                    BodyReader* stream, std::string remote, std::string& route_label) {
  Request request;
  request.method = header.method_string();
  request.body = body;
  request.body_stream = stream;
  request.content_type = header[bhttp::field::content_type];
  request.authorization = header[bhttp::field::authorization];
  request.user_agent = header[bhttp::field::user_agent];
  request.header_lookup = [&header](std::string_view name) { return std::string_view(header[name]); };
  request.remote_address = std::move(remote);
  std::string decoded_path;
  std::string query;
  try {
    auto target = boost::urls::parse_origin_form(header.target());
    if (!target) throw ApiError(ErrorCode::kMalformedRequest, "malformed request target");
    decoded_path = target->path();
    request.path = decoded_path;
    // A copy that ends in NUL: Boost.URL 1.81's query parser reads a view
    // up to a terminator, not up to its size.
    query = target->encoded_query();
    request.query = query;
    const Route& route = router.match(request);
    route_label = route.pattern;
    co_return co_await route.handler(request);
  } catch (const ApiError& error) {
    co_return Response::error(error);
  } catch (const std::exception& error) {
    log::get("http")->error("request failed method={} path={} error=\"{}\"", request.method, request.path,
                            error.what());
    co_return Response::error(ApiError(ErrorCode::kInternal, "internal error"));
  }
}

}  // namespace

asio::awaitable<Response> dispatch(const Router& router, const RequestMessage& message, std::string remote,
                                   std::string& route_label) {
  return run_route(router, message.base(), message.body(), nullptr, std::move(remote), route_label);
}

asio::awaitable<Response> dispatch_streaming(const Router& router, const RequestHeader& header, BodyReader& body,
                                             std::string remote, std::string& route_label) {
  return run_route(router, header, {}, &body, std::move(remote), route_label);
}

const Route* streaming_route(const Router& router, const RequestHeader& header) {
  auto target = boost::urls::parse_origin_form(header.target());
  if (!target) return nullptr;
  std::string path = target->path();
  const Route* route = router.find(header.method_string(), path);
  return route && route->stream_limit ? route : nullptr;
}

}  // namespace parley::http
