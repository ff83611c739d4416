// One WebSocket connection on Asio: the opening handshake, then reading
// with the Reader and writing from an OutboundQueue, with heartbeats and
// time limits from a shared TimerWheel and the close handshake of RFC 6455
// §7. Built for a server with many mostly idle connections:
//
//   - No buffer while idle. Over a plain socket the connection waits for
//     the socket to become readable (async_wait), then reads what is there
//     into a per-thread scratch buffer; only the bytes of a frame or
//     message not yet complete are kept (by the Reader). Over TLS, the
//     stream keeps its own record buffers, and a 4 KiB read buffer exists
//     only while a read is pending.
//   - No timer per connection: the TimerWheel calls it at its next deadline.
//   - Frames leave together: everything queued when the socket can take
//     more goes in one gathered write (writev) of headers and shared
//     payloads; over TLS, in one record of up to 16 KiB.
//
// Threading: everything of a connection runs on its strand (the stream's
// executor must be a strand, or an io_context run by one thread). send()
// and close() may be called from any thread. The SessionHandler is called
// on the strand.
#pragma once

#include <array>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "wsproto/deflate.hpp"
#include "wsproto/error.hpp"
#include "wsproto/handshake.hpp"
#include "wsproto/reader.hpp"
#include "wsproto/timer_wheel.hpp"
#include "wsproto/writer.hpp"

namespace parley::wsproto {

// Limits and behaviour of connections; one instance shared by all of them
// (a connection keeps a pointer, not a copy: ConnectionOptions must outlive
// every connection made with it).
struct ConnectionOptions {
  Limits limits;
  DeflateOptions deflate;
  // Bytes queued for a peer that reads slowly before it is cut off
  // (Error::kQueueFull): bounded memory per connection, as µWebSockets'
  // maxBackpressure.
  std::size_t max_queued_bytes = 1 << 20;
  // Messages a connection prepares itself (send_text) leave in frames of at
  // most this many bytes (0: one frame).
  std::size_t fragment_bytes = 0;
  // A peer whose queue holds more than this (0: no such check) and whose
  // socket has taken nothing for stall_time is cut off as well: a burst
  // may pass it for a moment, a reader that stopped may not.
  std::size_t stall_bytes = 0;
  std::chrono::milliseconds stall_time{1'000};
  // The upgrade request must arrive within this.
  std::chrono::milliseconds handshake_timeout{10'000};
  // Nothing received for half of this: a ping is sent; for all of it: the
  // connection is cut (0: never).
  std::chrono::milliseconds idle_timeout{60'000};
  // After the server's close frame, the client's must come within this.
  std::chrono::milliseconds close_timeout{5'000};
  // The upgrade request's header, at most (HTTP 431 beyond).
  std::uint32_t max_request_bytes = 8 * 1024;
  // The Server field of the 101 response (empty: none).
  std::string server_name;
};

class Session;

// What a connection reports, on its strand.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  virtual void on_open(Session& session) { (void)session; }
  // A whole text (UTF-8) or binary message.
  virtual void on_message(Session& session, Opcode opcode, std::string&& payload) = 0;
  // The end, once: `code` is the close code the peer sent (or that the
  // server sent, when the server began the close or the peer broke the
  // protocol), close_code::kAbnormal when the connection ended without a
  // close handshake; `error` says why, when not a clean close.
  virtual void on_closed(Session& session, std::uint16_t code, boost::system::error_code error) {
    (void)session, (void)code, (void)error;
  }
};

// The part of a connection that does not depend on its stream type.
class Session {
 public:
  // Queues `message` (compressed, when negotiated and worth it). Any thread.
  // A peer whose queue passes ConnectionOptions::max_queued_bytes is cut off.
  virtual void send(SharedMessage message) = 0;
  // Begins the close handshake with `code` and `reason` (cut to 123 bytes).
  // Messages queued before it still leave. Any thread.
  virtual void close(std::uint16_t code, std::string reason = {}) = 0;
  // permessage-deflate as negotiated, if it was.
  [[nodiscard]] virtual const std::optional<DeflateParams>& deflate() const noexcept = 0;

 protected:
  ~Session() = default;
};

template <class Stream>
class Connection final : public Session,
                         public TimerClient,
                         public ReaderHandler,
                         public std::enable_shared_from_this<Connection<Stream>> {
  static constexpr bool kPlain = std::is_same_v<Stream, boost::asio::ip::tcp::socket>;

 public:
  // Takes an accepted stream (a TLS stream after its handshake).
  Connection(Stream stream, const ConnectionOptions& options, TimerWheel& wheel,
             std::shared_ptr<SessionHandler> handler)
      : stream_(std::move(stream)), options_(&options), wheel_(&wheel), handler_(std::move(handler)) {}

  // Reads the upgrade request and answers it. Call once, right after
  // construction.
  void run() {
    boost::asio::dispatch(executor(), [self = this->shared_from_this()] { self->read_request(); });
  }

  // For a server that read the request itself: answers `request`; `early`
  // holds any bytes that came after it.
  void run(boost::beast::http::request_header<> request, std::string early = {}) {
    boost::asio::dispatch(executor(),
                          [self = this->shared_from_this(), request = std::move(request),
                           early = std::move(early)]() mutable { self->answer_request(request, std::move(early)); });
  }

  void send(SharedMessage message) override {
    boost::asio::dispatch(executor(), [self = this->shared_from_this(), message = std::move(message)]() mutable {
      self->enqueue(std::move(message));
    });
  }

  // On the strand: queues `message` past max_queued_bytes, for a burst
  // whose size the caller bounds itself (a catch-up of at most so many
  // events, read into memory already). The stall check still applies to
  // what is queued after it.
  void send_unbounded(SharedMessage message) { enqueue(std::move(message), true); }

  // Sends a text or binary message prepared for this connection alone.
  void send_message(Opcode opcode, std::string payload) {
    send(PreparedMessage::make(opcode, std::move(payload), {.fragment_bytes = options_->fragment_bytes}));
  }

  void close(std::uint16_t code, std::string reason = {}) override {
    boost::asio::dispatch(executor(), [self = this->shared_from_this(), code, reason = std::move(reason)] {
      self->begin_close(code, reason, CloseKind::kHandshake);
    });
  }

  [[nodiscard]] const std::optional<DeflateParams>& deflate() const noexcept override { return deflate_; }

  Stream& stream() noexcept { return stream_; }

  // On the strand. While corked, what is queued waits; uncork() sends it
  // all in one gathered write (a batch of messages, one system call).
  void cork() noexcept { ++corked_; }
  void uncork() {
    if (corked_ > 0 && --corked_ == 0) flush();
  }

  // On the strand. While paused, nothing more is read from the socket
  // (backpressure: the peer's frames wait in the kernel); messages already
  // read are still delivered. Idle timeouts still apply.
  void pause_reading() noexcept { paused_ = true; }
  void resume_reading() {
    if (!paused_) return;
    paused_ = false;
    if (phase_ == Phase::kOpen) start_reading();
  }

 private:
  enum class Phase : std::uint8_t { kHandshake, kOpen, kClosing, kDone };
  enum class CloseKind : std::uint8_t { kHandshake, kFail };
  using Clock = std::chrono::steady_clock;

  auto executor() { return stream_.get_executor(); }

  // The TCP socket under the stream (an ssl::stream's, or a Beast
  // tcp_stream's below that).
  boost::asio::ip::tcp::socket& socket() {
    auto& lowest = boost::beast::get_lowest_layer(stream_);
    if constexpr (requires { lowest.socket(); }) {
      return lowest.socket();
    } else {
      return lowest;
    }
  }

  // --- Handshake

  void read_request() {
    deadline_ = Clock::now() + options_->handshake_timeout;
    wake_at(deadline_);
    struct Read {
      boost::beast::flat_buffer buffer;
      boost::beast::http::request_parser<boost::beast::http::empty_body> parser;
    };
    auto read = std::make_shared<Read>();
    read->buffer.max_size(options_->max_request_bytes);
    read->parser.header_limit(options_->max_request_bytes);
    boost::beast::http::async_read_header(
        stream_, read->buffer, read->parser,
        boost::asio::bind_executor(
            executor(), [self = this->shared_from_this(), read](boost::system::error_code ec, std::size_t) {
              if (ec) return self->finish(close_code::kAbnormal, ec);
              auto data = read->buffer.data();
              self->answer_request(read->parser.get().base(),
                                   std::string(static_cast<const char*>(data.data()), data.size()));
            }));
  }

  void answer_request(const boost::beast::http::request_header<>& request, std::string early) {
    HandshakeResult result = accept_handshake(request, options_->deflate, options_->server_name);
    if (!result.accepted) {
      auto response = std::make_shared<std::string>(std::move(result.response));
      boost::asio::async_write(stream_, boost::asio::buffer(*response),
                               boost::asio::bind_executor(executor(), [self = this->shared_from_this(), response](
                                                                          boost::system::error_code, std::size_t) {
                                 self->finish(close_code::kAbnormal, Error::kHandshakeFailed);
                               }));
      return;
    }
    deflate_ = result.deflate;
    reader_.emplace(options_->limits, deflate_ ? &*deflate_ : nullptr);
    if (deflate_ && !deflate_->server_no_context_takeover) {
      own_deflater_ = std::make_unique<Deflater>(deflate_->server_max_window_bits, options_->deflate.mem_level,
                                                 options_->deflate.level);
    }
    phase_ = Phase::kOpen;
    last_received_ = Clock::now();
    // The 101 response is the first thing queued: it leaves with whatever
    // the handler sends in on_open.
    (void)queue_.push(prepare_raw(std::move(result.response)), false, true);  // forced: always queued
    flush();
    handler_->on_open(*this);
    if (!early.empty() && !consume(reinterpret_cast<const std::uint8_t*>(early.data()), early.size())) return;
    if (phase_ == Phase::kOpen && options_->idle_timeout.count() > 0) {
      wake_at(last_received_ + options_->idle_timeout / 2);
    }
    start_reading();
  }

  // Raw bytes (the HTTP response) as a "message" without a frame header.
  static SharedMessage prepare_raw(std::string bytes) { return PreparedMessage::raw(std::move(bytes)); }

  // --- Reading

  void start_reading() {
    if (reading_ || phase_ == Phase::kDone || !reader_) return;
    if (paused_ && phase_ == Phase::kOpen) return;
    if (reader_->closed() && !draining_) return;
    reading_ = true;
    if constexpr (kPlain) {
      socket().async_wait(
          boost::asio::socket_base::wait_read,
          boost::asio::bind_executor(executor(), [self = this->shared_from_this()](boost::system::error_code ec) {
            self->reading_ = false;
            // The wait may have completed just before a failed write
            // ended the connection: its completion then finds the socket
            // closed, and there is nothing left to read.
            if (self->phase_ == Phase::kDone) return;
            if (ec) return self->finish(close_code::kAbnormal, ec);
            self->read_available();
          }));
    } else {
      auto buffer = std::make_shared<std::array<std::uint8_t, 4096>>();
      stream_.async_read_some(boost::asio::buffer(*buffer),
                              boost::asio::bind_executor(executor(), [self = this->shared_from_this(), buffer](
                                                                         boost::system::error_code ec, std::size_t n) {
                                self->reading_ = false;
                                if (self->draining_) return self->tls_shutdown();
                                if (n > 0 && !self->consume(buffer->data(), n)) return;
                                if (ec) return self->finish(close_code::kAbnormal, ec);
                                self->start_reading();
                              }));
    }
  }

  // Plain sockets: reads what the socket has, without blocking, into the
  // thread's scratch buffer.
  void read_available() {
    thread_local std::array<std::uint8_t, 64 * 1024> scratch;
    if (phase_ == Phase::kDone) return;
    auto& s = socket();
    if (!set_non_blocking()) return;
    for (int rounds = 0; rounds < 16; ++rounds) {  // then let other connections run
      boost::system::error_code ec;
      std::size_t n = s.read_some(boost::asio::buffer(scratch), ec);
      if (ec == boost::asio::error::would_block) break;
      if (ec && draining_) return finish_drained();  // the peer's end after ours
      if (ec) return finish(close_code::kAbnormal, ec);
      if (!consume(scratch.data(), n)) return;
      if (n < scratch.size() || (paused_ && phase_ == Phase::kOpen)) break;
    }
    start_reading();
  }

  // Puts the socket in non-blocking mode (once); false, with the
  // connection ended, when the socket cannot be (it never throws: an
  // exception here would leave the I/O thread's run()).
  bool set_non_blocking() {
    auto& s = socket();
    if (s.non_blocking()) return true;
    boost::system::error_code ec;
    s.non_blocking(true, ec);
    if (ec) finish(close_code::kAbnormal, ec);
    return !ec;
  }

  // Feeds bytes to the Reader; false when reading is over.
  bool consume(const std::uint8_t* data, std::size_t size) {
    if (phase_ == Phase::kDone) return false;
    if (draining_) return true;  // after the close handshake: discarded
    last_received_ = Clock::now();
    ping_sent_ = false;
    Error e = reader_->feed(data, size, *this);
    if (e != Error::kOk) {
      fail_error_ = e;
      begin_close(close_code_for(e), make_error_code(e).message(), CloseKind::kFail);
      return false;
    }
    return phase_ != Phase::kDone && !reader_->closed();
  }

  // ReaderHandler
  void on_message(Opcode opcode, std::string&& payload) override {
    if (phase_ == Phase::kOpen) handler_->on_message(*this, opcode, std::move(payload));
  }
  void on_ping(std::string_view payload) override {
    if (phase_ == Phase::kOpen) enqueue_control(Opcode::kPong, std::string(payload));
  }
  void on_pong(std::string_view) override {}
  void on_close(std::uint16_t code, std::string_view reason) override {
    peer_close_code_ = code;
    if (phase_ == Phase::kOpen) {
      // Answer with the same code (an empty close with an empty one), then
      // end the TCP connection: the server closes first (RFC 6455 §7.1.1).
      std::string payload = code == close_code::kNoStatus ? std::string() : close_payload(code, {});
      (void)reason;
      phase_ = Phase::kClosing;
      close_kind_ = CloseKind::kFail;  // nothing more to wait for once ours is sent
      close_code_ = code;
      close_queued_ = true;
      enqueue_control(Opcode::kClose, std::move(payload));
    } else if (phase_ == Phase::kClosing && close_sent_) {
      drain();
    }
  }

  // --- Writing

  void enqueue(SharedMessage message, bool unbounded = false) {
    if (phase_ != Phase::kOpen) return;
    bool compressed = false;
    if (deflate_ && message->size() >= options_->deflate.min_compress_bytes && !is_control(message->opcode())) {
      if (deflate_->server_no_context_takeover && message->has_compressed() &&
          message->compressed_window_bits() <= deflate_->server_max_window_bits) {
        compressed = true;  // shared, made once for every recipient
      } else {
        const std::string& plain = message->payload(false);
        std::string deflated = own_deflater_ ? own_deflater_->compress(plain, false)
                                             : thread_deflater(deflate_->server_max_window_bits,
                                                               options_->deflate.mem_level, options_->deflate.level)
                                                   .compress(plain, true);
        message = prepare_compressed(message->opcode(), std::move(deflated), options_->fragment_bytes);
      }
    }
    if (!queue_.push(std::move(message), compressed, unbounded) ||
        (options_->stall_bytes > 0 && queue_.bytes() > options_->stall_bytes && writing_ && !unbounded &&
         Clock::now() - last_progress_ > options_->stall_time)) {
      // The peer does not read: no close frame could reach it either.
      return finish(close_code::kAbnormal, Error::kQueueFull);
    }
    flush();
  }

  void enqueue_control(Opcode opcode, std::string payload) {
    (void)queue_.push(PreparedMessage::make(opcode, std::move(payload)), false, true);
    flush();
  }

  static bool is_control(Opcode op) { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

  void flush() {
    if (writing_ || corked_ > 0 || queue_.empty() || phase_ == Phase::kDone) return;
    writing_ = true;
    last_progress_ = Clock::now();
    if constexpr (kPlain) {
      // Try at once: a socket with room takes the batch without a trip
      // through the reactor.
      write_available();
    } else {
      // ssl::stream writes one buffer per call: one record of the batch.
      std::vector<boost::asio::const_buffer> buffers;
      queue_.gather(buffers);
      auto record = std::make_shared<std::string>();
      for (const auto& b : buffers) {
        if (record->size() + b.size() > 16 * 1024 && !record->empty()) break;
        record->append(static_cast<const char*>(b.data()), b.size());
      }
      boost::asio::async_write(stream_, boost::asio::buffer(*record),
                               boost::asio::bind_executor(executor(), [self = this->shared_from_this(), record](
                                                                          boost::system::error_code ec, std::size_t n) {
                                 self->written(ec, n);
                               }));
    }
  }

  void write_available() {
    // As for reading: a wait for room may complete after the connection
    // ended (a read saw the peer's reset meanwhile).
    if (phase_ == Phase::kDone) return;
    auto& s = socket();
    if (!set_non_blocking()) return;
    // The gathered buffers of every write on this thread: its capacity is
    // kept, so a write allocates nothing. Refilled before each write_some
    // and not read after it, so a handler that runs meanwhile (note_written,
    // written) may use it for another connection.
    thread_local std::vector<boost::asio::const_buffer> buffers;
    while (!queue_.empty()) {
      buffers.clear();
      queue_.gather(buffers);
      boost::system::error_code ec;
      std::size_t n = s.write_some(buffers, ec);
      if (ec == boost::asio::error::would_block) {
        s.async_wait(boost::asio::socket_base::wait_write,
                     boost::asio::bind_executor(executor(),
                                                [self = this->shared_from_this()](boost::system::error_code wait_ec) {
                                                  if (wait_ec) return self->written(wait_ec, 0);
                                                  self->write_available();
                                                }));
        return;
      }
      if (ec) return written(ec, 0);
      note_written(n);
      if (phase_ == Phase::kDone) return;
    }
    writing_ = false;
    after_flush();
  }

  void written(boost::system::error_code ec, std::size_t n) {
    if (ec) {
      writing_ = false;
      return finish(close_code::kAbnormal, ec);
    }
    note_written(n);
    writing_ = false;
    if (!queue_.empty()) return flush();
    after_flush();
  }

  void note_written(std::size_t n) {
    queue_.consume(n);
    if (n > 0 && options_->stall_bytes > 0) last_progress_ = Clock::now();
  }

  // The queue is empty: if our close frame was in it, it is sent now.
  void after_flush() {
    if (!close_queued_ || close_sent_) return;
    close_sent_ = true;
    deadline_ = Clock::now() + options_->close_timeout;
    wake_at(deadline_);
    if (close_kind_ == CloseKind::kFail || (reader_ && reader_->closed())) {
      drain();
    } else {
      start_reading();  // the peer's close frame, within close_timeout
    }
  }

  // --- Closing

  void begin_close(std::uint16_t code, std::string_view reason, CloseKind kind) {
    if (phase_ != Phase::kOpen) {
      if (phase_ == Phase::kHandshake) finish(close_code::kAbnormal, Error::kClosed);
      return;
    }
    phase_ = Phase::kClosing;
    close_kind_ = kind;
    close_code_ = code;
    close_queued_ = true;
    // Sent when everything queued before it is; after_flush goes on.
    enqueue_control(Opcode::kClose, close_payload(code, reason));
  }

  // Both close frames are through (or the peer broke the protocol): the
  // server ends its side of TCP first (RFC 6455 §7.1.1) and reads, and
  // discards, until the peer ends its own, within close_timeout; closing
  // at once could reset the connection before the peer read our close.
  void drain() {
    if (draining_) return;
    draining_ = true;
    if constexpr (!kPlain) {
      // TLS first ends its own session (close_notify both ways); the read
      // pending now would collide with the shutdown's, so it is cancelled
      // and the shutdown starts when it has ended.
      boost::system::error_code ignored;
      if (reading_) {
        socket().cancel(ignored);
      } else {
        tls_shutdown();
      }
      return;
    }
    boost::system::error_code ignored;
    socket().shutdown(boost::asio::socket_base::shutdown_send, ignored);
    start_reading();
  }

  void tls_shutdown() {
    if constexpr (!kPlain) {
      stream_.async_shutdown(boost::asio::bind_executor(
          executor(), [self = this->shared_from_this()](boost::system::error_code) { self->finish_drained(); }));
    }
  }

  void finish_drained() {
    finish(peer_close_code_ ? peer_close_code_ : close_code_,
           fail_error_ != Error::kOk ? make_error_code(fail_error_) : boost::system::error_code());
  }

  void finish(std::uint16_t code, boost::system::error_code ec) {
    if (phase_ == Phase::kDone) return;
    bool was_open = phase_ != Phase::kHandshake;
    phase_ = Phase::kDone;
    boost::system::error_code ignored;
    socket().close(ignored);
    queue_.consume(queue_.bytes());
    if (was_open) handler_->on_closed(*this, code, ec);
  }
  void finish(std::uint16_t code, Error e) { finish(code, make_error_code(e)); }

  // --- Time

  // One live wheel entry per connection: a deadline earlier than the armed
  // one arms a new entry (the old one, when it comes, is stale by its
  // token); a later one waits for the armed entry, which looks again.
  void wake_at(Clock::time_point due) {
    if (timer_armed_ && due >= timer_due_) return;
    timer_armed_ = true;
    timer_due_ = due;
    ++timer_token_;
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now());
    wheel_->schedule(this->weak_from_this(), delay, timer_token_);
  }

  void on_timer(std::uint32_t token) override {
    boost::asio::dispatch(executor(), [self = this->shared_from_this(), token] {
      if (token != self->timer_token_) return;  // superseded
      self->timer_armed_ = false;
      self->check_time();
    });
  }

  void check_time() {
    auto now = Clock::now();
    std::optional<Clock::duration> next;
    switch (phase_) {
      case Phase::kDone:
        return;
      case Phase::kHandshake:
      case Phase::kClosing:
        if (now >= deadline_) {
          // A handshake that finished but whose peer kept its side of TCP open.
          if (draining_ && (close_kind_ == CloseKind::kFail || (reader_ && reader_->closed()))) {
            return finish_drained();
          }
          return finish(close_code::kAbnormal, Error::kTimeout);
        }
        next = deadline_ - now;
        break;
      case Phase::kOpen: {
        auto idle = std::chrono::duration_cast<Clock::duration>(options_->idle_timeout);
        if (idle.count() <= 0) return;
        auto quiet = now - last_received_;
        if (quiet >= idle) return finish(close_code::kAbnormal, Error::kTimeout);
        if (quiet >= idle / 2 && !ping_sent_) {
          ping_sent_ = true;
          enqueue_control(Opcode::kPing, {});
        }
        next = ping_sent_ ? idle - quiet : idle / 2 - quiet;
        break;
      }
    }
    if (next) wake_at(now + *next);
  }

  Stream stream_;
  const ConnectionOptions* options_;
  TimerWheel* wheel_;
  std::shared_ptr<SessionHandler> handler_;
  std::optional<Reader> reader_;
  OutboundQueue queue_{options_->max_queued_bytes};
  std::optional<DeflateParams> deflate_;
  std::unique_ptr<Deflater> own_deflater_;  // with server context takeover only
  Clock::time_point last_received_{};
  Clock::time_point deadline_{};       // of the handshake or the close handshake
  Clock::time_point last_progress_{};  // the socket last took bytes (or a write began)
  Error fail_error_ = Error::kOk;
  std::uint16_t close_code_ = 0;
  std::uint16_t peer_close_code_ = 0;
  Phase phase_ = Phase::kHandshake;
  CloseKind close_kind_ = CloseKind::kHandshake;
  Clock::time_point timer_due_{};
  std::uint32_t timer_token_ = 0;
  bool timer_armed_ = false;
  std::uint8_t corked_ = 0;
  bool paused_ = false;
  bool draining_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool ping_sent_ = false;
  bool close_queued_ = false;
  bool close_sent_ = false;
};

}  // namespace parley::wsproto
