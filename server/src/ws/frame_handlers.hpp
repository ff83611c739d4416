// The frames a client sends on /ws (docs/protocol.md), from text to a
// validated request: one handler per frame type, in a table keyed by the
// frame's "type".
//
// Parsing is apart from doing. Everything here is a pure function of the
// frame's text: no connection, no database, no clock, so that it can be
// tested and fuzzed on its own (tests/fuzz/fuzz_ws_frame.cpp). What a
// request then does (a database write, a typing fan-out, a pong) is the
// session's business (ws/websocket_server.cpp), which visits the Request.
//
// Thread-safe: no state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "messaging/messages.hpp"
#include "storage/records.hpp"

namespace parley::ws {

// ---- the requests, one per frame type ----------------------------------------

struct SendRequest {  // "send"
  messaging::SendRequest message;
};
struct EditRequest {  // "edit"
  storage::MessageId message_id = 0;
  std::string text;
};
struct DeleteRequest {  // "delete"
  storage::MessageId message_id = 0;
};
struct ReactRequest {  // "react"
  storage::MessageId message_id = 0;
  std::string emoji;
  bool remove = false;
};
struct ReceiptRequest {  // "read" (read = true) and "delivered"
  storage::ConversationId conversation_id = 0;
  storage::Seq seq = 0;
  bool read = false;
};
struct TypingRequest {  // "typing"
  storage::ConversationId conversation_id = 0;
};
struct PingRequest {};  // "ping"

using Request =
    std::variant<SendRequest, EditRequest, DeleteRequest, ReactRequest, ReceiptRequest, TypingRequest, PingRequest>;

// A frame's "ref" (echoed in the answer) has at most this many bytes.
inline constexpr std::size_t kMaxRefBytes = 64;
// How much of a client's unknown frame type an error message repeats.
inline constexpr std::size_t kMaxEchoBytes = 32;

// Parses one text frame of a connection that has said hello, and validates
// it as its type's handler says (fields, types, lengths; not what needs the
// database, such as membership). Throws ApiError with the code the client is
// to get: kMalformedRequest (not JSON, or a duplicate member name),
// kValidationFailed (not an object; no, unknown or wrong fields; an unknown
// type), kConflict (a second hello). `ref` receives the frame's ref as soon
// as it is read and valid, so that the answer (an error about the rest of the
// frame, or the request's reply) can name the frame.
[[nodiscard]] Request parse_client_frame(std::string_view text, std::optional<std::string>& ref);

// The first frame: {"type":"hello","token"?,"position"?}.
struct Hello {
  std::optional<std::string> token;
  std::optional<storage::Position> position;
};

// Parses the hello. Throws ApiError: kMalformedRequest when it is not a JSON
// object, kValidationFailed when it is not a valid hello.
[[nodiscard]] Hello parse_hello(std::string_view text);

// The frame types the table knows (including "hello", which is refused once
// a connection said it), in the table's order.
[[nodiscard]] std::span<const std::string_view> frame_types();

// `text` cut to at most `max_bytes` bytes on a UTF-8 character boundary, with
// "…" appended if anything was cut; invalid UTF-8 is replaced by "?" bytes,
// so that what a client sent can be quoted in an error message safely.
[[nodiscard]] std::string quote_for_error(std::string_view text, std::size_t max_bytes = kMaxEchoBytes);

}  // namespace parley::ws
