#include "wsproto/reader.hpp"

#include <algorithm>
#include <cstring>

namespace parley::wsproto {
namespace {

bool is_control(Opcode op) { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

}  // namespace

void unmask(std::uint8_t* data, std::size_t size, const std::uint8_t key[4], std::uint64_t offset) noexcept {
  std::uint8_t k[8];
  for (int i = 0; i < 8; ++i) k[i] = key[(offset + static_cast<std::uint64_t>(i)) & 3];
  std::uint64_t word_key;
  std::memcpy(&word_key, k, 8);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);
    word ^= word_key;
    std::memcpy(data + i, &word, 8);
  }
  for (; i < size; ++i) data[i] ^= k[i & 7];
}

Reader::Reader(const Limits& limits, const DeflateParams* deflate) : limits_(limits) {
  if (deflate) {
    deflate_ = true;
    client_takeover_ = !deflate->client_no_context_takeover;
    client_window_bits_ = deflate->client_max_window_bits;
  }
}

Reader::~Reader() = default;

bool Reader::idle() const noexcept { return state_ != State::kPayload && header_size_ == 0 && !in_message_; }

void Reader::release_message() {
  std::string().swap(message_);
  pooled_inflater_.reset();
  in_message_ = false;
}

Error Reader::feed(const std::uint8_t* data, std::size_t size, ReaderHandler& handler) {
  while (true) {
    switch (state_) {
      case State::kFailed:
        return error_;
      case State::kClosed:
        return Error::kOk;  // nothing after the close frame counts
      case State::kHeader: {
        if (size == 0) return Error::kOk;
        // Take only what the header needs: two bytes, then as many more as
        // they announce.
        bool complete = false;
        while (size > 0 && !complete) {
          header_[header_size_++] = *data++;
          --size;
          if (Error e = parse_header(handler, complete); e != Error::kOk) return fail(e);
        }
        if (!complete) return Error::kOk;  // the rest of the header comes later
        continue;
      }
      case State::kPayload: {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size));
        if (n > 0) {
          if (Error e = payload_chunk(data, n); e != Error::kOk) return fail(e);
          data += n;
          size -= n;
          remaining_ -= n;
        }
        if (remaining_ == 0) {
          if (Error e = end_frame(handler); e != Error::kOk) return fail(e);
          continue;
        }
        return Error::kOk;
      }
    }
  }
}

// Checks the header as far as its bytes have come; `complete` once all of
// it is in (then the frame's payload begins, or an empty frame ends).
Error Reader::parse_header(ReaderHandler& handler, bool& complete) {
  if (header_size_ == 2) {
    std::uint8_t b0 = header_[0], b1 = header_[1];
    fin_ = (b0 & 0x80) != 0;
    rsv1_ = (b0 & 0x40) != 0;
    if ((b0 & 0x30) != 0) return Error::kReservedBits;
    std::uint8_t op = b0 & 0x0F;
    if ((op > 2 && op < 8) || op > 10) return Error::kReservedOpcode;
    opcode_ = static_cast<Opcode>(op);
    if ((b1 & 0x80) == 0) return Error::kUnmaskedFrame;
    std::uint8_t len7 = b1 & 0x7F;
    if (is_control(opcode_)) {
      if (!fin_) return Error::kFragmentedControl;
      if (len7 > 125) return Error::kControlTooLong;
      if (rsv1_) return Error::kReservedBits;
    } else if (opcode_ == Opcode::kContinuation) {
      if (!in_message_) return Error::kUnexpectedContinuation;
      if (rsv1_) return Error::kReservedBits;  // RFC 7692 §6.1: only on a message's first frame
    } else {
      if (in_message_) return Error::kExpectedContinuation;
      if (rsv1_ && !deflate_) return Error::kReservedBits;
    }
  }
  if (header_size_ < 2) return Error::kOk;
  std::uint8_t len7 = header_[1] & 0x7F;
  std::size_t length_bytes = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  if (header_size_ < 2 + length_bytes + 4) return Error::kOk;
  // The whole header is in.
  std::uint64_t length = len7;
  if (length_bytes == 2) {
    length = (std::uint64_t{header_[2]} << 8) | header_[3];
    if (length < 126) return Error::kBadLength;  // RFC 6455 §5.2: the minimal encoding
  } else if (length_bytes == 8) {
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | header_[2 + i];
    if (length >> 63) return Error::kBadLength;
    if (length <= 0xFFFF) return Error::kBadLength;
  }
  std::memcpy(mask_, header_ + 2 + length_bytes, 4);
  header_size_ = 0;
  remaining_ = length;
  mask_offset_ = 0;
  complete = true;
  if (Error e = begin_frame(); e != Error::kOk) return e;
  if (remaining_ == 0) return end_frame(handler);
  state_ = State::kPayload;
  return Error::kOk;
}

Error Reader::begin_frame() {
  if (is_control(opcode_)) {
    control_size_ = 0;
    // remaining_ <= 125: checked with the header.
    if (remaining_ > 0) control_ = std::make_unique_for_overwrite<std::uint8_t[]>(remaining_);
    return Error::kOk;
  }
  if (remaining_ > limits_.max_frame_bytes) return Error::kFrameTooBig;
  if (opcode_ != Opcode::kContinuation) {
    in_message_ = true;
    message_text_ = opcode_ == Opcode::kText;
    message_compressed_ = rsv1_;
    utf8_.reset();
    if (message_compressed_) {
      if (client_takeover_) {
        if (!own_inflater_) own_inflater_ = std::make_unique<Inflater>(client_window_bits_);
      } else {
        pooled_inflater_ = take_pooled_inflater();
      }
    }
  }
  // An uncompressed message's size is known from its headers: refuse it
  // before reading (and storing) its payload.
  if (!message_compressed_ && message_.size() + remaining_ > limits_.max_message_bytes) return Error::kMessageTooBig;
  return Error::kOk;
}

Error Reader::payload_chunk(const std::uint8_t* data, std::size_t size) {
  if (is_control(opcode_)) {
    std::memcpy(control_.get() + control_size_, data, size);
    unmask(control_.get() + control_size_, size, mask_, mask_offset_);
    control_size_ = static_cast<std::uint8_t>(control_size_ + size);
    mask_offset_ += size;
    return Error::kOk;
  }
  if (!message_compressed_) {
    std::size_t old = message_.size();
    message_.append(reinterpret_cast<const char*>(data), size);
    auto* out = reinterpret_cast<std::uint8_t*>(message_.data()) + old;
    unmask(out, size, mask_, mask_offset_);
    mask_offset_ += size;
    if (message_text_ && !utf8_.feed(out, size)) return Error::kInvalidUtf8;
    return Error::kOk;
  }
  Inflater& inflater = own_inflater_ ? *own_inflater_ : *pooled_inflater_;
  std::uint8_t chunk[4096];
  while (size > 0) {
    std::size_t n = std::min(size, sizeof chunk);
    std::memcpy(chunk, data, n);
    unmask(chunk, n, mask_, mask_offset_);
    mask_offset_ += n;
    data += n;
    size -= n;
    Utf8Validator* utf8 = message_text_ ? &utf8_ : nullptr;
    if (Error e = inflater.inflate(chunk, n, message_, limits_.max_message_bytes, utf8); e != Error::kOk) return e;
  }
  return Error::kOk;
}

Error Reader::end_frame(ReaderHandler& handler) {
  state_ = State::kHeader;
  // A control frame's payload is released once its handler has seen it.
  auto control_buffer = std::move(control_);
  const std::uint8_t* control = control_buffer.get();
  switch (opcode_) {
    case Opcode::kPing:
      handler.on_ping({reinterpret_cast<const char*>(control), control_size_});
      return Error::kOk;
    case Opcode::kPong:
      handler.on_pong({reinterpret_cast<const char*>(control), control_size_});
      return Error::kOk;
    case Opcode::kClose: {
      std::uint16_t code = close_code::kNoStatus;
      std::string_view reason;
      if (control_size_ == 1) return Error::kBadCloseFrame;
      if (control_size_ >= 2) {
        code = static_cast<std::uint16_t>((control[0] << 8) | control[1]);
        if (!is_valid_close_code(code)) return Error::kBadCloseFrame;
        reason = {reinterpret_cast<const char*>(control + 2), control_size_ - 2u};
        if (!is_valid_utf8(reason)) return Error::kInvalidUtf8;
      }
      state_ = State::kClosed;
      release_message();
      handler.on_close(code, reason);
      return Error::kOk;
    }
    default:
      break;
  }
  if (!fin_) return Error::kOk;
  if (message_compressed_) {
    Inflater& inflater = own_inflater_ ? *own_inflater_ : *pooled_inflater_;
    Utf8Validator* utf8 = message_text_ ? &utf8_ : nullptr;
    if (Error e = inflater.finish(message_, limits_.max_message_bytes, utf8); e != Error::kOk) return e;
    pooled_inflater_.reset();  // back to the pool, reset
  }
  if (message_text_ && !utf8_.complete()) return Error::kInvalidUtf8;
  in_message_ = false;
  std::string message = std::move(message_);
  message_ = std::string();
  handler.on_message(message_text_ ? Opcode::kText : Opcode::kBinary, std::move(message));
  return Error::kOk;
}

}  // namespace parley::wsproto
