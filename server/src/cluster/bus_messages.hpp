// What nodes say to each other over Redis (docs/architecture.md "Several
// nodes: the bus"). Every message is one JSON object on one channel:
//
//   parley:events     {"node","first","last","events":[{"pos","to":[user..],"payload"}]}
//                     one commit's events, after the commit (payload: the
//                     event's JSON, as a string, sent to devices as is)
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

#include <optional>
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
[[nodiscard]] std::string encode_events(std::string_view node, const EventBatch& batch);
struct EventsMessage {
  std::string node;
  EventBatch batch;
};
[[nodiscard]] std::optional<EventsMessage> decode_events(std::string_view text);

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
