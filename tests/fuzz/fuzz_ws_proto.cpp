// Fuzzes Parley's WebSocket layer (server/src/wsproto) without sockets: the
// bytes of one client connection through the Reader (frame parsing,
// unmasking, fragment assembly, UTF-8 checks, permessage-deflate inflating
// with its limits), and the extension offer parser of the handshake.
//
// Input: byte 0 chooses the set-up (bit 0: deflate negotiated, bit 1: client
// context takeover, bit 2: small limits, bit 3: the rest is also a
// Sec-WebSocket-Extensions offer); byte 1 the size of the pieces the rest is
// fed in (0: whole).
//
// Oracles besides the sanitizers:
//   - a split anywhere gives the same result: the same events and the same
//     error, fed whole and in pieces;
//   - every text message and close reason is valid UTF-8, every message
//     within max_message_bytes, every control payload within 125 bytes,
//     every close code one that may be sent;
//   - after an error or a close frame, nothing more is reported;
//   - an accepted extension offer yields a response that is itself an
//     acceptable offer with the same parameters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "wsproto/deflate.hpp"
#include "wsproto/reader.hpp"
#include "wsproto/utf8.hpp"

namespace {

using namespace parley::wsproto;

struct Checker : ReaderHandler {
  std::vector<std::string> events;
  Limits limits;
  bool ended = false;
  void on_message(Opcode opcode, std::string&& payload) override {
    if (ended) std::abort();
    if (payload.size() > limits.max_message_bytes) std::abort();
    if (opcode == Opcode::kText) {
      if (!is_valid_utf8(payload)) std::abort();
    } else if (opcode != Opcode::kBinary) {
      std::abort();
    }
    events.push_back(std::to_string(static_cast<int>(opcode)) + ":" + payload);
  }
  void on_ping(std::string_view payload) override {
    if (ended || payload.size() > 125) std::abort();
    events.push_back("ping:" + std::string(payload));
  }
  void on_pong(std::string_view payload) override {
    if (ended || payload.size() > 125) std::abort();
    events.push_back("pong:" + std::string(payload));
  }
  void on_close(std::uint16_t code, std::string_view reason) override {
    if (ended) std::abort();
    if (code != close_code::kNoStatus && !is_valid_close_code(code)) std::abort();
    if (!is_valid_utf8(reason) || reason.size() > 123) std::abort();
    ended = true;
    events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
  }
};

Error run(const std::uint8_t* data, std::size_t size, std::size_t piece, const Limits& limits,
          const DeflateParams* deflate, Checker& checker) {
  Reader reader(limits, deflate);
  checker.limits = limits;
  Error first = Error::kOk;
  if (piece == 0) piece = size ? size : 1;
  for (std::size_t i = 0; i < size; i += piece) {
    std::size_t n = std::min(piece, size - i);
    Error e = reader.feed(data + i, n, checker);
    if (first == Error::kOk && e != Error::kOk) {
      first = e;
      checker.ended = true;
    }
    // A failed reader keeps failing with the same error.
    if (first != Error::kOk && e != first) std::abort();
  }
  if (first == Error::kOk && reader.closed() != checker.ended) std::abort();
  return first;
}

void check_offer(std::string_view header) {
  DeflateOptions options;
  options.enabled = true;
  for (bool takeover : {false, true}) {
    options.context_takeover = takeover;
    auto params = negotiate_deflate(header, options);
    if (!params) continue;
    if (params->server_max_window_bits < 9 || params->server_max_window_bits > 15) std::abort();
    if (params->client_max_window_bits < 8 || params->client_max_window_bits > 15) std::abort();
    std::string response = deflate_response(*params);
    auto again = negotiate_deflate(response, options);
    if (!again || again->server_max_window_bits != params->server_max_window_bits ||
        again->server_no_context_takeover != params->server_no_context_takeover ||
        again->client_no_context_takeover != params->client_no_context_takeover) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::uint8_t setup = data[0];
  std::size_t piece = data[1];
  data += 2;
  size -= 2;
  if (setup & 8) check_offer({reinterpret_cast<const char*>(data), std::min<std::size_t>(size, 512)});

  Limits limits;
  if (setup & 4) limits = {.max_frame_bytes = 300, .max_message_bytes = 1000};
  DeflateParams params;
  params.client_no_context_takeover = (setup & 2) == 0;
  const DeflateParams* deflate = (setup & 1) ? &params : nullptr;

  Checker whole, split;
  Error e1 = run(data, size, 0, limits, deflate, whole);
  Error e2 = run(data, size, piece, limits, deflate, split);
  if (e1 != e2 || whole.events != split.events) std::abort();
  return 0;
}
