#include "wsproto/writer.hpp"

#include <algorithm>
#include <stdexcept>

#include "wsproto/utf8.hpp"

namespace parley::wsproto {
PreparedMessage::Frames frame_payload(Opcode opcode, bool rsv1, std::size_t size, std::size_t fragment_bytes) {
  PreparedMessage::Frames frames;
  if (fragment_bytes == 0 || size <= fragment_bytes) {
    frames.push_back({make_header(opcode, true, rsv1, size), 0, size});
    return frames;
  }
  frames.reserve((size + fragment_bytes - 1) / fragment_bytes);
  for (std::size_t offset = 0; offset < size; offset += fragment_bytes) {
    std::size_t n = std::min(fragment_bytes, size - offset);
    bool first = offset == 0, last = offset + n == size;
    frames.push_back({make_header(first ? opcode : Opcode::kContinuation, last, first && rsv1, n), offset, n});
  }
  return frames;
}

namespace {

bool is_control(Opcode op) { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

}  // namespace

FrameHeader make_header(Opcode opcode, bool fin, bool rsv1, std::uint64_t payload_size) noexcept {
  FrameHeader h;
  h.bytes[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<std::uint8_t>(opcode));
  if (payload_size < 126) {
    h.bytes[1] = static_cast<std::uint8_t>(payload_size);
    h.size = 2;
  } else if (payload_size <= 0xFFFF) {
    h.bytes[1] = 126;
    h.bytes[2] = static_cast<std::uint8_t>(payload_size >> 8);
    h.bytes[3] = static_cast<std::uint8_t>(payload_size);
    h.size = 4;
  } else {
    h.bytes[1] = 127;
    for (int i = 0; i < 8; ++i) h.bytes[2 + i] = static_cast<std::uint8_t>(payload_size >> (56 - 8 * i));
    h.size = 10;
  }
  return h;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  if (reason.size() > 123) {
    std::size_t cut = 123;
    // Back up over continuation bytes to the start of the cut character.
    while (cut > 0 && (static_cast<std::uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  std::string out;
  out.reserve(2 + reason.size());
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason);
  return out;
}

SharedMessage PreparedMessage::make(Opcode opcode, std::string payload, const PrepareOptions& options) {
  auto m = std::make_shared<PreparedMessage>();
  m->opcode_ = opcode;
  if (is_control(opcode)) {
    if (payload.size() > 125) throw std::invalid_argument("control frame payload over 125 bytes");
    m->frames_ = frame_payload(opcode, false, payload.size(), 0);
  } else {
    m->frames_ = frame_payload(opcode, false, payload.size(), options.fragment_bytes);
    if (options.deflate && options.deflate->enabled && payload.size() >= options.deflate->min_compress_bytes) {
      const DeflateOptions& d = *options.deflate;
      int bits = std::clamp(d.max_window_bits, 9, 15);
      m->compressed_ = thread_deflater(bits, d.mem_level, d.level).compress(payload, true);
      m->compressed_window_bits_ = bits;
      m->compressed_frames_ = frame_payload(opcode, true, m->compressed_.size(), options.fragment_bytes);
    }
  }
  m->payload_ = std::move(payload);
  return m;
}

SharedMessage PreparedMessage::raw(std::string bytes) {
  auto m = std::make_shared<PreparedMessage>();
  m->opcode_ = Opcode::kContinuation;
  m->frames_.push_back({FrameHeader{}, 0, bytes.size()});
  m->payload_ = std::move(bytes);
  return m;
}

SharedMessage prepare_compressed(Opcode opcode, std::string compressed, std::size_t fragment_bytes) {
  auto m = std::make_shared<PreparedMessage>();
  m->opcode_ = opcode;
  // Stored as the "uncompressed" form of a message that only this
  // connection sends, with RSV1 set in its first header.
  m->frames_ = frame_payload(opcode, true, compressed.size(), fragment_bytes);
  m->payload_ = std::move(compressed);
  return m;
}

bool OutboundQueue::push(SharedMessage message, bool compressed, bool force) {
  std::size_t size = 0;
  for (const auto& frame : message->frames(compressed)) size += frame.header.size + frame.size;
  if (!force && bytes_ + size > max_bytes_) return false;
  bytes_ += size;
  entries_.push_back({std::move(message), compressed, 0, 0});
  return true;
}

void OutboundQueue::gather(std::vector<boost::asio::const_buffer>& out, std::size_t max_buffers) const {
  std::size_t added = 0;
  for (std::size_t i = head_; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    auto frames = e.message->frames(e.compressed);
    const std::string& payload = e.message->payload(e.compressed);
    for (std::size_t f = e.frame; f < frames.size(); ++f) {
      const auto& frame = frames[f];
      std::size_t skip = f == e.frame ? e.written : 0;
      if (skip < frame.header.size) {
        if (added == max_buffers) return;
        out.emplace_back(frame.header.bytes.data() + skip, frame.header.size - skip);
        ++added;
        skip = 0;
      } else {
        skip -= frame.header.size;
      }
      if (frame.size > skip) {
        if (added == max_buffers) return;
        out.emplace_back(payload.data() + frame.offset + skip, frame.size - skip);
        ++added;
      }
    }
  }
}

void OutboundQueue::consume(std::size_t bytes) {
  bytes_ -= std::min(bytes, bytes_);
  while (bytes > 0 && head_ < entries_.size()) {
    Entry& e = entries_[head_];
    auto frames = e.message->frames(e.compressed);
    std::size_t frame_total = frames[e.frame].header.size + frames[e.frame].size;
    std::size_t n = std::min(bytes, frame_total - e.written);
    e.written += n;
    bytes -= n;
    if (e.written == frame_total) {
      e.written = 0;
      if (++e.frame == frames.size()) {
        e.message.reset();
        ++head_;
      }
    }
  }
  if (head_ == entries_.size()) {
    // Idle connections hold no queue memory.
    std::vector<Entry>().swap(entries_);
    head_ = 0;
    bytes_ = 0;
  }
}

}  // namespace parley::wsproto
