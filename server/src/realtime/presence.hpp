// Presence: who is online, and when someone was last seen, shown only to
// those the user's privacy setting allows:
//   everyone  contacts and members of shared conversations,
//   contacts  contacts only,
//   nobody    no one (neither online state nor last seen).
// A block in either direction hides presence both ways. Presence is
// ephemeral: it is not part of the event stream.
//
// Who may see whom is kept in memory (docs/architecture.md "Presence from
// memory"): a user's audience (who is told when they come and go) and a
// viewer's visible list (the welcome frame's presence) are read from the
// database once and then reused until relationships change. Every change
// that can alter them bumps one generation, and an entry of an older
// generation is read again: events of contacts, blocks and memberships once
// committed, before their writes are answered (committed()), and a change
// of the last-seen setting
// (relationships_changed(), called by the settings route after its commit).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <boost/json/array.hpp>

#include "realtime/hub.hpp"
#include "storage/store.hpp"

namespace parley::realtime {

class Presence {
 public:
  Presence(storage::Store& store, Hub& hub) : store_(store), hub_(hub) {}

  // A user's first device connected (online) or last one left (offline):
  // records the time (kRecord) and tells those allowed to know. In a
  // cluster, a change seen on another node is shown here but recorded
  // there (kKeep). No database read when the user's audience is cached,
  // and no write: the time is kept in memory until flush_last_seen().
  enum class LastSeen { kRecord, kKeep };
  void changed(storage::UserId user, bool online, LastSeen last_seen = LastSeen::kRecord);

  // Writes the last-seen times recorded since the previous call, all in one
  // write submitted to the store (not awaited). Called with the sessions'
  // last-used times, every auth.session_touch_interval (app/server_app.cpp),
  // and at shutdown after the last device has gone; also by changed() when
  // so many users are waiting that holding more would be memory without
  // bound. Until written, this process shows the times from memory
  // (visible_to); others read them from the database up to an interval
  // late, and a crash loses at most an interval's worth. Each write holds
  // each user's latest time and the store keeps the later of the stored and
  // the written time, so the stored time never goes backwards. Thread-safe.
  void flush_last_seen();

  // The presence of everyone `viewer` may see, for the welcome frame:
  // [{"user_id", "online", "last_seen_at"}]. No database read when the
  // viewer's visible list is cached.
  [[nodiscard]] boost::json::array visible_to(storage::UserId viewer);

  // Committed events: those that change who may see whom (contacts,
  // blocks, memberships) end every cached audience, visible list and member
  // list. Called for this process's writes on the writer's thread before
  // they are answered (storage::EventSink::committed), and in a cluster for
  // other nodes' events before the hub gets them. Thread-safe.
  void committed(const std::vector<storage::Event>& events);

  // Something that decides who may see whom changed outside the event
  // stream (a user's last-seen setting): call after its commit. Ends every
  // cached entry of every Presence in the process.
  static void relationships_changed();

  // Whether `viewer` may see `subject`'s presence.
  [[nodiscard]] static bool may_see(storage::Transaction& tx, const storage::User& subject, storage::UserId viewer);

  // `a` and `b` just became contacts (after the commit): each one's connected
  // devices get the other's presence frame, as welcome.presence would list
  // it, when the other's setting now lets them see it. Without it a device
  // would learn the new contact's presence only at its next connection, or
  // at the contact's next connect or disconnect. Static, like may_see: the
  // routes that make contacts have the store and the hub, not this object.
  static void introduce(storage::Store& store, Hub& hub, storage::UserId a, storage::UserId b);

  // The members of `conversation`, when `member` is one of them, for an
  // ephemeral frame of theirs (typing): from memory when they were read
  // since the last change of relationships (memberships included), else
  // from `read`, which is called on this thread, may throw (and then
  // nothing is kept: a non-member's refusal is read every time), and
  // returns the members. Sorted ascending. A frame handled between a
  // membership change's commit and committed() (on the writer's thread,
  // right after the commit, before the change is answered; on another
  // node, until its events arrive here) is judged by the membership before
  // it, as one handled just before the commit would be. Thread-safe.
  using Members = std::shared_ptr<const std::vector<storage::UserId>>;
  [[nodiscard]] Members conversation_members(storage::ConversationId conversation, storage::UserId member,
                                             const std::function<std::vector<storage::UserId>()>& read);

 private:
  using Generation = std::uint64_t;
  // Those who may see a user (online or not).
  struct Audience {
    Generation generation = 0;
    std::vector<storage::UserId> viewers;
  };
  // Those a viewer may see, with their stored last-seen time.
  struct Visible {
    Generation generation = 0;
    std::vector<std::pair<storage::UserId, std::optional<UnixMillis>>> subjects;
  };

  [[nodiscard]] static Generation generation();
  // The last time `user` went offline in this process, if newer than `stored`.
  [[nodiscard]] std::optional<UnixMillis> last_offline(storage::UserId user, std::optional<UnixMillis> stored) const;

  storage::Store& store_;
  Hub& hub_;
  mutable std::mutex mutex_;
  std::unordered_map<storage::UserId, Audience> audiences_;  // guarded by mutex_
  std::unordered_map<storage::UserId, Visible> visible_;     // guarded by mutex_
  // Conversations' members (conversation_members()).
  struct MemberList {
    Generation generation = 0;
    Members members;
  };
  std::unordered_map<storage::ConversationId, MemberList> members_;  // guarded by mutex_
  std::unordered_map<storage::UserId, UnixMillis> offline_at_;  // guarded by mutex_
  // Last-seen times not yet written (a subset of offline_at_).
  std::unordered_map<storage::UserId, UnixMillis> unwritten_;  // guarded by mutex_
};

}  // namespace parley::realtime
