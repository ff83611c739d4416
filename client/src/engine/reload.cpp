// Loading state over REST: a new device's first sync, the recovery from
// resync_required (docs/protocol.md "Handshake", step 4), and a conversation
// this user was added to.
#include <set>

#include <boost/json/array.hpp>

#include "engine/account_impl.hpp"

namespace parley {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using namespace protocol;

namespace {

// Catching up a conversation over REST: pages of 200 (the API's maximum),
// at most this many; beyond it only the newest page is loaded and the gap
// is fetched on demand (load_older).
constexpr int kMaxCatchUpPages = 10;
constexpr int kNewestPage = 50;

}  // namespace

awaitable<bool> Account::Impl::fetch_history_after(ConversationId id) {
  auto self = shared_from_this();
  auto after = store->max_seq(id);
  if (after == 0) {
    auto page = co_await rest("GET", "/api/v1/conversations/" + std::to_string(id) +
                                         "/messages?limit=" + std::to_string(kNewestPage));
    store::Store::Write write(*store);
    for (const auto& entry : get_array(as_object(page, "page"), "messages")) store->put_message(write, parse_message(entry));
    write.commit();
    co_return true;
  }
  for (int round = 0; round < kMaxCatchUpPages; ++round) {
    auto page = co_await rest("GET", "/api/v1/conversations/" + std::to_string(id) + "/messages?limit=200&after=" +
                                         std::to_string(after));
    const auto& object = as_object(page, "page");
    store::Store::Write write(*store);
    for (const auto& entry : get_array(object, "messages")) {
      auto message = parse_message(entry);
      after = std::max(after, message.seq);
      store->put_message(write, message);
    }
    write.commit();
    if (!get_bool(object, "has_more")) co_return true;
  }
  // Too far behind: the newest page, and a gap that history() reports.
  auto page = co_await rest("GET", "/api/v1/conversations/" + std::to_string(id) +
                                       "/messages?limit=" + std::to_string(kNewestPage));
  store::Store::Write write(*store);
  for (const auto& entry : get_array(as_object(page, "page"), "messages")) store->put_message(write, parse_message(entry));
  write.commit();
  co_return false;
}

awaitable<void> Account::Impl::load_conversation(ConversationId id, bool with_history) {
  auto self = shared_from_this();
  json::value detail;
  try {
    detail = co_await rest("GET", "/api/v1/conversations/" + std::to_string(id));
  } catch (const Failure& failure) {
    if (failure.error().code != Errc::not_found) throw;
    // Left or removed meanwhile: nothing to load.
    store::Store::Write write(*store);
    store->remove_pending_load(write, id);
    write.commit();
    co_return;
  }
  const auto& object = get_object(as_object(detail, "reply"), "conversation");
  auto conversation = parse_conversation(object);
  std::vector<Member> members;
  for (const auto& entry : get_array(object, "members")) members.push_back(parse_member(entry));
  for (const auto& member : members) {
    if (conversation.kind == ConversationKind::direct && member.user.id != me.load()) conversation.peer = member.user;
  }
  {
    store::Store::Write write(*store);
    store->put_conversation(write, conversation, get_optional_int(object, "created_by"));
    store->truncate_after(write, id, conversation.last_seq);
    store->replace_members(write, id, members);
    if (!with_history) store->remove_pending_load(write, id);
    write.commit();
  }
  if (with_history) {
    co_await fetch_history_after(id);
    store::Store::Write write(*store);
    store->remove_pending_load(write, id);
    write.commit();
  }
  Changes changes;
  changes.conversation_list = true;
  changes.conversations.push_back(id);
  emit_changes(changes);
}

awaitable<void> Account::Impl::reload(std::optional<std::int64_t> position) {
  auto self = shared_from_this();
  auto conn = connection;
  // Who we are.
  auto me_reply = co_await rest("GET", "/api/v1/me");
  auto user = parse_user(get_object(as_object(me_reply, "reply"), "user"));
  me = user.id;
  auto settings_reply = co_await rest("GET", "/api/v1/me/settings");
  const auto& settings = get_object(as_object(settings_reply, "reply"), "settings");

  // Conversations: each with its members and the history this device lacks.
  auto list = co_await rest("GET", "/api/v1/conversations");
  std::set<ConversationId> listed;
  for (const auto& entry : get_array(as_object(list, "reply"), "conversations")) {
    const auto id = get_int(as_object(entry, "conversation"), "id");
    listed.insert(id);
    co_await load_conversation(id, true);
    if (closed || conn != connection) throw Failure(Errc::cancelled, "connection changed during the reload");
  }

  auto contacts = co_await rest("GET", "/api/v1/contacts");
  auto invitations = co_await rest("GET", "/api/v1/contacts/invitations");
  auto blocks = co_await rest("GET", "/api/v1/blocks");
  if (closed || conn != connection) throw Failure(Errc::cancelled, "connection changed during the reload");

  {
    store::Store::Write write(*store);
    store->put_user(write, user);
    store->set_meta(write, "user_id", std::to_string(user.id));
    // Conversations this user is no longer in (left or removed while away).
    for (auto id : store->conversation_ids()) {
      if (!listed.contains(id)) store->remove_conversation(write, id);
    }
    store->set_meta(write, "notifications_enabled", get_bool(settings, "notifications_enabled") ? "1" : "0");
    store->clear_mutes(write);
    for (const auto& entry : get_array(settings, "conversation_mutes")) {
      const auto& mute = as_object(entry, "mute");
      store->set_mute(write, get_int(mute, "conversation_id"), get_int(mute, "muted_until"));
    }
    store->clear_contacts(write);
    for (const auto& entry : get_array(as_object(contacts, "reply"), "contacts")) {
      const auto& contact = as_object(entry, "contact");
      store->put_contact(write, parse_user(contact.at("user")), get_optional_int(contact, "since").value_or(0));
    }
    store->clear_invitations(write);
    const auto& invitation_lists = as_object(invitations, "reply");
    for (const auto* direction : {"incoming", "outgoing"}) {
      for (const auto& entry : get_array(invitation_lists, direction)) {
        const auto& object = as_object(entry, "invitation");
        Invitation invitation;
        invitation.id = get_int(object, "id");
        invitation.created_at = get_optional_int(object, "created_at").value_or(0);
        invitation.incoming = std::string_view(direction) == "incoming";
        invitation.user = parse_user(object.at(invitation.incoming ? "from" : "to"));
        store->put_invitation(write, invitation);
      }
    }
    store->clear_blocks(write);
    for (const auto& entry : get_array(as_object(blocks, "reply"), "blocked")) {
      store->put_block(write, parse_user(as_object(entry, "block").at("user")).id);
    }
    // The resume point, with the state it stands for (every conversation
    // was loaded above: none is left to load).
    store->erase_meta(write, "pending_loads");
    if (position) store->set_position(write, *position);
    write.commit();
  }
  // Live events that arrived meanwhile, applied over the reloaded state
  // (idempotently: the REST state may already hold some of them).
  reloading = false;
  auto pending = std::move(held);
  held.clear();
  apply_batch(pending);
  Changes changes;
  changes.conversation_list = true;
  changes.contacts = true;
  changes.invitations = true;
  changes.settings = true;
  // History loaded over REST counts against the size limit like events do.
  enforce_store_limit(changes);
  emit_changes(changes);
  go_online();
}

}  // namespace parley
