#include "rest/http.hpp"

#include <algorithm>
#include <array>
#include <fstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "engine/failure.hpp"
#include "protocol/model.hpp"

namespace parley::rest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

[[noreturn]] void network_failure(const boost::system::error_code& error, std::string_view what) {
  if (error == beast::error::timeout) throw Failure(Errc::timeout, std::string(what) + ": timed out");
  throw Failure(Errc::network, std::string(what) + ": " + error.message());
}

awaitable<beast::tcp_stream> connect(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [resolve_error, results] = co_await resolver.async_resolve(endpoint.host, endpoint.port, kNoThrow);
  if (resolve_error) network_failure(resolve_error, "resolve " + endpoint.host);
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  auto [connect_error, connected] = co_await stream.async_connect(results, kNoThrow);
  (void)connected;
  if (connect_error) network_failure(connect_error, "connect to " + endpoint.host + ":" + endpoint.port);
  co_return stream;
}

http::request<http::string_body> make_request(const Endpoint& endpoint, Request& request) {
  http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) throw Failure(Errc::invalid_argument, "unknown method " + request.method);
  http::request<http::string_body> message{verb, request.target, 11};
  message.set(http::field::host, endpoint.host + ":" + endpoint.port);
  message.set(http::field::user_agent, "libparley");
  if (!request.token.empty()) message.set(http::field::authorization, "Bearer " + request.token);
  for (auto& [name, value] : request.headers) message.set(name, value);
  if (!request.body.empty() || verb == http::verb::post || verb == http::verb::put || verb == http::verb::patch) {
    message.set(http::field::content_type, request.content_type);
    message.body() = std::move(request.body);
  }
  message.keep_alive(false);
  message.prepare_payload();
  return message;
}

}  // namespace

Result<Endpoint> parse_server_url(const std::string& url) {
  constexpr std::string_view kHttp = "http://";
  if (url.starts_with("https://")) {
    return Error{Errc::invalid_argument, "https:// is not supported yet: use http:// (e.g. to a local TLS proxy)", 0};
  }
  if (!url.starts_with(kHttp)) return Error{Errc::invalid_argument, "server URL must start with http://", 0};
  auto rest = url.substr(kHttp.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    if (rest.substr(slash) != "/") return Error{Errc::invalid_argument, "server URL must not have a path", 0};
    rest.resize(slash);
  }
  Endpoint endpoint;
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || rest.back() == ']') {
    endpoint.host = rest;
    endpoint.port = "80";
  } else {
    endpoint.host = rest.substr(0, colon);
    endpoint.port = rest.substr(colon + 1);
  }
  if (endpoint.host.starts_with('[') && endpoint.host.ends_with(']')) {
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  }
  if (endpoint.host.empty() || endpoint.port.empty() ||
      !std::all_of(endpoint.port.begin(), endpoint.port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      endpoint.port.size() > 5 || std::stoi(endpoint.port) > 65535) {
    return Error{Errc::invalid_argument, "server URL: bad host or port in " + url, 0};
  }
  return endpoint;
}

awaitable<Reply> perform(const Endpoint& endpoint, Request request, std::chrono::milliseconds timeout) {
  auto stream = co_await connect(endpoint, timeout);
  auto message = make_request(endpoint, request);
  stream.expires_after(timeout);
  auto [write_error, written] = co_await http::async_write(stream, message, kNoThrow);
  (void)written;
  if (write_error) network_failure(write_error, "send " + request.target);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(protocol::kMaxRestBodyBytes);
  parser.header_limit(64 * 1024);
  auto [read_error, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
  (void)read;
  if (read_error == http::error::body_limit) throw Failure(Errc::bad_response, "reply too large");
  if (read_error) network_failure(read_error, "read reply to " + request.target);
  Reply reply;
  auto response = parser.release();
  reply.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    reply.headers[name] = std::string(field.value());
  }
  reply.body = std::move(response.body());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return reply;
}

awaitable<int> download(const Endpoint& endpoint, Request request, const std::filesystem::path& file,
                        std::int64_t max_bytes, std::function<void(Progress)> progress,
                        std::chrono::milliseconds timeout) {
  auto stream = co_await connect(endpoint, timeout);
  auto message = make_request(endpoint, request);
  stream.expires_after(timeout);
  auto [write_error, written] = co_await http::async_write(stream, message, kNoThrow);
  (void)written;
  if (write_error) network_failure(write_error, "send " + request.target);
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(static_cast<std::uint64_t>(max_bytes));
  stream.expires_after(timeout);
  auto [header_error, header_bytes] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
  (void)header_bytes;
  if (header_error) network_failure(header_error, "read reply to " + request.target);
  const int status = static_cast<int>(parser.get().result_int());
  Progress state;
  if (parser.content_length()) state.total = static_cast<std::int64_t>(*parser.content_length());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw Failure(Errc::storage, "cannot write " + file.string());
  std::array<char, 64 * 1024> chunk{};
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    stream.expires_after(timeout);
    auto [error, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    (void)n;
    if (error && error != http::error::need_buffer) {
      if (error == http::error::body_limit) throw Failure(Errc::bad_response, "download larger than announced");
      network_failure(error, "download " + request.target);
    }
    const auto got = chunk.size() - parser.get().body().size;
    out.write(chunk.data(), static_cast<std::streamsize>(got));
    state.done += static_cast<std::int64_t>(got);
    if (progress && got > 0 && status == 200) progress(state);
  }
  out.flush();
  if (!out) throw Failure(Errc::storage, "cannot write " + file.string());
  co_return status;
}

}  // namespace parley::rest
