// The server's reading half of RFC 6455, without I/O: bytes from the client
// go in, in whatever pieces the network delivers them, and whole messages,
// pings, pongs and the close frame come out. Frames are parsed
// incrementally (a split anywhere, down to one byte at a time, gives the
// same result), unmasked, checked against the strict rules for a server,
// assembled from fragments with control frames between them, inflated when
// permessage-deflate is on, and validated as UTF-8 while they arrive.
//
// The first violation ends reading with an Error whose close code
// (close_code_for) the connection answers with; nothing after it is read.
//
// Memory: a Reader between messages holds no heap memory; a message in
// flight holds its (inflated) bytes so far, plus, while compressed, a zlib
// inflate stream (from a per-thread pool unless client context takeover);
// a control frame in flight, its payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "wsproto/deflate.hpp"
#include "wsproto/error.hpp"
#include "wsproto/utf8.hpp"

namespace parley::wsproto {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Limits on what a client may send. Every byte a Reader keeps counts
// against one of them.
struct Limits {
  // One frame's payload as sent (compressed, if so): a frame over this is
  // refused when its header arrives, before any of its payload.
  std::size_t max_frame_bytes = 1 << 20;
  // One message's payload, after inflating: 1 MiB is far above any chat
  // frame and keeps a deflate bomb's cost bounded.
  std::size_t max_message_bytes = 1 << 20;
};

// What a Reader found. Called from within Reader::feed.
class ReaderHandler {
 public:
  virtual ~ReaderHandler() = default;
  // A whole text (valid UTF-8) or binary message; `payload` is the
  // handler's to keep.
  virtual void on_message(Opcode opcode, std::string&& payload) = 0;
  // A ping; the connection answers it with a pong of the same payload.
  virtual void on_ping(std::string_view payload) = 0;
  virtual void on_pong(std::string_view payload) = 0;
  // The client's close frame: a valid code (or close_code::kNoStatus for an
  // empty close frame) and a UTF-8 reason. The Reader reads nothing more.
  virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
};

class Reader {
 public:
  // `deflate` when permessage-deflate was negotiated with this client.
  explicit Reader(const Limits& limits, const DeflateParams* deflate = nullptr);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Reads the next `size` bytes from the client, calling `handler` for what
  // they complete. Returns kOk, or the first violation (every later call
  // returns it again). After the close frame, further bytes are ignored.
  [[nodiscard]] Error feed(const std::uint8_t* data, std::size_t size, ReaderHandler& handler);

  // True between frames and messages: nothing partial is held.
  [[nodiscard]] bool idle() const noexcept;
  // True once the client's close frame was read.
  [[nodiscard]] bool closed() const noexcept { return state_ == State::kClosed; }

 private:
  enum class State : std::uint8_t { kHeader, kPayload, kClosed, kFailed };

  Error parse_header(ReaderHandler& handler, bool& complete);
  Error begin_frame();
  Error payload_chunk(const std::uint8_t* data, std::size_t size);
  Error end_frame(ReaderHandler& handler);
  Error fail(Error e) {
    state_ = State::kFailed;
    error_ = e;
    release_message();
    return e;
  }
  void release_message();

  Limits limits_;
  bool deflate_ = false;
  bool client_takeover_ = false;
  int client_window_bits_ = 15;

  State state_ = State::kHeader;
  Error error_ = Error::kOk;
  // The frame being read.
  std::uint8_t header_[14];
  std::uint8_t header_size_ = 0;
  Opcode opcode_ = Opcode::kContinuation;
  bool fin_ = false;
  bool rsv1_ = false;
  std::uint8_t mask_[4];
  std::uint64_t remaining_ = 0;  // payload bytes still to come
  std::uint64_t mask_offset_ = 0;
  // A control frame's payload (at most 125 bytes), held only while such a
  // frame is read: an idle connection's Reader does not carry 125 bytes
  // for the rare ping that arrives in pieces.
  std::unique_ptr<std::uint8_t[]> control_;
  std::uint8_t control_size_ = 0;
  // The message being assembled.
  bool in_message_ = false;
  bool message_text_ = false;
  bool message_compressed_ = false;
  Utf8Validator utf8_;
  std::string message_;
  std::unique_ptr<Inflater> own_inflater_;  // with client context takeover
  PooledInflater pooled_inflater_;          // without, only while a message is in flight
};

// XORs `size` bytes at `data` with `key`, starting at byte `offset` of the
// key's cycle (RFC 6455 §5.3).
void unmask(std::uint8_t* data, std::size_t size, const std::uint8_t key[4], std::uint64_t offset) noexcept;

}  // namespace parley::wsproto
