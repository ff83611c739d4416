// Emitting events into the stream from inside a write transaction. The event
// is stored (for devices that resume later) and delivered live to its
// recipients' devices once the transaction commits.
#pragma once

#include <optional>
#include <vector>

#include <boost/json/object.hpp>

#include "storage/store.hpp"

namespace parley::events {

// An event for one user only (contact events, for example). Returns its
// position.
storage::Position to_user(storage::Transaction& tx, storage::UserId user, const boost::json::object& payload);

// An event of a conversation, for its current members, and also addressed to
// `also` (e.g. a member who was just removed, so that their devices learn it
// though they are no longer a member). Returns its position.
storage::Position to_conversation(storage::Transaction& tx, storage::ConversationId conversation,
                                  const boost::json::object& payload, std::optional<storage::UserId> also = {});

// An event of a message's conversation that carries some of the message's
// content (message.edited, reaction.*): as to_conversation, and deleting the
// message deletes the stored event too (docs/security.md). Returns its
// position.
storage::Position about_message(storage::Transaction& tx, const storage::Message& message,
                                const boost::json::object& payload);

// The payload of a "message.new" event, for live delivery and for resume.
[[nodiscard]] std::shared_ptr<const std::string> message_payload(const storage::Message& message);

// A new message: the messages table keeps it, so only live delivery is
// queued. `message.pos` must come from tx.next_position(); `members` are the
// conversation's members (its recipients).
void new_message(storage::Transaction& tx, const storage::Message& message, std::vector<storage::UserId> members);

}  // namespace parley::events
