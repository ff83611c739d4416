// The hub: which devices are connected, and fan-out of events to them.
//
// Every committed event reaches the hub's publish(), batch after batch in
// position order (from the store's EventSink, on one strand of the I/O
// threads: see app/server_app.cpp). The hub builds the event's frame
// once and gives the same immutable buffer to every recipient's devices
// (reference counted, never copied); each device queues it on its own
// strand. A batch's frames are grouped by device, so that a device gets one
// call (one post to its strand) per commit, however many of the batch's
// events are its; a batch with one event for this node's devices goes to
// them directly, with nothing to group. The device lists are read under
// one lock per batch and the frames are handed out after it is released.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "realtime/stream_positions.hpp"
#include "storage/store.hpp"

namespace parley::realtime {

// A connected device, as the hub sees it. Implemented by the WebSocket
// session. Every method is thread-safe and returns without blocking.
class Device {
 public:
  virtual ~Device() = default;
  [[nodiscard]] virtual storage::UserId user_id() const = 0;
  [[nodiscard]] virtual storage::SessionId session_id() const = 0;
  // A committed event's frame; `pos` is its position.
  virtual void deliver_event(storage::Position pos, std::shared_ptr<const std::string> frame) = 0;
  // Several committed events at once, in position order: what one commit
  // brought this device. A session queues them with one wake-up of its
  // strand instead of one per event; by default, one deliver_event() each.
  using EventFrames = std::vector<std::pair<storage::Position, std::shared_ptr<const std::string>>>;
  virtual void deliver_events(EventFrames frames) {
    for (auto& [pos, frame] : frames) deliver_event(pos, std::move(frame));
  }
  // A frame that is not part of the stream (typing, presence).
  virtual void deliver_ephemeral(std::shared_ptr<const std::string> frame) = 0;
  // Closes the connection with a WebSocket close code and reason.
  virtual void close(std::uint16_t code, std::string reason) = 0;
};

// WebSocket close codes of the protocol (docs/protocol.md).
namespace close_code {
inline constexpr std::uint16_t kGoingAway = 1001;
inline constexpr std::uint16_t kUnsupportedData = 1003;
inline constexpr std::uint16_t kTooSlow = 4001;
inline constexpr std::uint16_t kUnauthorized = 4401;
inline constexpr std::uint16_t kSessionRevoked = 4403;
inline constexpr std::uint16_t kHelloTimeout = 4408;
inline constexpr std::uint16_t kRateLimited = 4429;
}  // namespace close_code

class Hub {
 public:
  // Called when a user goes from no connected device to one (true), or from
  // one to none (false); on the thread that attached or detached.
  using PresenceObserver = std::function<void(storage::UserId user, bool online)>;

  void set_presence_observer(PresenceObserver observer) { presence_observer_ = std::move(observer); }

  void attach(const std::shared_ptr<Device>& device);
  void detach(const Device& device);

  // Attaches `device`, then asks `still_valid` (e.g. whether its session
  // still exists); when it says no, detaches the device again and returns
  // false. In this order a revocation cannot slip between a session check
  // and the attach: one that commits before the check is seen by it, one
  // that commits after is followed by close_sessions(), which finds the
  // device attached. (Revokers commit first, then call close_sessions().)
  // Exceptions from `still_valid` propagate, with the device detached.
  [[nodiscard]] bool attach_checked(const std::shared_ptr<Device>& device, const std::function<bool()>& still_valid);

  // Committed events, in position order; calls must not overlap.
  void publish(const std::vector<storage::Event>& events);

  // An ephemeral frame to every device of `users` on this node, except
  // those of `except`.
  void send_to_users(const std::vector<storage::UserId>& users, const std::shared_ptr<const std::string>& frame,
                     std::optional<storage::UserId> except = std::nullopt);
  // The same, and to their devices on the other nodes of a cluster (typing).
  void send_to_users_everywhere(const std::vector<storage::UserId>& users,
                                const std::shared_ptr<const std::string>& frame,
                                std::optional<storage::UserId> except = std::nullopt);

  // Closes every device of these sessions (revoked sessions), here and, in
  // a cluster, on the other nodes.
  void close_sessions(const std::vector<storage::SessionId>& sessions, std::uint16_t code, const std::string& reason);
  // Closes this node's devices of these sessions only (another node
  // announced the revocation).
  void close_sessions_here(const std::vector<storage::SessionId>& sessions, std::uint16_t code,
                           const std::string& reason);

  // Several nodes (cluster/cluster_node.hpp): what this hub hands to the
  // other nodes, and who is online there. Each member may be empty. Set once
  // at start-up, before any device attaches; without it the hub is one
  // node's.
  struct Relay {
    std::function<void(const std::vector<storage::UserId>& users, const std::string& frame,
                       std::optional<storage::UserId> except)>
        ephemeral;
    std::function<void(const std::vector<storage::SessionId>& sessions)> sessions_closed;
    std::function<bool(storage::UserId user)> online_elsewhere;
  };
  void set_relay(Relay relay) { relay_ = std::move(relay); }
  // Who may see whose presence changed outside the event stream (a
  // last-seen setting, after its commit): the other nodes forget their
  // cached audiences, as Presence::relationships_changed() does here. The
  // relay is set once at start-up, in a cluster only.
  void set_presence_rules_relay(std::function<void()> relay) { presence_rules_relay_ = std::move(relay); }
  void relay_presence_rules_changed() const {
    if (presence_rules_relay_) presence_rules_relay_();
  }
  // In a cluster, whether this node's deliveries of other nodes' events
  // are so far behind that its devices' frames must wait: then true, and
  // `resume` is called (once, on any thread) when they may go on; false
  // (and `resume` dropped) otherwise, and always on a single node.
  // Set once at start-up, in a cluster only (ClusterNode::hold_intake).
  using IntakeHold = std::function<bool(std::function<void()> resume)>;
  void set_intake_hold(IntakeHold hold) { intake_hold_ = std::move(hold); }
  [[nodiscard]] bool hold_intake(std::function<void()> resume) const {
    return intake_hold_ && intake_hold_(std::move(resume));
  }
  // Whether `user` has a device on this node or, in a cluster, on another.
  [[nodiscard]] bool online_anywhere(storage::UserId user) const;
  // Closes every device (shutdown).
  void close_all(std::uint16_t code, const std::string& reason);

  [[nodiscard]] bool online(storage::UserId user) const;

  // The store's position at start-up (realtime/stream_positions.hpp).
  void start_stream_at(storage::Position current) { positions_.start_at(current); }
  // Events up to `upto` are published without all their recipients (a
  // cluster's gap read): StreamPositions::incomplete_through.
  void stream_incomplete_through(storage::Position upto) { positions_.incomplete_through(upto); }
  // True when `user` is known, from memory, to have nothing in the stream
  // after `from`. Ask once the device is attached: then an event this
  // misses reaches the device live.
  [[nodiscard]] bool nothing_since(storage::UserId user, storage::Position from) const {
    return positions_.nothing_since(user, from);
  }
  [[nodiscard]] std::size_t device_count() const;

  // The frame of a stream event: {"type":"event","position":N,"event":...}.
  [[nodiscard]] static std::shared_ptr<const std::string> event_frame(storage::Position pos,
                                                                      const std::string& payload);

 private:
  std::vector<std::shared_ptr<Device>> devices_of(const std::vector<storage::UserId>& users) const;
  // Appends the live devices of `users` to `out`; mutex_ must be held.
  void append_devices_locked(const std::vector<storage::UserId>& users,
                             std::vector<std::shared_ptr<Device>>& out) const;

  PresenceObserver presence_observer_;
  Relay relay_;
  std::function<void()> presence_rules_relay_;
  IntakeHold intake_hold_;
  StreamPositions positions_;
  mutable std::mutex mutex_;
  std::unordered_map<storage::UserId, std::vector<std::weak_ptr<Device>>> by_user_;  // guarded by mutex_
  std::size_t count_ = 0;                                                             // guarded by mutex_
  // publish()'s list of recipients' devices, empty between calls (which
  // never overlap); its capacity is kept up to kKeptPublishDevices.
  static constexpr std::size_t kKeptPublishDevices = 16 * 1024;
  std::vector<std::shared_ptr<Device>> publish_devices_;
};

}  // namespace parley::realtime
