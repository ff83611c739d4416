// The errors of the WebSocket layer (RFC 6455, RFC 7692) and the close code
// each one is answered with.
//
// A peer that breaks the protocol gets one of these; the connection answers
// it with the close frame `close_code(e)` names and then closes. They are
// boost::system error codes so that they travel through Asio completion
// handlers beside the socket's own errors.
#pragma once

#include <boost/system/error_code.hpp>
#include <cstdint>
#include <system_error>

namespace parley::wsproto {

// Close codes of RFC 6455 §7.4.1 that this layer sends itself.
namespace close_code {
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kGoingAway = 1001;
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kUnsupportedData = 1003;
// Never sent on the wire: "the close frame carried no code".
inline constexpr std::uint16_t kNoStatus = 1005;
// Never sent on the wire: "the connection ended without a close frame".
inline constexpr std::uint16_t kAbnormal = 1006;
inline constexpr std::uint16_t kInvalidPayload = 1007;
inline constexpr std::uint16_t kPolicyViolation = 1008;
inline constexpr std::uint16_t kMessageTooBig = 1009;
inline constexpr std::uint16_t kInternalError = 1011;
}  // namespace close_code

enum class Error {
  kOk = 0,
  // Framing (answered with 1002).
  kReservedBits = 1,        // RSV1 without a negotiated extension, RSV2, RSV3
  kReservedOpcode,          // opcodes 3-7 and 11-15
  kUnmaskedFrame,           // a client frame without a mask
  kFragmentedControl,       // a control frame without FIN
  kControlTooLong,          // a control frame's payload over 125 bytes
  kBadLength,               // a 64-bit length with the top bit set, or not minimally encoded
  kUnexpectedContinuation,  // a continuation frame with no message begun
  kExpectedContinuation,    // a text or binary frame while a message is unfinished
  kBadCloseFrame,           // a close payload of one byte, or an invalid close code
  // Content (answered with 1007).
  kInvalidUtf8,  // a text message or a close reason that is not UTF-8
  kBadDeflate,   // compressed data that does not inflate
  // Limits (answered with 1009).
  kFrameTooBig,    // one frame's payload over Limits::max_frame_bytes
  kMessageTooBig,  // a message (inflated, if compressed) over Limits::max_message_bytes
  // Connection.
  kClosed,           // the close handshake finished; no more data
  kHandshakeFailed,  // the HTTP upgrade request is not a valid WebSocket handshake
  kTimeout,          // handshake, close handshake or idle time ran out
  kQueueFull,        // the peer reads too slowly: its outbound queue passed its limit
};

// The category of Error, named "parley.wsproto".
[[nodiscard]] const boost::system::error_category& error_category() noexcept;

[[nodiscard]] inline boost::system::error_code make_error_code(Error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// The close code a connection answers `e` with (1002, 1007, 1009, ...).
[[nodiscard]] std::uint16_t close_code_for(Error e) noexcept;

// Whether `code`, received in a close frame, may be sent on the wire
// (RFC 6455 §7.4: 1000-1003, 1007-1014 and 3000-4999; never 1004-1006 or
// 1015, nothing below 1000, nothing of 1016-2999 nor from 5000).
[[nodiscard]] bool is_valid_close_code(std::uint16_t code) noexcept;

}  // namespace parley::wsproto

namespace boost::system {
template <>
struct is_error_code_enum<parley::wsproto::Error> : std::true_type {};
}  // namespace boost::system
