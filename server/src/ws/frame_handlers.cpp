#include "ws/frame_handlers.hpp"

#include <array>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/ijson.hpp"
#include "core/validation.hpp"
#include "http/json_body.hpp"

namespace parley::ws {
namespace {

using http::JsonBody;

std::int64_t required_id(JsonBody& frame, std::string_view field) {
  auto id = frame.optional_int(field);
  if (!id) throw ApiError(ErrorCode::kValidationFailed, fmt::format("{}: is required", field));
  if (*id <= 0) throw ApiError(ErrorCode::kValidationFailed, fmt::format("{}: must be positive", field));
  return *id;
}

// ---- the handlers: each reads its fields, refuses any other, validates ----------

Request parse_send(JsonBody& frame) {
  SendRequest r;
  r.message.conversation_id = required_id(frame, "conversation_id");
  r.message.client_id = frame.required_string("client_id");
  // Optional when there are attachments (validate_send refuses neither).
  r.message.text = frame.optional_string("text").value_or("");
  if (auto reply = frame.optional_int("reply_to")) r.message.reply_to = *reply;
  if (auto files = frame.optional_string_array("attachments", messaging::kMaxAttachments)) {
    r.message.attachments = std::move(*files);
  }
  r.message.sticker = frame.optional_int("sticker");
  frame.reject_unknown_fields();
  messaging::validate_send(r.message);
  return r;
}

Request parse_edit(JsonBody& frame) {
  EditRequest r;
  r.message_id = required_id(frame, "message_id");
  r.text = frame.required_string("text");
  frame.reject_unknown_fields();
  messaging::validate_text(r.text);
  return r;
}

Request parse_delete(JsonBody& frame) {
  DeleteRequest r;
  r.message_id = required_id(frame, "message_id");
  frame.reject_unknown_fields();
  return r;
}

Request parse_react(JsonBody& frame) {
  ReactRequest r;
  r.message_id = required_id(frame, "message_id");
  r.emoji = frame.required_string("emoji");
  r.remove = frame.optional_bool("remove").value_or(false);
  frame.reject_unknown_fields();
  messaging::validate_emoji(r.emoji);
  return r;
}

Request parse_receipt(JsonBody& frame, bool read) {
  ReceiptRequest r;
  r.conversation_id = required_id(frame, "conversation_id");
  r.seq = required_id(frame, "seq");
  r.read = read;
  frame.reject_unknown_fields();
  return r;
}

Request parse_read(JsonBody& frame) { return parse_receipt(frame, true); }
Request parse_delivered(JsonBody& frame) { return parse_receipt(frame, false); }

Request parse_typing(JsonBody& frame) {
  TypingRequest r;
  r.conversation_id = required_id(frame, "conversation_id");
  frame.reject_unknown_fields();
  return r;
}

Request parse_ping(JsonBody& frame) {
  frame.reject_unknown_fields();
  return PingRequest{};
}

[[noreturn]] Request refuse_hello(JsonBody&) { throw ApiError(ErrorCode::kConflict, "already said hello"); }

struct Handler {
  std::string_view type;
  Request (*parse)(JsonBody&);
};

// A dozen entries: a linear scan of short strings beats hashing here.
constexpr std::array kHandlers{
    Handler{"send", parse_send},     Handler{"edit", parse_edit}, Handler{"delete", parse_delete},
    Handler{"react", parse_react},   Handler{"read", parse_read}, Handler{"delivered", parse_delivered},
    Handler{"typing", parse_typing}, Handler{"ping", parse_ping}, Handler{"hello", refuse_hello},
};

constexpr auto kTypes = [] {
  std::array<std::string_view, kHandlers.size()> types{};
  for (std::size_t i = 0; i < kHandlers.size(); ++i) types[i] = kHandlers[i].type;
  return types;
}();

// The length of the UTF-8 sequence starting at text[i] if it is valid, else 0.
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  auto c = static_cast<unsigned char>(text[i]);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  return validation::is_valid_utf8(text.substr(i, n)) ? n : 0;
}

}  // namespace

Request parse_client_frame(std::string_view text, std::optional<std::string>& ref) {
  // Default options, as before the table existed: Beast has checked the
  // frame is UTF-8, and the default depth (32) is far beyond any frame's.
  JsonBody frame(http::parse_object(text, "frame"));
  ref = frame.optional_string("ref");
  if (ref && ref->size() > kMaxRefBytes) {
    ref.reset();
    throw ApiError(ErrorCode::kValidationFailed, fmt::format("ref: must be at most {} bytes", kMaxRefBytes));
  }
  std::string type = frame.required_string("type");
  for (const auto& handler : kHandlers) {
    if (handler.type == type) return handler.parse(frame);
  }
  throw ApiError(ErrorCode::kValidationFailed, fmt::format("type: unknown frame type '{}'", quote_for_error(type)));
}

Hello parse_hello(std::string_view text) {
  auto parsed = ijson::parse(text);
  if (parsed.failure == ijson::Failure::kDuplicateKey) {
    throw ApiError(ErrorCode::kMalformedRequest, "hello: names the same member twice (RFC 7493)");
  }
  if (parsed.failure != ijson::Failure::kNone || !parsed.value.is_object()) {
    throw ApiError(ErrorCode::kMalformedRequest, "hello: not a JSON object");
  }
  JsonBody frame(std::move(parsed.value.as_object()));
  if (frame.required_string("type") != "hello") {
    throw ApiError(ErrorCode::kValidationFailed, "the first frame must be hello");
  }
  Hello hello;
  hello.token = frame.optional_string("token");
  hello.position = frame.optional_int("position");
  frame.reject_unknown_fields();
  if (hello.position && *hello.position < 0) throw ApiError(ErrorCode::kValidationFailed, "position: must be >= 0");
  return hello;
}

std::span<const std::string_view> frame_types() { return kTypes; }

std::string quote_for_error(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 3);
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t n = utf8_sequence(text, i);
    std::size_t take = n == 0 ? 1 : n;
    if (out.size() + take > max_bytes) break;
    if (n == 0) {
      out += '?';
    } else {
      out.append(text.substr(i, n));
    }
    i += take;
  }
  if (i < text.size()) out += "\u2026";
  return out;
}

}  // namespace parley::ws
