// What nodes say to each other over Redis (docs/architecture.md "Several
// nodes: the bus"). Events go in a small binary framing, everything else is
// one JSON object, one channel each:
//
//   parley:events     binary (below): one or more consecutive commits' events,
//                     after the commits; each event's payload (its JSON, sent
//                     to devices as is) copied as bytes, never escaped
//   parley:presence   {"node","kind":"snapshot"|"online"|"offline","users":[..]}
//                     a node's connected users: all of them with each
//                     heartbeat, and each change as it happens
//   parley:ephemeral  {"node","to":[user..],"except":user|null,"frame"}
//                     a typing frame for other nodes' devices
//   parley:control    {"node","kind":"sessions_revoked","sessions":[..]}
//                     sessions revoked or expired: every node closes their
//                     devices and forgets them in its caches
//                     {"node","kind":"presence_rules_changed"}
//                     a user's last-seen setting changed: every node forgets
//                     its cached presence audiences (realtime/presence.hpp)
//
// Decoding is strict and bounded (what comes from Redis comes from the
// network): a message that is too large, malformed or of an unknown version
// is rejected as a whole. A rejected events message is the same as a lost
// one: the merge reads its positions from the database.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/ordered_merge.hpp"

namespace parley::cluster {

namespace channel {
inline constexpr std::string_view kEvents = "parley:events";
inline constexpr std::string_view kPresence = "parley:presence";
inline constexpr std::string_view kEphemeral = "parley:ephemeral";
inline constexpr std::string_view kControl = "parley:control";
}  // namespace channel

// Bounds on what is decoded.
inline constexpr std::size_t kMaxBusMessageBytes = 16 << 20;
inline constexpr std::size_t kMaxUsersPerMessage = 1'000'000;

// --- events ---
//
// The events message, integers little-endian, signed ones two's complement:
//
//   u8  version (kEventsVersion)
//   u8  length of the node's name, then its bytes (1..255)
//   then until the end, one or more commits:
//     i64 first, i64 last         positions first..last, 1 <= first <= last
//     u32 event count
//     per event: i64 pos          first <= pos <= last, increasing
//                u32 recipient count, then each recipient as i64
//                u32 payload length, then the payload's bytes
//
// Commits follow each other in position order (a commit's first after the
// previous one's last). Why binary: a payload is JSON already; as a JSON
// string inside a JSON message it was escaped by the publisher and parsed
// and un-escaped by every other node, for every event. Here the receiver
// reads lengths and copies bytes. Decoding is as strict as before: a wrong
// version, a length past the end, trailing bytes, an out-of-order position
// or too many of anything rejects the whole message.
inline constexpr std::uint8_t kEventsVersion = 2;
inline constexpr std::size_t kMaxNodeIdBytes = 255;

// Several commits of one node, in position order, in one message (the
// publisher's queue had more than one waiting).
[[nodiscard]] std::string encode_events(std::string_view node, std::span<const EventBatch> batches);
[[nodiscard]] std::string encode_events(std::string_view node, const EventBatch& batch);
struct EventsMessage {
  std::string node;
  std::vector<EventBatch> batches;
};
[[nodiscard]] std::optional<EventsMessage> decode_events(std::string_view bytes);
// The node that published an events message, read from its header alone
// (nullopt when the header is malformed): a node gets its own messages back
// from Redis and drops them without decoding their events.
[[nodiscard]] std::optional<std::string_view> events_sender(std::string_view bytes);

// --- presence ---
struct PresenceMessage {
  enum class Kind { kSnapshot, kOnline, kOffline };
  std::string node;
  Kind kind = Kind::kSnapshot;
  std::vector<storage::UserId> users;
};
[[nodiscard]] std::string encode_presence(const PresenceMessage& message);
[[nodiscard]] std::optional<PresenceMessage> decode_presence(std::string_view text);

// --- ephemeral (typing) ---
struct EphemeralMessage {
  std::string node;
  std::vector<storage::UserId> to;
  std::optional<storage::UserId> except;
  std::string frame;
};
[[nodiscard]] std::string encode_ephemeral(const EphemeralMessage& message);
[[nodiscard]] std::optional<EphemeralMessage> decode_ephemeral(std::string_view text);

// --- control ---
struct SessionsRevoked {
  std::string node;
  std::vector<storage::SessionId> sessions;
};
[[nodiscard]] std::string encode_sessions_revoked(const SessionsRevoked& message);
[[nodiscard]] std::optional<SessionsRevoked> decode_sessions_revoked(std::string_view text);
// Who may see whose presence changed outside the event stream; decodes to
// the node that says so.
[[nodiscard]] std::string encode_presence_rules_changed(std::string_view node);
[[nodiscard]] std::optional<std::string> decode_presence_rules_changed(std::string_view text);

}  // namespace parley::cluster
