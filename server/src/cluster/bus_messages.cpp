#include "cluster/bus_messages.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <stdexcept>

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

namespace {

// --- the events message's framing (bus_messages.hpp) ---

void put_u8(std::string& out, std::uint8_t value) { out.push_back(static_cast<char>(value)); }

void put_u32(std::string& out, std::uint32_t value) {
  char bytes[4];
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  out.append(bytes, 4);
}

void put_i64(std::string& out, std::int64_t signed_value) {
  auto value = static_cast<std::uint64_t>(signed_value);
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  out.append(bytes, 8);
}

// Reads from the front of `rest`; every read fails (and stays failed)
// rather than run past the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] bool at_end() const { return rest_.empty(); }
  [[nodiscard]] std::size_t remaining() const { return rest_.size(); }

  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(take(4)); }
  std::int64_t i64() { return static_cast<std::int64_t>(take(8)); }
  std::string_view bytes(std::size_t n) {
    if (!ok_ || n > rest_.size()) {
      ok_ = false;
      return {};
    }
    auto out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return out;
  }

 private:
  std::uint64_t take(std::size_t n) {
    if (!ok_ || n > rest_.size()) {
      ok_ = false;
      return 0;
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < n; ++i) value |= std::uint64_t{static_cast<unsigned char>(rest_[i])} << (8 * i);
    rest_.remove_prefix(n);
    return value;
  }

  std::string_view rest_;
  bool ok_ = true;
};

const std::string& payload_of(const storage::Event& event, std::shared_ptr<const std::string>& keep) {
  if (event.payload) return *event.payload;
  keep = events::message_payload(*event.message);
  return *keep;
}

}  // namespace

std::string encode_events(std::string_view node, std::span<const EventBatch> batches) {
  if (node.empty() || node.size() > kMaxNodeIdBytes) throw std::length_error("cluster node id: 1 to 255 bytes");
  // One allocation: the size is known before writing.
  std::size_t size = 2 + node.size();
  for (const auto& batch : batches) {
    size += 8 + 8 + 4;
    for (const auto& event : batch.events) {
      size += 8 + 4 + 8 * event.recipients.size() + 4;
      if (event.payload) size += event.payload->size();
    }
  }
  std::string out;
  out.reserve(size);
  put_u8(out, kEventsVersion);
  put_u8(out, static_cast<std::uint8_t>(node.size()));
  out.append(node);
  for (const auto& batch : batches) {
    put_i64(out, batch.first);
    put_i64(out, batch.last);
    put_u32(out, static_cast<std::uint32_t>(batch.events.size()));
    for (const auto& event : batch.events) {
      put_i64(out, event.pos);
      put_u32(out, static_cast<std::uint32_t>(event.recipients.size()));
      for (auto user : event.recipients) put_i64(out, user);
      std::shared_ptr<const std::string> keep;
      const auto& payload = payload_of(event, keep);
      put_u32(out, static_cast<std::uint32_t>(payload.size()));
      out.append(payload);
    }
  }
  return out;
}

std::string encode_events(std::string_view node, const EventBatch& batch) {
  return encode_events(node, std::span<const EventBatch>(&batch, 1));
}

namespace {

// The version byte and the node's name, ahead of the commits.
std::optional<std::string_view> read_events_header(Reader& in) {
  if (in.u8() != kEventsVersion) return std::nullopt;
  auto node_size = in.u8();
  auto node = in.bytes(node_size);
  if (!in.ok() || node.empty()) return std::nullopt;
  return node;
}

}  // namespace

std::optional<std::string_view> events_sender(std::string_view bytes) {
  if (bytes.size() > kMaxBusMessageBytes) return std::nullopt;
  Reader in(bytes);
  return read_events_header(in);
}

std::optional<EventsMessage> decode_events(std::string_view bytes) {
  if (bytes.size() > kMaxBusMessageBytes) return std::nullopt;
  Reader in(bytes);
  auto node = read_events_header(in);
  if (!node) return std::nullopt;
  EventsMessage message;
  message.node = std::string(*node);
  storage::Position previous_last = 0;
  do {
    EventBatch batch;
    batch.first = in.i64();
    batch.last = in.i64();
    auto count = in.u32();
    // Each event takes at least 16 bytes: a count past what is left is a lie.
    if (!in.ok() || batch.first < 1 || batch.last < batch.first || batch.first <= previous_last ||
        count > in.remaining() / 16) {
      return std::nullopt;
    }
    previous_last = batch.last;
    batch.events.reserve(count);
    storage::Position previous = batch.first - 1;
    for (std::uint32_t i = 0; i < count; ++i) {
      storage::Event event;
      event.pos = in.i64();
      auto recipients = in.u32();
      // Inside the batch's range and in strictly increasing order.
      if (!in.ok() || event.pos <= previous || event.pos > batch.last || recipients > kMaxUsersPerMessage ||
          recipients > in.remaining() / 8) {
        return std::nullopt;
      }
      previous = event.pos;
      event.recipients.resize(recipients);
      for (auto& user : event.recipients) user = in.i64();
      auto payload = in.bytes(in.u32());
      if (!in.ok()) return std::nullopt;
      event.payload = std::make_shared<const std::string>(payload);
      batch.events.push_back(std::move(event));
    }
    message.batches.push_back(std::move(batch));
  } while (!in.at_end());
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
