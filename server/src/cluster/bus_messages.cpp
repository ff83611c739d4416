#include "cluster/bus_messages.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "events/emit.hpp"

namespace parley::cluster {

namespace json = boost::json;

namespace {

constexpr std::int64_t kVersion = 1;

std::optional<json::object> parse_object(std::string_view text) {
  if (text.size() > kMaxBusMessageBytes) return std::nullopt;
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 8;
  json::value value = json::parse(text, ec, {}, options);
  if (ec || !value.is_object()) return std::nullopt;
  auto& object = value.as_object();
  const auto* version = object.if_contains("v");
  if (version == nullptr || !version->is_int64() || version->as_int64() != kVersion) return std::nullopt;
  return std::move(object);
}

std::optional<std::string> string_of(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->as_string());
}

std::optional<std::int64_t> int_of(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_int64()) return std::nullopt;
  return value->as_int64();
}

std::optional<std::vector<std::int64_t>> ints_of(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_array() || value->as_array().size() > kMaxUsersPerMessage) return std::nullopt;
  std::vector<std::int64_t> out;
  out.reserve(value->as_array().size());
  for (const auto& item : value->as_array()) {
    if (!item.is_int64()) return std::nullopt;
    out.push_back(item.as_int64());
  }
  return out;
}

json::array to_array(const std::vector<std::int64_t>& ids) {
  json::array array;
  array.reserve(ids.size());
  for (auto id : ids) array.push_back(id);
  return array;
}

}  // namespace

std::string encode_events(std::string_view node, const EventBatch& batch) {
  json::array events;
  events.reserve(batch.events.size());
  for (const auto& event : batch.events) {
    auto payload = event.payload ? event.payload : events::message_payload(*event.message);
    events.push_back(json::object{{"pos", event.pos}, {"to", to_array(event.recipients)}, {"payload", *payload}});
  }
  return json::serialize(json::object{
      {"v", kVersion}, {"node", node}, {"first", batch.first}, {"last", batch.last}, {"events", std::move(events)}});
}

std::optional<EventsMessage> decode_events(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return std::nullopt;
  EventsMessage message;
  auto node = string_of(*object, "node");
  auto first = int_of(*object, "first");
  auto last = int_of(*object, "last");
  const auto* events = object->if_contains("events");
  if (!node || !first || !last || *first < 1 || *last < *first || events == nullptr || !events->is_array()) {
    return std::nullopt;
  }
  message.node = std::move(*node);
  message.batch.first = *first;
  message.batch.last = *last;
  storage::Position previous = *first - 1;
  for (const auto& item : events->as_array()) {
    if (!item.is_object()) return std::nullopt;
    const auto& e = item.as_object();
    auto pos = int_of(e, "pos");
    auto to = ints_of(e, "to");
    auto payload = string_of(e, "payload");
    // Inside the batch's range and in strictly increasing order.
    if (!pos || !to || !payload || *pos <= previous || *pos > *last) return std::nullopt;
    previous = *pos;
    storage::Event event;
    event.pos = *pos;
    event.recipients = std::move(*to);
    event.payload = std::make_shared<const std::string>(std::move(*payload));
    message.batch.events.push_back(std::move(event));
  }
  return message;
}

std::string encode_presence(const PresenceMessage& message) {
  std::string_view kind = message.kind == PresenceMessage::Kind::kSnapshot ? "snapshot"
                          : message.kind == PresenceMessage::Kind::kOnline ? "online"
                                                                           : "offline";
  return json::serialize(
      json::object{{"v", kVersion}, {"node", message.node}, {"kind", kind}, {"users", to_array(message.users)}});
}

std::optional<PresenceMessage> decode_presence(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return std::nullopt;
  auto node = string_of(*object, "node");
  auto kind = string_of(*object, "kind");
  auto users = ints_of(*object, "users");
  if (!node || node->empty() || !kind || !users) return std::nullopt;
  PresenceMessage message;
  message.node = std::move(*node);
  message.users = std::move(*users);
  if (*kind == "snapshot") {
    message.kind = PresenceMessage::Kind::kSnapshot;
  } else if (*kind == "online") {
    message.kind = PresenceMessage::Kind::kOnline;
  } else if (*kind == "offline") {
    message.kind = PresenceMessage::Kind::kOffline;
  } else {
    return std::nullopt;
  }
  return message;
}

std::string encode_ephemeral(const EphemeralMessage& message) {
  json::object object{{"v", kVersion}, {"node", message.node}, {"to", to_array(message.to)}, {"frame", message.frame}};
  object["except"] = message.except ? json::value(*message.except) : json::value(nullptr);
  return json::serialize(object);
}

std::optional<EphemeralMessage> decode_ephemeral(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return std::nullopt;
  auto node = string_of(*object, "node");
  auto to = ints_of(*object, "to");
  auto frame = string_of(*object, "frame");
  const auto* except = object->if_contains("except");
  if (!node || !to || !frame || except == nullptr || !(except->is_null() || except->is_int64())) return std::nullopt;
  EphemeralMessage message{std::move(*node), std::move(*to), std::nullopt, std::move(*frame)};
  if (except->is_int64()) message.except = except->as_int64();
  return message;
}

std::string encode_sessions_revoked(const SessionsRevoked& message) {
  return json::serialize(json::object{{"v", kVersion},
                                      {"node", message.node},
                                      {"kind", "sessions_revoked"},
                                      {"sessions", to_array(message.sessions)}});
}

std::optional<SessionsRevoked> decode_sessions_revoked(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return std::nullopt;
  auto node = string_of(*object, "node");
  auto kind = string_of(*object, "kind");
  auto sessions = ints_of(*object, "sessions");
  if (!node || !kind || *kind != "sessions_revoked" || !sessions) return std::nullopt;
  return SessionsRevoked{std::move(*node), std::move(*sessions)};
}

std::string encode_presence_rules_changed(std::string_view node) {
  return json::serialize(json::object{{"v", kVersion}, {"node", node}, {"kind", "presence_rules_changed"}});
}

std::optional<std::string> decode_presence_rules_changed(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return std::nullopt;
  auto node = string_of(*object, "node");
  auto kind = string_of(*object, "kind");
  if (!node || !kind || *kind != "presence_rules_changed") return std::nullopt;
  return node;
}

}  // namespace parley::cluster
