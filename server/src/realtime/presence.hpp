// Presence: who is online, and when someone was last seen, shown only to
// those the user's privacy setting allows:
//   everyone  contacts and members of shared conversations,
//   contacts  contacts only,
//   nobody    no one (neither online state nor last seen).
// A block in either direction hides presence both ways. Presence is
// ephemeral: it is not part of the event stream.
#pragma once

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
  // there (kKeep).
  enum class LastSeen { kRecord, kKeep };
  void changed(storage::UserId user, bool online, LastSeen last_seen = LastSeen::kRecord);

  // The presence of everyone `viewer` may see, for the welcome frame:
  // [{"user_id", "online", "last_seen_at"}].
  [[nodiscard]] boost::json::array visible_to(storage::UserId viewer);

  // Whether `viewer` may see `subject`'s presence.
  [[nodiscard]] static bool may_see(storage::Transaction& tx, const storage::User& subject, storage::UserId viewer);

  // `a` and `b` just became contacts (after the commit): each one's connected
  // devices get the other's presence frame, as welcome.presence would list
  // it, when the other's setting now lets them see it. Without it a device
  // would learn the new contact's presence only at its next connection, or
  // at the contact's next connect or disconnect. Static, like may_see: the
  // routes that make contacts have the store and the hub, not this object.
  static void introduce(storage::Store& store, Hub& hub, storage::UserId a, storage::UserId b);

 private:
  storage::Store& store_;
  Hub& hub_;
};

}  // namespace parley::realtime
