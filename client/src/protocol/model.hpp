// The server's JSON shapes (docs/protocol.md "Events", docs/openapi.yaml
// components/schemas) read into the public value types, and the frames the
// engine sends. Everything here is pure: no I/O, no engine state.
//
// Reading is strict about what the engine needs (a missing or mistyped field
// throws ProtocolError, and the caller applies nothing of that frame or
// reply) and lenient about the rest (unknown fields are ignored, as the
// protocol asks of clients).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "parley/error.hpp"
#include "parley/types.hpp"

namespace parley::protocol {

// The server sent something the protocol does not allow.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Limits on what the engine accepts from the network.
inline constexpr std::size_t kMaxFrameBytes = 1 << 20;      // a WebSocket message
inline constexpr std::size_t kMaxRestBodyBytes = 32 << 20;  // a REST reply (a page of 200 messages fits easily)

// Field access that throws ProtocolError naming the field.
const boost::json::object& as_object(const boost::json::value& value, std::string_view what);
const boost::json::object& get_object(const boost::json::object& object, std::string_view key);
const boost::json::array& get_array(const boost::json::object& object, std::string_view key);
std::int64_t get_int(const boost::json::object& object, std::string_view key);
std::optional<std::int64_t> get_optional_int(const boost::json::object& object, std::string_view key);
std::string get_string(const boost::json::object& object, std::string_view key);
std::optional<std::string> get_optional_string(const boost::json::object& object, std::string_view key);
bool get_bool(const boost::json::object& object, std::string_view key, std::optional<bool> fallback = {});

User parse_user(const boost::json::value& value);
Member parse_member(const boost::json::value& value);
Message parse_message(const boost::json::value& value);
Role parse_role(std::string_view role);
std::string_view role_name(Role role);

// A conversation's own fields (Conversation, ConversationDetail or
// ConversationSummary: the extra fields are read when present).
Conversation parse_conversation(const boost::json::value& value);

// Parses a whole text as one JSON value; ProtocolError if it is not JSON.
boost::json::value parse_json(std::string_view text);

// The error of a REST reply or an error frame: {"error":{"code","message"}}
// or {"code","message"}.
Error parse_error(const boost::json::value& body, int http_status);

// Validation the engine does before queueing a message, so that what the
// server would refuse for good is refused at once (docs/protocol.md "send").
std::optional<std::string> check_message_text(std::string_view text, bool text_optional);

// A new client message id: 128 random bits in base64url (22 characters).
std::string new_client_id();

// Serialises message fields the canonical way (stable key order), as the
// store keeps them.
std::string reactions_json(const std::vector<Reaction>& reactions);
std::string attachments_json(const std::vector<Attachment>& attachments);
std::string ids_json(const std::vector<std::int64_t>& ids);
std::vector<Reaction> reactions_from_json(std::string_view text);
std::vector<Attachment> attachments_from_json(std::string_view text);
std::vector<std::int64_t> ids_from_json(std::string_view text);

}  // namespace parley::protocol
