#include "sync/apply.hpp"

#include <algorithm>

#include "protocol/model.hpp"

namespace parley::sync {

namespace json = boost::json;
using namespace protocol;

void Applied::note_conversation(ConversationId id) {
  if (std::find(changes.conversations.begin(), changes.conversations.end(), id) == changes.conversations.end()) {
    changes.conversations.push_back(id);
  }
}

namespace {

Invitation parse_invitation(const json::object& object) {
  Invitation invitation;
  invitation.id = get_int(object, "id");
  invitation.created_at = get_optional_int(object, "created_at").value_or(0);
  if (const auto* from = object.if_contains("from"); from != nullptr) {
    invitation.user = parse_user(*from);
    invitation.incoming = true;
  } else if (const auto* to = object.if_contains("to"); to != nullptr) {
    invitation.user = parse_user(*to);
    invitation.incoming = false;
  } else {
    throw ProtocolError("invitation: neither from nor to");
  }
  return invitation;
}

}  // namespace

void apply_event(store::Store::Write& write, const json::object& event, UserId me, Applied& applied) {
  auto& store = write.store();
  const auto type = get_string(event, "type");
  if (type == "message.new" || type == "message.edited") {
    auto message = parse_message(event.at("message"));
    if (!store.has_conversation(write, message.conversation_id)) {
      // A conversation this device has not loaded yet (joined while the
      // REST reload runs): load it, and keep the message meanwhile.
      applied.to_load.push_back(message.conversation_id);
    }
    const bool is_new = store.put_message(write, message);
    if (type == "message.new") {
      // Sending moves the sender's read mark to the message, without a
      // receipt event (docs/protocol.md "send").
      store.raise_receipt(write, message.conversation_id, message.sender_id, message.seq,
                          store::Store::Mark::read_only, me);
    }
    applied.note_conversation(message.conversation_id);
    applied.changes.conversation_list = true;
    if (type == "message.new" && is_new && message.sender_id != me && !message.deleted) {
      applied.incoming.push_back(message);
      applied.changes.new_messages.push_back(std::move(message));
    }
  } else if (type == "message.deleted") {
    const auto conversation = get_int(event, "conversation_id");
    store.delete_message(write, conversation, get_int(event, "message_id"), get_int(event, "seq"));
    applied.note_conversation(conversation);
    applied.changes.conversation_list = true;
  } else if (type == "reaction.added" || type == "reaction.removed") {
    const auto conversation = get_int(event, "conversation_id");
    store.change_reaction(write, get_int(event, "message_id"), get_int(event, "user_id"), get_string(event, "emoji"),
                          type == "reaction.added");
    applied.note_conversation(conversation);
  } else if (type == "receipt.read" || type == "receipt.delivered") {
    const auto conversation = get_int(event, "conversation_id");
    const auto user = get_int(event, "user_id");
    const auto seq = get_int(event, "seq");
    store.raise_receipt(write, conversation, user, seq,
                        type == "receipt.read" ? store::Store::Mark::read : store::Store::Mark::delivered, me);
    if (user == me && type == "receipt.read") {
      applied.read_moved.emplace_back(conversation, seq);
      applied.changes.conversation_list = true;
    }
    applied.note_conversation(conversation);
  } else if (type == "conversation.created") {
    const auto& object = get_object(event, "conversation");
    auto conversation = parse_conversation(object);
    std::vector<Member> members;
    for (const auto& entry : get_array(object, "members")) members.push_back(parse_member(entry));
    for (const auto& member : members) {
      if (member.user.id == me) conversation.role = member.role;
      if (conversation.kind == ConversationKind::direct && member.user.id != me) conversation.peer = member.user;
    }
    store.put_conversation(write, conversation, get_optional_int(object, "created_by"));
    store.replace_members(write, conversation.id, members);
    applied.note_conversation(conversation.id);
    applied.changes.conversation_list = true;
  } else if (type == "conversation.updated") {
    const auto id = get_int(event, "conversation_id");
    store.update_conversation_fields(write, id, get_optional_string(event, "name").value_or(""),
                                     get_optional_string(event, "topic").value_or(""),
                                     get_optional_string(event, "avatar_media_id"));
    applied.note_conversation(id);
    applied.changes.conversation_list = true;
  } else if (type == "member.added") {
    const auto id = get_int(event, "conversation_id");
    auto member = parse_member(event.at("member"));
    if (member.user.id == me && !store.has_conversation(write, id)) applied.to_load.push_back(id);
    store.put_member(write, id, member);
    applied.note_conversation(id);
  } else if (type == "member.removed" || type == "member.left") {
    const auto id = get_int(event, "conversation_id");
    const auto user = get_int(event, "user_id");
    if (user == me) {
      store.remove_conversation(write, id);
      applied.changes.conversation_list = true;
    } else {
      store.remove_member(write, id, user);
    }
    applied.note_conversation(id);
  } else if (type == "member.role_changed") {
    const auto id = get_int(event, "conversation_id");
    const auto user = get_int(event, "user_id");
    const auto role = parse_role(get_string(event, "role"));
    store.set_member_role(write, id, user, role);
    if (user == me) {
      if (auto conversation = store.conversations(me, id); !conversation.empty()) {
        conversation.front().role = role;
        store.put_conversation(write, conversation.front());
      }
    }
    applied.note_conversation(id);
  } else if (type == "contact.invitation_received" || type == "contact.invitation_sent") {
    store.put_invitation(write, parse_invitation(get_object(event, "invitation")));
    applied.changes.invitations = true;
  } else if (type == "contact.invitation_removed") {
    store.remove_invitation(write, get_int(event, "invitation_id"));
    applied.changes.invitations = true;
  } else if (type == "contact.added") {
    const auto& contact = get_object(event, "contact");
    auto user = parse_user(contact.at("user"));
    store.put_contact(write, user, get_optional_int(contact, "since").value_or(0));
    // An accepted invitation arrives as contact.added only.
    store.remove_invitations_with(write, user.id);
    applied.changes.contacts = true;
    applied.changes.invitations = true;
  } else if (type == "contact.removed") {
    store.remove_contact(write, get_int(event, "user_id"));
    applied.changes.contacts = true;
  } else if (type == "block.added") {
    store.put_block(write, parse_user(event.at("user")).id);
    applied.changes.contacts = true;
  } else if (type == "block.removed") {
    store.remove_block(write, get_int(event, "user_id"));
    applied.changes.contacts = true;
  }
  // Unknown types are skipped: the server may add event types later.
}

}  // namespace parley::sync
