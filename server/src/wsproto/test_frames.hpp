// Test helpers (tests only): client frames built byte by byte as RFC 6455
// §5.2 draws them, and a ReaderHandler that records what a Reader found.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wsproto/reader.hpp"

namespace parley::wsproto::testing {

struct FrameSpec {
  std::uint8_t opcode = 1;
  std::string payload = {};
  bool fin = true;
  std::uint8_t rsv = 0;  // bits 0b100 RSV1, 0b010 RSV2, 0b001 RSV3
  bool masked = true;
  // 0: the minimal length encoding; 2 or 8: force that many length bytes.
  int length_bytes = 0;
  std::uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
};

inline std::string frame(const FrameSpec& s) {
  std::string out;
  out.push_back(static_cast<char>((s.fin ? 0x80 : 0) | (s.rsv << 4) | s.opcode));
  std::uint64_t n = s.payload.size();
  int lb = s.length_bytes ? s.length_bytes : n < 126 ? 0 : n <= 0xFFFF ? 2 : 8;
  std::uint8_t mask_bit = s.masked ? 0x80 : 0;
  if (lb == 0) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (lb == 2) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(n >> (56 - 8 * i)));
  }
  if (s.masked) {
    out.append(reinterpret_cast<const char*>(s.key), 4);
    for (std::size_t i = 0; i < s.payload.size(); ++i) out.push_back(static_cast<char>(s.payload[i] ^ s.key[i & 3]));
  } else {
    out += s.payload;
  }
  return out;
}

inline std::string text(std::string payload, bool fin = true) {
  return frame({.opcode = 1, .payload = std::move(payload), .fin = fin});
}
inline std::string binary(std::string payload, bool fin = true) {
  return frame({.opcode = 2, .payload = std::move(payload), .fin = fin});
}
inline std::string cont(std::string payload, bool fin = true) {
  return frame({.opcode = 0, .payload = std::move(payload), .fin = fin});
}
inline std::string ping(std::string payload = {}) { return frame({.opcode = 9, .payload = std::move(payload)}); }
inline std::string pong(std::string payload = {}) { return frame({.opcode = 10, .payload = std::move(payload)}); }
inline std::string close(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code));
  p += reason;
  return frame({.opcode = 8, .payload = p});
}
inline std::string close_raw(std::string payload) { return frame({.opcode = 8, .payload = std::move(payload)}); }

// What a Reader reported, in order, as short strings: "text:hello",
// "binary:<n bytes>", "ping:x", "pong:x", "close:1000:reason".
struct Recorder : ReaderHandler {
  std::vector<std::string> events;
  std::vector<std::string> messages;
  void on_message(Opcode opcode, std::string&& payload) override {
    events.push_back((opcode == Opcode::kText ? "text:" : "binary:") +
                     (payload.size() > 64 ? std::to_string(payload.size()) + " bytes" : payload));
    messages.push_back(std::move(payload));
  }
  void on_ping(std::string_view payload) override { events.push_back("ping:" + std::string(payload)); }
  void on_pong(std::string_view payload) override { events.push_back("pong:" + std::string(payload)); }
  void on_close(std::uint16_t code, std::string_view reason) override {
    events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
  }
};

// Feeds `bytes` to `reader` in pieces of `chunk` bytes (0: all at once);
// the first error, or kOk.
inline Error feed(Reader& reader, std::string_view bytes, ReaderHandler& handler, std::size_t chunk = 0) {
  if (chunk == 0) chunk = bytes.size() ? bytes.size() : 1;
  for (std::size_t i = 0; i < bytes.size(); i += chunk) {
    std::string_view piece = bytes.substr(i, chunk);
    Error e = reader.feed(reinterpret_cast<const std::uint8_t*>(piece.data()), piece.size(), handler);
    if (e != Error::kOk) return e;
  }
  return Error::kOk;
}

}  // namespace parley::wsproto::testing
