// permessage-deflate (RFC 7692): negotiating it in the upgrade handshake,
// and the zlib streams that inflate what the client sends and deflate what
// the server sends.
//
// Memory is the trade-off to choose. With context takeover, each side keeps
// its LZ77 window between messages: similar messages compress better, but
// every connection holds a deflate stream (with zlib's defaults, 15 window
// bits and memLevel 8: 2^17 + 2^17 bytes, ~ 260 KiB) and an inflate stream
// (a 32 KiB window and ~ 7 KiB of state) for its whole life, idle or not.
// Without it (the default here), every message is compressed on its own:
// the server deflates with one stream per thread, reset between messages,
// and inflates a client's message with a stream taken from a per-thread pool
// only while that message is in flight, so an idle connection holds no zlib
// memory at all. Over TLS, no server context takeover also removes the
// CRIME-style oracle of compressing attacker-chosen text beside secrets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "wsproto/error.hpp"
#include "wsproto/utf8.hpp"

typedef struct z_stream_s z_stream;  // zlib's, kept out of this header

namespace parley::wsproto {

// What the server is willing to negotiate.
struct DeflateOptions {
  // Off unless asked for: compression costs CPU on every message.
  bool enabled = false;
  // Keep windows between messages (see above). Off: idle connections hold
  // no zlib memory; most chat messages are short and compress little anyway.
  bool context_takeover = false;
  // The largest LZ77 window, in bits (9..15), the server compresses with and
  // asks the client to compress with when the client lets it choose. 15 is
  // zlib's default and the best ratio; each bit less halves the window.
  int max_window_bits = 15;
  // zlib's memLevel (1..9) for the server's deflate streams: 8 is zlib's
  // default; with context takeover, a lower value saves 2^(memLevel+9)
  // bytes per connection for a slightly worse ratio.
  int mem_level = 8;
  // zlib's level (1..9). 6 is zlib's default trade-off of CPU for size.
  int level = 6;
  // Messages shorter than this leave uncompressed (RFC 7692 lets each
  // message choose): deflating a few dozen bytes saves nothing.
  std::size_t min_compress_bytes = 64;
};

// What was negotiated with one client.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
  // The client offered client_max_window_bits, so the response may name
  // the window it is to use (RFC 7692 §7.1.2.2).
  bool client_window_named = false;
};

// Picks the first offer of permessage-deflate in `header` (a
// Sec-WebSocket-Extensions value, possibly several offers) that the server
// can accept under `options`; nullopt when none (or !options.enabled). An
// offer with an unknown or repeated parameter, or an invalid value, is
// declined (RFC 7692 §5); so is server_max_window_bits=8, which zlib cannot
// compress with.
[[nodiscard]] std::optional<DeflateParams> negotiate_deflate(std::string_view header, const DeflateOptions& options);

// The Sec-WebSocket-Extensions value that accepts `params`.
[[nodiscard]] std::string deflate_response(const DeflateParams& params);

// Inflates one client's compressed messages. Not thread-safe; owned by one
// connection at a time.
class Inflater {
 public:
  explicit Inflater(int window_bits);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates the next piece of a message's compressed payload, appending to
  // `out`. Fails with kMessageTooBig as soon as `out` would grow past
  // `limit` bytes (a deflate bomb stops there, never allocates more), with
  // kBadDeflate on data that does not inflate, and, given `utf8`, with
  // kInvalidUtf8 as soon as the inflated bytes stop being UTF-8. Each piece
  // of output is checked for UTF-8, then for size, before zlib's verdict on
  // the input: the first error is the same however the input is split.
  [[nodiscard]] Error inflate(const std::uint8_t* data, std::size_t size, std::string& out, std::size_t limit,
                              Utf8Validator* utf8 = nullptr);

  // Ends a message: inflates the 00 00 FF FF that RFC 7692 §7.2.2 strips
  // from the end of every message.
  [[nodiscard]] Error finish(std::string& out, std::size_t limit, Utf8Validator* utf8 = nullptr);

  // Forgets the window (no context takeover, or back to a pool).
  void reset();

  [[nodiscard]] int window_bits() const noexcept { return window_bits_; }

 private:
  int window_bits_;
  std::unique_ptr<z_stream> stream_;
};

// Deflates the server's messages.
class Deflater {
 public:
  Deflater(int window_bits, int mem_level, int level);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // The compressed form of one whole message, without the trailing
  // 00 00 FF FF (RFC 7692 §7.2.1). With `reset_after`, the window is
  // forgotten afterwards (no context takeover).
  [[nodiscard]] std::string compress(std::string_view message, bool reset_after);

 private:
  std::unique_ptr<z_stream> stream_;
};

// A pooled inflater of `window_bits` (per thread, a few kept), for messages
// of connections without client context takeover: taken when a compressed
// message begins, given back (reset) when it ends.
struct InflaterReturn {
  void operator()(Inflater* inflater) const noexcept;
};
using PooledInflater = std::unique_ptr<Inflater, InflaterReturn>;
[[nodiscard]] PooledInflater take_pooled_inflater();

// The calling thread's deflater for messages compressed without context
// takeover, with `window_bits` and the options' level and memLevel; reset
// after every message.
[[nodiscard]] Deflater& thread_deflater(int window_bits, int mem_level, int level);

}  // namespace parley::wsproto
