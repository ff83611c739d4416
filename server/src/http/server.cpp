#include "http/server.hpp"

#include <array>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <type_traits>

#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <span>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "http/client_address.hpp"
#include "http/request_policy.hpp"
#include "http/router.hpp"
#include "http/tls_upgrade.hpp"
#include "http/upgrade.hpp"
#include "metrics/metrics.hpp"
#include "net/tls_context.hpp"

namespace parley::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(use_awaitable);

namespace {

// After an error response to a request whose body was not read, the rest of
// the body is read and dropped for a moment before closing: closing a socket
// with unread input makes the kernel send a reset, which can destroy the
// response before the client reads it.
constexpr std::size_t kMaxDrainBytes = 1 << 20;
constexpr auto kDrainTime = std::chrono::seconds(2);
// How long a TLS connection waits for the peer's close_notify after sending
// its own, before the socket is closed anyway.
constexpr auto kTlsCloseTime = std::chrono::seconds(1);
// A TLS connection begins with a handshake record (content type 22).
constexpr unsigned char kTlsHandshakeRecord = 0x16;

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, net::TlsStream>;

// A connection as seen by shutdown. Its fields are touched only on the
// connection's strand.
struct Connection {
  asio::any_io_executor strand;
  beast::tcp_stream* stream = nullptr;
  bool busy = false;    // a request is being read, handled or answered
  bool closed = false;  // the stream is gone
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, const HttpOptions& http_options, const Router& http_router,
       metrics::Metrics& server_metrics)
      : io(io_context),
        options(http_options),
        router(http_router),
        metrics(server_metrics),
        acceptor(io_context),
        grace_timer(io_context),
        logger(log::get("http")),
        trusted_proxies(TrustedProxies::parse(http_options.trusted_proxies)),
        forwarded_header(parse_forwarded_header(http_options.forwarded_header)) {}

  awaitable<void> accept_loop();
  template <class Stream>
  awaitable<void> serve(tcp::socket socket);
  awaitable<bool> tls_handshake(net::TlsStream& stream, const std::string& remote);
  bool register_connection(const std::shared_ptr<Connection>& connection);
  void unregister_connection(const std::shared_ptr<Connection>& connection);

  asio::io_context& io;
  HttpOptions options;
  const Router& router;
  metrics::Metrics& metrics;
  tcp::acceptor acceptor;
  asio::steady_timer grace_timer;
  std::shared_ptr<spdlog::logger> logger;
  // Whose X-Forwarded-For / Forwarded is believed (http/client_address.hpp).
  TrustedProxies trusted_proxies;
  ForwardedHeader forwarded_header;

  std::string upgrade_path;
  UpgradeHandler upgrade_handler;
  TlsUpgradeHandler tls_upgrade_handler;

  std::shared_ptr<net::TlsContexts> tls;  // null: plain TCP
  TlsOptions tls_options;
  std::string hsts;  // Strict-Transport-Security value; empty: not sent

  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::set<std::shared_ptr<Connection>> connections;  // guarded by mutex
  std::size_t upgraded = 0;  // connections handed to the upgrade handler and still open; guarded by mutex
  std::function<void()> on_drained;                   // guarded by mutex
};

Server::Server(asio::io_context& io, const HttpOptions& options, const Router& router, metrics::Metrics& metrics)
    : impl_(std::make_shared<Impl>(io, options, router, metrics)) {}

Server::~Server() = default;

void Server::set_upgrade_handler(std::string path, UpgradeHandler handler) {
  impl_->upgrade_path = std::move(path);
  impl_->upgrade_handler = std::move(handler);
}

void Server::set_tls_upgrade_handler(TlsUpgradeHandler handler) { impl_->tls_upgrade_handler = std::move(handler); }

void Server::enable_tls(std::shared_ptr<net::TlsContexts> contexts, const TlsOptions& options) {
  impl_->tls = std::move(contexts);
  impl_->tls_options = options;
  if (options.hsts_max_age.count() > 0) impl_->hsts = fmt::format("max-age={}", options.hsts_max_age.count());
}

namespace {

bhttp::response<bhttp::string_body> to_beast(Response response, bool keep_alive) {
  bhttp::response<bhttp::string_body> reply;
  reply.version(11);
  reply.result(static_cast<unsigned>(response.status));
  if (!response.content_type.empty()) reply.set(bhttp::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) reply.set(name, value);
  reply.body() = std::move(response.body);
  reply.keep_alive(keep_alive);
  reply.prepare_payload();
  return reply;
}

template <class Stream>
awaitable<void> write_any(Stream& stream, Response response, bool keep_alive) {
  auto reply = to_beast(std::move(response), keep_alive);
  co_await bhttp::async_write(stream, reply, kTuple);
}


// How much one sendfile(2) call may send, and how much is sent between two
// yields to the other connections of the thread: a fast reader on the same
// host would otherwise keep the thread for the whole file.
constexpr std::size_t kSendfileChunk = 1 << 20;
constexpr std::uint64_t kYieldEvery = 8 << 20;
// The buffer of a file response over TLS, and of nothing else: the only
// per-connection memory a download costs, and only while it runs.
constexpr std::size_t kFileBufferBytes = 64 * 1024;

// The slowest a streamed body may arrive on average (see check_rate): a
// phone on a poor 2G link still sends several times this.
constexpr std::uint64_t kMinBodyBytesPerSecond = 1024;

// A streaming route's body, read from the connection through a Beast parser
// with a buffer_body: each read_some() parses straight into the handler's
// buffer, so nothing of the body is held by the connection.
template <class Stream>
class StreamBodyReader final : public BodyReader {
 public:
  using Parser = bhttp::request_parser<bhttp::buffer_body>;

  StreamBodyReader(Stream& stream, beast::flat_buffer& buffer, Parser& parser, std::chrono::seconds timeout,
                   std::uint64_t limit)
      : stream_(stream), buffer_(buffer), parser_(parser), timeout_(timeout), limit_(limit) {
    expect_continue_ = beast::iequals(parser.get()[bhttp::field::expect], "100-continue");
  }

  awaitable<std::size_t> read_some(std::span<char> out) override {
    if (parser_.is_done() || out.empty()) co_return 0;
    auto& transport = beast::get_lowest_layer(stream_);
    if (expect_continue_) {
      // The client waits for this before sending a large body; sent only
      // once the handler wants the body, so that a refusal (401, quota)
      // comes before the client has sent anything.
      expect_continue_ = false;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      transport.expires_after(timeout_);
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(kContinue), kTuple);
      if (ec) throw ended_early();
    }
    for (;;) {
      parser_.get().body().data = out.data();
      parser_.get().body().size = out.size();
      transport.expires_after(timeout_);
      auto [ec, n] = co_await bhttp::async_read_some(stream_, buffer_, parser_, kTuple);
      std::size_t got = out.size() - parser_.get().body().size;
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec == bhttp::error::body_limit) {
        throw ApiError(ErrorCode::kPayloadTooLarge, fmt::format("body exceeds {} bytes", limit_));
      }
      if (ec) throw ended_early();
      received_ += got;
      check_rate();
      if (got > 0 || parser_.is_done()) co_return got;
    }
  }

  [[nodiscard]] std::optional<std::uint64_t> content_length() const override {
    auto length = parser_.content_length();
    if (!length) return std::nullopt;
    return *length;
  }
  [[nodiscard]] bool done() const override { return parser_.is_done(); }

 private:
  // A body may take longer than the read timeout (a large upload), but not
  // by trickling: after the first read timeout it must have averaged
  // kMinBodyBytesPerSecond, so that a slow sender cannot hold a connection
  // for hours with a byte every few seconds.
  void check_rate() const {
    auto elapsed = std::chrono::steady_clock::now() - started_;
    if (elapsed < timeout_) return;
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
    if (received_ < static_cast<std::uint64_t>(seconds) * kMinBodyBytesPerSecond) {
      throw ApiError(ErrorCode::kMalformedRequest, "the request body arrives too slowly");
    }
  }

  static ApiError ended_early() {
    return ApiError(ErrorCode::kMalformedRequest, "the request body ended before it was complete");
  }

  Stream& stream_;
  beast::flat_buffer& buffer_;
  Parser& parser_;
  std::chrono::seconds timeout_;
  std::uint64_t limit_;
  bool expect_continue_ = false;
  std::uint64_t received_ = 0;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

// Sends a file range with sendfile(2): zero copy from the page cache to the
// socket. The socket is switched to non-blocking mode for the duration;
// when its send buffer is full, the coroutine waits until it is writable
// again, for at most `timeout`.
awaitable<boost::system::error_code> send_file(beast::tcp_stream& stream, FileBody& file,
                                                std::chrono::seconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  auto& socket = stream.socket();
  boost::system::error_code ec;
  socket.native_non_blocking(true, ec);
  if (ec) co_return ec;
  auto offset = static_cast<off_t>(file.offset);
  std::uint64_t remaining = file.length;
  std::uint64_t since_yield = 0;
  asio::steady_timer timer(stream.get_executor());
  while (remaining > 0) {
    ssize_t sent = ::sendfile(socket.native_handle(), file.fd.get(), &offset,
                              static_cast<std::size_t>(std::min<std::uint64_t>(remaining, kSendfileChunk)));
    if (sent > 0) {
      remaining -= static_cast<std::uint64_t>(sent);
      since_yield += static_cast<std::uint64_t>(sent);
      if (since_yield >= kYieldEvery) {
        since_yield = 0;
        co_await asio::post(stream.get_executor(), use_awaitable);
      }
      continue;
    }
    if (sent == 0) {  // the file is shorter than promised: the response cannot be completed
      ec = asio::error::eof;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec.assign(errno, boost::system::system_category());
      break;
    }
    timer.expires_after(timeout);
    auto result = co_await (socket.async_wait(tcp::socket::wait_write, kTuple) || timer.async_wait(kTuple));
    if (result.index() == 1) {
      ec = beast::error::timeout;
      break;
    }
    if (auto [wait_ec] = std::get<0>(result); wait_ec) {
      ec = wait_ec;
      break;
    }
  }
  boost::system::error_code ignored;
  socket.native_non_blocking(false, ignored);
  co_return ec;
}

// Over TLS the bytes must pass through the encryption: read and write
// through one bounded buffer.
awaitable<boost::system::error_code> send_file(net::TlsStream& stream, FileBody& file, std::chrono::seconds timeout) {
  std::vector<char> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(file.length, kFileBufferBytes)));
  auto offset = static_cast<off_t>(file.offset);
  std::uint64_t remaining = file.length;
  while (remaining > 0) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, chunk.size()));
    ssize_t n = ::pread(file.fd.get(), chunk.data(), want, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) co_return boost::system::error_code(errno, boost::system::system_category());
    if (n == 0) co_return asio::error::eof;
    beast::get_lowest_layer(stream).expires_after(timeout);
    auto [ec, written] = co_await asio::async_write(stream, asio::buffer(chunk.data(), static_cast<std::size_t>(n)),
                                                    kTuple);
    if (ec) co_return ec;
    offset += n;
    remaining -= static_cast<std::uint64_t>(n);
  }
  co_return boost::system::error_code{};
}

// Writes `reply`: whole, or only its header for HEAD, and then the file
// body if there is one. A file response's Content-Length is already set.
template <class Stream>
awaitable<boost::system::error_code> send_reply(Stream& stream, bhttp::response<bhttp::string_body>& reply,
                                                 FileBody* file, bool header_only, std::chrono::seconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
  if (!file && !header_only) {
    auto [ec, n] = co_await bhttp::async_write(stream, reply, kTuple);
    co_return ec;
  }
  bhttp::response_serializer<bhttp::string_body> serializer(reply);
  auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, kTuple);
  if (ec || !file || header_only) co_return ec;
  co_return co_await send_file(stream, *file, timeout);
}

}  // namespace

awaitable<void> write_response(beast::tcp_stream& stream, Response response, bool keep_alive) {
  return write_any(stream, std::move(response), keep_alive);
}

awaitable<void> write_response(net::TlsStream& stream, Response response, bool keep_alive) {
  return write_any(stream, std::move(response), keep_alive);
}

std::string Server::listen(const std::string& host, std::uint16_t port) {
  tcp::endpoint endpoint(asio::ip::make_address(host), port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  auto bound = impl_->acceptor.local_endpoint();
  if (bound.address().is_v6()) return fmt::format("[{}]:{}", bound.address().to_string(), bound.port());
  return fmt::format("{}:{}", bound.address().to_string(), bound.port());
}

void Server::shutdown(std::chrono::seconds grace, std::function<void()> on_drained) {
  asio::post(impl_->io, [impl = impl_, grace, on_drained = std::move(on_drained)]() mutable {
    impl->stopping = true;
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    std::vector<std::shared_ptr<Connection>> open;
    {
      std::lock_guard lock(impl->mutex);
      open.assign(impl->connections.begin(), impl->connections.end());
      if (open.empty()) {
        on_drained();
        return;
      }
      impl->on_drained = std::move(on_drained);
    }
    impl->logger->info("draining connections count={}", open.size());
    for (auto& connection : open) {
      asio::post(connection->strand, [connection] {
        if (!connection->closed && !connection->busy) connection->stream->cancel();
      });
    }
    impl->grace_timer.expires_after(grace);
    impl->grace_timer.async_wait([impl](boost::system::error_code ec) {
      if (ec) return;
      std::lock_guard lock(impl->mutex);
      impl->logger->warn("closing connections still busy after grace period count={}", impl->connections.size());
      for (const auto& connection : impl->connections) {
        asio::post(connection->strand, [connection] {
          if (!connection->closed) connection->stream->socket().close();
        });
      }
    });
  });
}

bool Server::Impl::register_connection(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mutex);
  if (stopping || connections.size() + upgraded >= options.max_connections) return false;
  connections.insert(connection);
  return true;
}

void Server::Impl::unregister_connection(const std::shared_ptr<Connection>& connection) {
  std::function<void()> drained;
  {
    std::lock_guard lock(mutex);
    connections.erase(connection);
    if (stopping && connections.empty() && on_drained) {
      drained = std::move(on_drained);
      on_drained = nullptr;
      grace_timer.cancel();
    }
  }
  if (drained) drained();
}

awaitable<void> Server::Impl::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
    if (ec) {
      if (!acceptor.is_open()) co_return;
      // Out of file descriptors and similar: back off rather than spin.
      logger->warn("accept failed error=\"{}\"", ec.message());
      asio::steady_timer pause(io, std::chrono::milliseconds(100));
      co_await pause.async_wait(kTuple);
      continue;
    }
    auto executor = socket.get_executor();
    if (tls) {
      asio::co_spawn(executor, serve<net::TlsStream>(std::move(socket)), asio::detached);
    } else {
      asio::co_spawn(executor, serve<beast::tcp_stream>(std::move(socket)), asio::detached);
    }
  }
}

// Stream is beast::tcp_stream or net::TlsStream; `transport` below is the TCP
// layer under it, which holds the timeouts.
template <class Stream>
awaitable<void> Server::Impl::serve(tcp::socket socket) {
  auto self = shared_from_this();
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  std::string remote = ec ? std::string("unknown") : peer.address().to_string();
  // Replies and events are small and latency matters more than packet count:
  // without this, Nagle's algorithm holds a second small frame until the
  // peer's delayed ACK (up to 40 ms).
  socket.set_option(tcp::no_delay(true), ec);
  Stream stream = [&] {
    if constexpr (kIsTls<Stream>) {
      return Stream(std::move(socket), tls->current());
    } else {
      return Stream(std::move(socket));
    }
  }();
  beast::tcp_stream& transport = beast::get_lowest_layer(stream);

  auto connection = std::make_shared<Connection>();
  connection->strand = stream.get_executor();
  connection->stream = &transport;
  if (!register_connection(connection)) {
    logger->warn("connection refused reason=limit_or_shutdown remote={}", remote);
    co_return;
  }
  metrics.connection_opened();
  if constexpr (kIsTls<Stream>) {
    // Within the limits above: a handshake in progress holds a connection.
    if (!co_await tls_handshake(stream, remote)) {
      connection->closed = true;
      metrics.connection_closed();
      unregister_connection(connection);
      co_return;
    }
  }

  beast::flat_buffer buffer;
  bool unread_input = false;  // a request body was refused without reading it
  bool first_request = true;
  for (;;) {
    connection->busy = false;
    if (stopping) break;
    if (buffer.size() == 0) {
      // A new connection has the read timeout, counted from accept, to send
      // its whole first request: a peer that connects and stays silent holds
      // a connection no longer than a slow sender. Between keep-alive
      // requests the idle timeout applies until the next one begins, then the
      // (shorter) read timeout.
      transport.expires_after(first_request ? options.read_timeout : options.idle_timeout);
      auto [read_ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
      if (read_ec) break;  // peer closed, timeout, or shutdown
      buffer.commit(n);
    }
    connection->busy = true;

    RequestParser parser;
    apply_limits(parser, options);
    // The route, and so the body's limit, is known once the header is:
    // limit_body() then applies it (to Content-Length before any of the
    // body is read). Until then Beast must not judge the length itself.
    parser.body_limit(boost::none);
    if (!first_request) transport.expires_after(options.read_timeout);
    first_request = false;
    // The header first: how the body is framed is checked before any of it
    // is read (check_framing).
    boost::system::error_code read_ec;
    std::tie(read_ec, std::ignore) = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
    std::optional<ApiError> refusal;
    if (!read_ec) refusal = check_framing(parser);
    const Route* streaming = nullptr;
    if (!read_ec && !refusal) {
      streaming = streaming_route(router, parser.get());
      refusal = limit_body(parser, streaming ? *streaming->stream_limit : options.max_body_bytes);
    }
    if (!read_ec && !refusal && !streaming) {
      std::tie(read_ec, std::ignore) = co_await bhttp::async_read(stream, buffer, parser, kTuple);
    }

    auto started = std::chrono::steady_clock::now();
    // Kept apart from the parser, which a streaming route moves from.
    std::string method = read_ec ? std::string("-") : std::string(parser.get().method_string());
    bool head = !read_ec && parser.get().method() == bhttp::verb::head;
    std::string route_name(kUnmatchedRoute);
    Response response;
    bool keep_alive = false;
    bool can_upgrade = kIsTls<Stream> ? static_cast<bool>(tls_upgrade_handler) : static_cast<bool>(upgrade_handler);
    if (!read_ec && !refusal && can_upgrade && beast::websocket::is_upgrade(parser.get()) &&
        parser.get().target() == upgrade_path) {
      transport.expires_never();  // the protocol taking over keeps its own timeouts
      // Hand the connection over and end this coroutine, so that nothing of
      // the HTTP session (its frame, its buffer) stays with a connection
      // that may live for days.
      connection->closed = true;
      metrics.connection_closed();
      {
        std::lock_guard lock(mutex);
        ++upgraded;  // before the unregister below, so the count never dips
      }
      std::shared_ptr<void> slot(nullptr, [self](void*) {
        std::lock_guard lock(self->mutex);
        --self->upgraded;
      });
      unregister_connection(connection);
      std::string client = request_client_address(remote, parser.get(), forwarded_header, trusted_proxies);
      auto executor = stream.get_executor();
      if constexpr (kIsTls<Stream>) {
        asio::co_spawn(executor,
                       tls_upgrade_handler(TlsUpgrade{{std::move(stream), parser.release(), std::move(client),
                                                       upgrade_path, started, std::move(slot)}}),
                       asio::detached);
      } else {
        asio::co_spawn(executor,
                       upgrade_handler(Upgrade{{std::move(stream), parser.release(), std::move(client), upgrade_path,
                                                started, std::move(slot)}}),
                       asio::detached);
      }
      co_return;
    }
    if (refusal) {
      // Whatever follows the header is neither this request's body nor a
      // next request: it is never parsed, and the connection closes.
      logger->info("request refused remote={} reason=\"{}\"", remote, refusal->what());
      response = Response::error(*refusal);
      unread_input = true;
    } else if (streaming) {
      // The handler reads the body. Whatever it leaves unread (it refused
      // the request first, or the body broke a limit) ends the connection.
      bhttp::request_parser<bhttp::buffer_body> body_parser(std::move(parser));
      body_parser.body_limit(*streaming->stream_limit);
      StreamBodyReader<Stream> body(stream, buffer, body_parser, options.read_timeout, *streaming->stream_limit);
      response = co_await dispatch_streaming(
          router, body_parser.get().base(),
          body, request_client_address(remote, body_parser.get(), forwarded_header, trusted_proxies), route_name);
      keep_alive = body_parser.get().keep_alive() && body.done();
      unread_input = !body.done();
    } else if (!read_ec) {
      response = co_await dispatch(router, parser.get(),
                                  request_client_address(remote, parser.get(), forwarded_header, trusted_proxies),
                                  route_name);
      keep_alive = parser.get().keep_alive();
    } else {
      auto failure = classify_read_error(read_ec, options);
      if (!failure.answer) {
        logger->debug("connection closed while reading remote={} reason=\"{}\"", remote, read_ec.message());
        break;
      }
      response = Response::error(*failure.answer);
      unread_input = failure.body_unread;
    }

    auto status = response.status;
    auto file = std::move(response.file);
    auto reply = to_beast(std::move(response), keep_alive && !stopping);
    if (file) reply.content_length(file->length);
    if constexpr (kIsTls<Stream>) {
      if (!hsts.empty()) reply.set(bhttp::field::strict_transport_security, hsts);
    }

    auto write_ec = co_await send_reply(stream, reply, file.get(), head, options.read_timeout);
    file.reset();  // closes the file now, not when the next request arrives
    metrics.observe_request(method, route_name, status, std::chrono::steady_clock::now() - started);
    if (write_ec || !reply.keep_alive()) break;
  }

  if constexpr (!kIsTls<Stream>) transport.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (unread_input && !stopping) {
    // Read and drop what the client is still sending (see kDrainTime).
    transport.expires_after(kDrainTime);
    std::size_t drained = 0;
    while (drained < kMaxDrainBytes) {
      buffer.clear();
      auto [drain_ec, n] = co_await stream.async_read_some(buffer.prepare(16384), kTuple);
      if (drain_ec) break;
      drained += n;
    }
  }
  if constexpr (kIsTls<Stream>) {
    // close_notify, so that the peer can tell the end from a truncation.
    transport.expires_after(kTlsCloseTime);
    co_await stream.async_shutdown(kTuple);
  }
  connection->closed = true;
  metrics.connection_closed();
  unregister_connection(connection);
}

// Reads the first bytes itself: a plain HTTP request sent to the TLS port
// gets a readable answer instead of a handshake failure. What was read is
// then handed to the handshake. Returns false when the connection is over.
awaitable<bool> Server::Impl::tls_handshake(net::TlsStream& stream, const std::string& remote) {
  beast::tcp_stream& transport = beast::get_lowest_layer(stream);
  transport.expires_after(tls_options.handshake_timeout);
  std::array<unsigned char, 512> first;
  auto [read_ec, n] = co_await transport.async_read_some(asio::buffer(first), kTuple);
  if (read_ec) {
    logger->debug("connection closed before the TLS handshake remote={} reason=\"{}\"", remote, read_ec.message());
    co_return false;
  }
  if (first[0] != kTlsHandshakeRecord) {
    logger->debug("plain HTTP on the TLS port remote={}", remote);
    auto refusal = Response::error(ApiError(ErrorCode::kMalformedRequest, "this port speaks HTTPS only"));
    auto reply = to_beast(std::move(refusal), false);
    co_await bhttp::async_write(transport, reply, kTuple);
    boost::system::error_code ignored;
    transport.socket().shutdown(tcp::socket::shutdown_send, ignored);
    co_return false;
  }
  auto [handshake_ec, used] =
      co_await stream.async_handshake(asio::ssl::stream_base::server, asio::buffer(first.data(), n), kTuple);
  if (handshake_ec) {
    // Scanners and clients with nothing in common with this configuration:
    // expected, not an error of the server.
    logger->debug("TLS handshake failed remote={} reason=\"{}\"", remote, handshake_ec.message());
    co_return false;
  }
  co_return true;
}

}  // namespace parley::http
