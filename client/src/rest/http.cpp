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
#include "rest/tls.hpp"

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

// Closes a stream after its exchange: TCP shutdown (TLS: no close_notify
// wait; the reply was read completely, so nothing is lost by skipping it).
void finish(beast::tcp_stream& stream) {
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}
void finish(TlsStream& stream) { finish(beast::get_lowest_layer(stream)); }

// Runs `exchange(stream)` on a connection to the endpoint: plain TCP, or
// TLS with the endpoint's context.
template <typename Exchange>
auto with_connection(const Endpoint& endpoint, std::chrono::milliseconds timeout, Exchange exchange)
    -> decltype(exchange(std::declval<beast::tcp_stream&>())) {
  auto stream = co_await connect(endpoint, timeout);
  if (!endpoint.tls) {
    auto result = co_await exchange(stream);
    finish(stream);
    co_return result;
  }
  TlsStream secure(std::move(stream), endpoint.tls->context);
  co_await client_handshake(secure, endpoint.host, timeout);
  auto result = co_await exchange(secure);
  finish(secure);
  co_return result;
}

http::request<http::string_body> make_request(const Endpoint& endpoint, Request& request) {
  http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) throw Failure(Errc::invalid_argument, "unknown method " + request.method);
  http::request<http::string_body> message{verb, request.target, 11};
  const bool default_port = endpoint.port == (endpoint.tls ? "443" : "80");
  message.set(http::field::host, default_port ? endpoint.host : endpoint.host + ":" + endpoint.port);
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

Result<Endpoint> parse_server_url(const std::string& url, const TlsTrust& trust) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  const bool secure = url.starts_with(kHttps);
  if (!secure && !url.starts_with(kHttp)) {
    return Error{Errc::invalid_argument, "server URL must start with http:// or https://", 0};
  }
  auto rest = url.substr(secure ? kHttps.size() : kHttp.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    if (rest.substr(slash) != "/") return Error{Errc::invalid_argument, "server URL must not have a path", 0};
    rest.resize(slash);
  }
  Endpoint endpoint;
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || rest.back() == ']') {
    endpoint.host = rest;
    endpoint.port = secure ? "443" : "80";
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
  if (secure) {
    auto context = make_tls_context(trust);
    if (!context) return context.error();
    endpoint.tls = std::move(context.value());
  }
  return endpoint;
}

awaitable<Reply> perform(const Endpoint& endpoint, Request request, std::chrono::milliseconds timeout) {
  auto message = make_request(endpoint, request);
  co_return co_await with_connection(endpoint, timeout, [&](auto& stream) -> awaitable<Reply> {
    beast::get_lowest_layer(stream).expires_after(timeout);
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
    co_return reply;
  });
}

awaitable<int> download(const Endpoint& endpoint, Request request, const std::filesystem::path& file,
                        std::int64_t max_bytes, std::function<void(Progress)> progress,
                        std::chrono::milliseconds timeout) {
  auto message = make_request(endpoint, request);
  co_return co_await with_connection(endpoint, timeout, [&](auto& stream) -> awaitable<int> {
    beast::get_lowest_layer(stream).expires_after(timeout);
    auto [write_error, written] = co_await http::async_write(stream, message, kNoThrow);
    (void)written;
    if (write_error) network_failure(write_error, "send " + request.target);
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(static_cast<std::uint64_t>(max_bytes));
    beast::get_lowest_layer(stream).expires_after(timeout);
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
      beast::get_lowest_layer(stream).expires_after(timeout);
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
  });
}

}  // namespace parley::rest
