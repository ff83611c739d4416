// The server's writing half of RFC 6455, without I/O: server frames
// (unmasked) as a small header beside a payload that is never copied, so
// that
//   - a message sent to many connections (a fan-out) is framed, and
//     compressed, once: every recipient's queue holds the same immutable,
//     reference-counted PreparedMessage;
//   - the frames queued on one connection leave in one gathered write
//     (writev) of their headers and payloads: OutboundQueue::gather.
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/container/small_vector.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wsproto/deflate.hpp"
#include "wsproto/reader.hpp"

namespace parley::wsproto {

// The 2 to 10 bytes before a server frame's payload.
struct FrameHeader {
  std::array<std::uint8_t, 10> bytes{};
  std::uint8_t size = 0;
  [[nodiscard]] boost::asio::const_buffer buffer() const noexcept { return {bytes.data(), size}; }
};

// The header of a server frame (no mask) of `payload_size` bytes.
[[nodiscard]] FrameHeader make_header(Opcode opcode, bool fin, bool rsv1, std::uint64_t payload_size) noexcept;

// A close frame's payload: the code, then `reason` cut to the 123 bytes a
// control frame leaves for it, at a UTF-8 character boundary.
[[nodiscard]] std::string close_payload(std::uint16_t code, std::string_view reason);

// How to prepare a message.
struct PrepareOptions {
  // Split the payload into frames of at most this many bytes (0: one
  // frame), so that a large message does not hold up the control frames
  // and other messages behind it for long.
  std::size_t fragment_bytes = 0;
  // Also prepare a compressed form, without context takeover (the only
  // form that can be shared: it is the same for every recipient), for
  // connections that negotiated permessage-deflate. Null: none.
  const DeflateOptions* deflate = nullptr;
};

// One message, framed (and maybe compressed) once, immutable, shared by
// every connection that sends it. Thread-safe to read from many threads.
class PreparedMessage {
 public:
  struct Frame {
    FrameHeader header;
    std::size_t offset = 0;  // of its payload within payload()
    std::size_t size = 0;
  };

  // A text or binary message, or a control frame (ping, pong, close;
  // payload at most 125 bytes, never fragmented nor compressed).
  [[nodiscard]] static std::shared_ptr<const PreparedMessage> make(Opcode opcode, std::string payload,
                                                                   const PrepareOptions& options = {});

  [[nodiscard]] Opcode opcode() const noexcept { return opcode_; }
  // Whether a compressed form exists, and the window it was made with.
  [[nodiscard]] bool has_compressed() const noexcept { return !compressed_frames_.empty(); }
  [[nodiscard]] int compressed_window_bits() const noexcept { return compressed_window_bits_; }
  [[nodiscard]] const std::string& payload(bool compressed) const noexcept {
    return compressed ? compressed_ : payload_;
  }
  [[nodiscard]] std::span<const Frame> frames(bool compressed) const noexcept {
    const Frames& f = compressed ? compressed_frames_ : frames_;
    return {f.data(), f.size()};
  }
  // Bytes to send as they are, with no frame header (the handshake's
  // HTTP response, queued ahead of the first frames).
  [[nodiscard]] static std::shared_ptr<const PreparedMessage> raw(std::string bytes);

  // The uncompressed payload's size.
  [[nodiscard]] std::size_t size() const noexcept { return payload_.size(); }

 private:
  // Most messages are one frame: its header lives inside the object, with
  // no allocation of its own.
  using Frames = boost::container::small_vector<Frame, 1>;
  Opcode opcode_ = Opcode::kText;
  std::string payload_;
  Frames frames_;
  std::string compressed_;
  Frames compressed_frames_;
  int compressed_window_bits_ = 0;
  friend std::shared_ptr<const PreparedMessage> prepare_compressed(Opcode, std::string, std::size_t);
  friend Frames frame_payload(Opcode, bool, std::size_t, std::size_t);
};
using SharedMessage = std::shared_ptr<const PreparedMessage>;

// A message compressed with one connection's own deflate stream (context
// takeover): `compressed` (without the 00 00 FF FF tail) framed for that
// connection only.
[[nodiscard]] SharedMessage prepare_compressed(Opcode opcode, std::string compressed, std::size_t fragment_bytes);

// The frames one connection has yet to send, in order. Not thread-safe:
// used on the connection's strand.
class OutboundQueue {
 public:
  // `max_bytes`: the most payload and header bytes queued at once.
  explicit OutboundQueue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // Queues `message` (its compressed form when `compressed`). False, and
  // nothing queued, when that would pass max_bytes; control frames (`force`)
  // are always queued.
  [[nodiscard]] bool push(SharedMessage message, bool compressed, bool force = false);

  // Appends buffers for the queued bytes, from the first not yet written,
  // to `out`: at most `max_buffers` (an iovec array's size) of them.
  void gather(std::vector<boost::asio::const_buffer>& out, std::size_t max_buffers = 64) const;

  // Marks `bytes` as written (what a write of gather()'s buffers wrote).
  // When everything is written, the queue frees its memory.
  void consume(std::size_t bytes);

  [[nodiscard]] bool empty() const noexcept { return head_ == entries_.size(); }
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

 private:
  struct Entry {
    SharedMessage message;
    bool compressed = false;
    std::uint32_t frame = 0;  // the frame being written
    std::size_t written = 0;  // of that frame's header and payload
  };
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::size_t head_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace parley::wsproto
