// Applies the server's events to the device store, idempotently: every event
// is applied by id (message id, (conversation, user) for members and
// receipts), so the live path and the catch-up path, or an event applied
// twice (a REST reload overlapping the stream), give the same store
// (docs/protocol.md "Catch-up payloads").
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <boost/json/object.hpp>

#include "parley/types.hpp"
#include "store/store.hpp"

namespace parley::sync {

// What applying a batch did, for the listener and the notifier.
struct Applied {
  Changes changes;
  // Conversations the engine must load over REST (this user was added to
  // them: member.added carries no history).
  std::vector<ConversationId> to_load;
  // Messages that arrived and are candidates for a notification.
  std::vector<Message> incoming;
  // Read marks of this user that moved (for Notifier::withdraw).
  std::vector<std::pair<ConversationId, std::int64_t>> read_moved;

  void note_conversation(ConversationId id);
};

// Applies one event (the `event` object of an event frame). Throws
// protocol::ProtocolError for a malformed event of a known type (the caller
// rolls back the batch); ignores unknown types.
void apply_event(store::Store::Write& write, const boost::json::object& event, UserId me, Applied& applied);

}  // namespace parley::sync
