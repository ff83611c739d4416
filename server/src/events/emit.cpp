#include "events/emit.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

#include "api/views.hpp"

namespace parley::events {

using storage::Event;
using storage::Transaction;

namespace {

std::shared_ptr<const std::string> to_shared_json(const boost::json::object& payload) {
  return std::make_shared<const std::string>(boost::json::serialize(payload));
}

}  // namespace

storage::Position to_user(Transaction& tx, storage::UserId user, const boost::json::object& payload) {
  Event event;
  event.pos = tx.next_position();
  event.user_id = user;
  event.payload = to_shared_json(payload);
  event.recipients = {user};
  storage::Position pos = event.pos;
  tx.emit(std::move(event), Transaction::Keep::kStore);
  return pos;
}

namespace {

storage::Position conversation_event(Transaction& tx, storage::ConversationId conversation,
                                     const boost::json::object& payload, std::optional<storage::UserId> also,
                                     std::optional<storage::MessageId> content_of) {
  Event event;
  event.content_of = content_of;
  event.pos = tx.next_position();
  event.conversation_id = conversation;
  event.user_id = also;
  event.payload = to_shared_json(payload);
  event.recipients = tx.member_ids(conversation);
  if (also && std::find(event.recipients.begin(), event.recipients.end(), *also) == event.recipients.end()) {
    event.recipients.push_back(*also);
  }
  storage::Position pos = event.pos;
  tx.emit(std::move(event), Transaction::Keep::kStore);
  return pos;
}

}  // namespace

storage::Position to_conversation(Transaction& tx, storage::ConversationId conversation,
                                  const boost::json::object& payload, std::optional<storage::UserId> also) {
  return conversation_event(tx, conversation, payload, also, std::nullopt);
}

storage::Position about_message(Transaction& tx, const storage::Message& message, const boost::json::object& payload) {
  return conversation_event(tx, message.conversation_id, payload, std::nullopt, message.id);
}

std::shared_ptr<const std::string> message_payload(const storage::Message& message) {
  return to_shared_json(boost::json::object{
      {"type", "message.new"}, {"conversation_id", message.conversation_id}, {"message", api::message_view(message)}});
}

void new_message(Transaction& tx, const storage::Message& message, std::vector<storage::UserId> members) {
  Event event;
  event.pos = message.pos;
  event.conversation_id = message.conversation_id;
  event.message = message;
  event.recipients = std::move(members);
  tx.emit(std::move(event), Transaction::Keep::kMessagesTable);
}

}  // namespace parley::events
