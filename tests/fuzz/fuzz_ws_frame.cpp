// Fuzzes a WebSocket text frame through what the server does with it before
// any database or connection is involved (ws/frame_handlers.cpp): parsing,
// the duplicate-key check, the table of frame handlers for every type, and
// the hello parser.
//
// Oracles besides the sanitizers: a frame is either a Request or an
// ApiError of the documented codes, whose message is UTF-8 (it goes into an
// error frame) and short; an accepted frame's ref is at most 64 bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "core/error.hpp"
#include "core/validation.hpp"
#include "ws/frame_handlers.hpp"

namespace {

using parley::ApiError;
using parley::ErrorCode;

void check_refusal(const ApiError& e) {
  switch (e.code()) {
    case ErrorCode::kMalformedRequest:
    case ErrorCode::kValidationFailed:
    case ErrorCode::kConflict:  // a second hello
      break;
    default:
      std::abort();
  }
  std::string_view message = e.what();
  if (!parley::validation::is_valid_utf8(message)) std::abort();
  // Nothing of unbounded size is quoted: field names up to 64 bytes, types
  // up to 32, and the fixed text around them.
  if (message.size() > 256) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  std::optional<std::string> ref;
  try {
    auto request = parley::ws::parse_client_frame(text, ref);
    if (ref && ref->size() > parley::ws::kMaxRefBytes) std::abort();
    std::visit(
        [](const auto& request) {
          using T = std::decay_t<decltype(request)>;
          if constexpr (std::is_same_v<T, parley::ws::SendRequest>) {
            if (request.message.conversation_id <= 0) std::abort();
          } else if constexpr (std::is_same_v<T, parley::ws::ReceiptRequest>) {
            if (request.conversation_id <= 0 || request.seq <= 0) std::abort();
          }
        },
        request);
  } catch (const ApiError& e) {
    check_refusal(e);
    if (ref && ref->size() > parley::ws::kMaxRefBytes) std::abort();
  }

  try {
    auto hello = parley::ws::parse_hello(text);
    if (hello.position && *hello.position < 0) std::abort();
  } catch (const ApiError& e) {
    check_refusal(e);
  }

  // What an error message may quote of a client's text.
  auto quoted = parley::ws::quote_for_error(text, size % 40);
  if (!parley::validation::is_valid_utf8(quoted) || quoted.size() > size % 40 + 3) std::abort();
  return 0;
}
