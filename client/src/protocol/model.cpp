#include "protocol/model.hpp"

#include <array>
#include <random>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <sodium.h>

namespace parley::protocol {

namespace json = boost::json;

const json::object& as_object(const json::value& value, std::string_view what) {
  if (!value.is_object()) throw ProtocolError(std::string(what) + ": not an object");
  return value.get_object();
}

namespace {

const json::value& need(const json::object& object, std::string_view key) {
  const auto* found = object.if_contains(key);
  if (found == nullptr) throw ProtocolError("missing field " + std::string(key));
  return *found;
}

[[noreturn]] void mistyped(std::string_view key, std::string_view type) {
  throw ProtocolError("field " + std::string(key) + ": not " + std::string(type));
}

std::optional<int> optional_dimension(const json::object& object, std::string_view key) {
  auto value = get_optional_int(object, key);
  if (!value) return std::nullopt;
  if (*value < 0 || *value > 1'000'000) mistyped(key, "a dimension");
  return static_cast<int>(*value);
}

}  // namespace

const json::object& get_object(const json::object& object, std::string_view key) {
  const auto& value = need(object, key);
  if (!value.is_object()) mistyped(key, "an object");
  return value.get_object();
}

const json::array& get_array(const json::object& object, std::string_view key) {
  const auto& value = need(object, key);
  if (!value.is_array()) mistyped(key, "an array");
  return value.get_array();
}

std::int64_t get_int(const json::object& object, std::string_view key) {
  const auto& value = need(object, key);
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64() && value.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(value.get_uint64());
  }
  mistyped(key, "an integer");
}

std::optional<std::int64_t> get_optional_int(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  return get_int(object, key);
}

std::string get_string(const json::object& object, std::string_view key) {
  const auto& value = need(object, key);
  if (!value.is_string()) mistyped(key, "a string");
  return std::string(value.get_string());
}

std::optional<std::string> get_optional_string(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  return get_string(object, key);
}

bool get_bool(const json::object& object, std::string_view key, std::optional<bool> fallback) {
  const auto* value = object.if_contains(key);
  if (value == nullptr && fallback) return *fallback;
  if (value == nullptr) throw ProtocolError("missing field " + std::string(key));
  if (!value->is_bool()) mistyped(key, "a boolean");
  return value->get_bool();
}

User parse_user(const json::value& value) {
  const auto& object = as_object(value, "user");
  User user;
  user.id = get_int(object, "id");
  user.username = get_string(object, "username");
  user.display_name = get_string(object, "display_name");
  user.status_text = get_optional_string(object, "status_text").value_or("");
  user.avatar_media_id = get_optional_string(object, "avatar_media_id");
  user.deleted = get_bool(object, "deleted", false);
  return user;
}

Role parse_role(std::string_view role) {
  if (role == "owner") return Role::owner;
  if (role == "admin") return Role::admin;
  if (role == "member") return Role::member;
  throw ProtocolError("unknown role " + std::string(role.substr(0, 32)));
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::owner: return "owner";
    case Role::admin: return "admin";
    case Role::member: return "member";
  }
  return "member";
}

Member parse_member(const json::value& value) {
  const auto& object = as_object(value, "member");
  Member member;
  member.user = parse_user(need(object, "user"));
  member.role = parse_role(get_string(object, "role"));
  member.joined_at = get_optional_int(object, "joined_at").value_or(0);
  member.read_seq = get_optional_int(object, "read_seq").value_or(0);
  member.delivered_seq = get_optional_int(object, "delivered_seq").value_or(0);
  return member;
}

Message parse_message(const json::value& value) {
  const auto& object = as_object(value, "message");
  Message message;
  message.id = get_int(object, "id");
  message.conversation_id = get_int(object, "conversation_id");
  message.seq = get_int(object, "seq");
  if (message.id <= 0 || message.seq <= 0 || message.conversation_id <= 0) {
    throw ProtocolError("message: ids must be positive");
  }
  message.sender_id = get_int(object, "sender_id");
  message.client_id = get_optional_string(object, "client_id").value_or("");
  message.text = get_string(object, "text");
  message.reply_to = get_optional_int(object, "reply_to");
  if (const auto* mentions = object.if_contains("mentions"); mentions != nullptr && !mentions->is_null()) {
    for (const auto& id : get_array(object, "mentions")) {
      if (!id.is_int64()) mistyped("mentions", "an array of ids");
      message.mentions.push_back(id.get_int64());
    }
  }
  if (const auto* reactions = object.if_contains("reactions"); reactions != nullptr && !reactions->is_null()) {
    for (const auto& entry : get_array(object, "reactions")) {
      const auto& reaction_object = as_object(entry, "reaction");
      Reaction reaction;
      reaction.emoji = get_string(reaction_object, "emoji");
      for (const auto& id : get_array(reaction_object, "user_ids")) {
        if (!id.is_int64()) mistyped("user_ids", "an array of ids");
        reaction.user_ids.push_back(id.get_int64());
      }
      message.reactions.push_back(std::move(reaction));
    }
  }
  if (const auto* attachments = object.if_contains("attachments");
      attachments != nullptr && !attachments->is_null()) {
    for (const auto& entry : get_array(object, "attachments")) {
      const auto& a = as_object(entry, "attachment");
      Attachment attachment;
      attachment.id = get_string(a, "id");
      attachment.name = get_optional_string(a, "name").value_or("");
      attachment.size = get_optional_int(a, "size").value_or(0);
      attachment.content_type = get_optional_string(a, "content_type").value_or("");
      attachment.width = optional_dimension(a, "width");
      attachment.height = optional_dimension(a, "height");
      message.attachments.push_back(std::move(attachment));
    }
  }
  if (const auto* sticker = object.if_contains("sticker"); sticker != nullptr && !sticker->is_null()) {
    message.sticker_id = get_int(as_object(*sticker, "sticker"), "id");
  }
  message.created_at = get_int(object, "created_at");
  message.edited_at = get_optional_int(object, "edited_at");
  message.deleted = get_bool(object, "deleted", false);
  message.state = MessageState::sent;
  return message;
}

Conversation parse_conversation(const json::value& value) {
  const auto& object = as_object(value, "conversation");
  Conversation conversation;
  conversation.id = get_int(object, "id");
  if (conversation.id <= 0) throw ProtocolError("conversation: id must be positive");
  const auto kind = get_string(object, "kind");
  if (kind == "direct") {
    conversation.kind = ConversationKind::direct;
  } else if (kind == "group") {
    conversation.kind = ConversationKind::group;
  } else {
    throw ProtocolError("conversation: unknown kind");
  }
  conversation.name = get_optional_string(object, "name").value_or("");
  conversation.topic = get_optional_string(object, "topic").value_or("");
  conversation.created_at = get_optional_int(object, "created_at").value_or(0);
  conversation.last_seq = get_optional_int(object, "last_seq").value_or(0);
  conversation.avatar_media_id = get_optional_string(object, "avatar_media_id");
  if (const auto role = get_optional_string(object, "role")) conversation.role = parse_role(*role);
  conversation.read_seq = get_optional_int(object, "read_seq").value_or(0);
  if (const auto* peer = object.if_contains("peer"); peer != nullptr && !peer->is_null()) {
    conversation.peer = parse_user(*peer);
  }
  if (const auto* last = object.if_contains("last_message"); last != nullptr && !last->is_null()) {
    conversation.last_message = parse_message(*last);
  }
  return conversation;
}

json::value parse_json(std::string_view text) {
  boost::system::error_code error;
  auto value = json::parse(text, error);
  if (error) throw ProtocolError("not JSON: " + error.message());
  return value;
}

Error parse_error(const json::value& body, int http_status) {
  Error error;
  error.http_status = http_status;
  const json::object* object = body.if_object();
  if (object != nullptr) {
    if (const auto* inner = object->if_contains("error"); inner != nullptr && inner->is_object()) {
      object = &inner->get_object();
    }
    const auto* code = object->if_contains("code");
    const auto* message = object->if_contains("message");
    if (code != nullptr && code->is_string()) {
      error.code = errc_from_server(code->get_string());
      if (error.code == Errc::unknown_server_error) error.message = std::string(code->get_string()) + ": ";
      if (message != nullptr && message->is_string()) error.message += std::string(message->get_string());
      return error;
    }
  }
  error.code = Errc::bad_response;
  error.message = "the server answered " + std::to_string(http_status) + " without an error body";
  return error;
}

std::optional<std::string> check_message_text(std::string_view text, bool text_optional) {
  if (text.empty()) {
    if (text_optional) return std::nullopt;
    return "text: must not be empty";
  }
  bool only_space = true;
  std::size_t code_points = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xe ? 3 : (byte >> 3) == 0x1e ? 4 : 0;
    if (length == 0 || i + length > text.size()) return "text: not valid UTF-8";
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return "text: not valid UTF-8";
    }
    if (length == 1) {
      if ((byte < 0x20 && byte != '\n' && byte != '\t') || byte == 0x7f) return "text: control characters";
      if (byte != ' ' && byte != '\n' && byte != '\t') only_space = false;
    } else {
      only_space = false;
    }
    ++code_points;
    i += length;
  }
  if (only_space) return "text: only white space";
  if (code_points > 4000) return "text: more than 4000 characters";
  return std::nullopt;
}

std::string new_client_id() {
  std::array<unsigned char, 16> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, 32> text{};
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return std::string(text.data());
}

std::string reactions_json(const std::vector<Reaction>& reactions) {
  json::array array;
  for (const auto& reaction : reactions) {
    json::array ids;
    for (auto id : reaction.user_ids) ids.emplace_back(id);
    array.emplace_back(json::object{{"emoji", reaction.emoji}, {"user_ids", std::move(ids)}});
  }
  return json::serialize(array);
}

std::string attachments_json(const std::vector<Attachment>& attachments) {
  json::array array;
  for (const auto& a : attachments) {
    json::object object{{"id", a.id}, {"name", a.name}, {"size", a.size}, {"content_type", a.content_type}};
    object["width"] = a.width ? json::value(*a.width) : json::value(nullptr);
    object["height"] = a.height ? json::value(*a.height) : json::value(nullptr);
    array.emplace_back(std::move(object));
  }
  return json::serialize(array);
}

std::string ids_json(const std::vector<std::int64_t>& ids) {
  json::array array;
  for (auto id : ids) array.emplace_back(id);
  return json::serialize(array);
}

std::vector<Reaction> reactions_from_json(std::string_view text) {
  std::vector<Reaction> reactions;
  auto value = parse_json(text);
  for (const auto& entry : value.as_array()) {
    Reaction reaction;
    reaction.emoji = std::string(entry.at("emoji").as_string());
    for (const auto& id : entry.at("user_ids").as_array()) reaction.user_ids.push_back(id.as_int64());
    reactions.push_back(std::move(reaction));
  }
  return reactions;
}

std::vector<Attachment> attachments_from_json(std::string_view text) {
  std::vector<Attachment> attachments;
  auto value = parse_json(text);
  for (const auto& entry : value.as_array()) {
    const auto& object = entry.as_object();
    Attachment a;
    a.id = get_string(object, "id");
    a.name = get_string(object, "name");
    a.size = get_int(object, "size");
    a.content_type = get_string(object, "content_type");
    a.width = optional_dimension(object, "width");
    a.height = optional_dimension(object, "height");
    attachments.push_back(std::move(a));
  }
  return attachments;
}

std::vector<std::int64_t> ids_from_json(std::string_view text) {
  std::vector<std::int64_t> ids;
  auto value = parse_json(text);
  for (const auto& id : value.as_array()) ids.push_back(id.as_int64());
  return ids;
}

}  // namespace parley::protocol
