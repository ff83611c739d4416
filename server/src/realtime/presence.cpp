#include "realtime/presence.hpp"

#include <algorithm>
#include <set>

#include <boost/json/serialize.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"

namespace parley::realtime {

using boost::json::object;
using storage::LastSeenVisibility;
using storage::Transaction;
using storage::UserId;

namespace {

// Contacts and members of shared conversations.
std::set<UserId> acquaintances(Transaction& tx, UserId user) {
  std::set<UserId> people;
  for (const auto& contact : tx.contacts(user)) people.insert(contact.user.id);
  for (const auto& summary : tx.conversations_of(user)) {
    for (auto member : tx.member_ids(summary.conversation.id)) people.insert(member);
  }
  people.erase(user);
  return people;
}

boost::json::value last_seen(const storage::User& user, bool online, UnixMillis now) {
  if (online) return now;
  return user.last_online_at ? boost::json::value(*user.last_online_at) : boost::json::value(nullptr);
}

}  // namespace

bool Presence::may_see(Transaction& tx, const storage::User& subject, UserId viewer) {
  if (tx.block_between(subject.id, viewer)) return false;
  switch (subject.last_seen_visibility) {
    case LastSeenVisibility::kEveryone: return true;
    case LastSeenVisibility::kContacts: return tx.are_contacts(subject.id, viewer);
    case LastSeenVisibility::kNobody: return false;
  }
  return false;
}

void Presence::changed(UserId user, bool online, LastSeen record) {
  UnixMillis now = now_millis();
  if (!online && record == LastSeen::kRecord) {
    store_.submit_write([user, now](Transaction& tx) { tx.set_last_online(user, now); },
                        [user](std::exception_ptr error) {
                          if (error) log::get("presence")->warn("could not record last seen user_id={}", user);
                        });
  }
  std::vector<UserId> audience;
  auto frame = store_.read([&](Transaction& tx) -> std::shared_ptr<const std::string> {
    auto subject = tx.user_by_id(user);
    if (!subject || subject->last_seen_visibility == LastSeenVisibility::kNobody) return nullptr;
    for (UserId viewer : acquaintances(tx, user)) {
      if (hub_.online(viewer) && may_see(tx, *subject, viewer)) audience.push_back(viewer);
    }
    return std::make_shared<const std::string>(boost::json::serialize(
        object{{"type", "presence"}, {"user_id", user}, {"online", online}, {"last_seen_at", now}}));
  });
  if (frame && !audience.empty()) hub_.send_to_users(audience, frame);
}

void Presence::introduce(storage::Store& store, Hub& hub, UserId a, UserId b) {
  UnixMillis now = now_millis();
  std::vector<std::pair<UserId, std::shared_ptr<const std::string>>> frames;
  store.read([&](Transaction& tx) {
    auto tell = [&](UserId subject_id, UserId viewer) {
      if (!hub.online(viewer)) return;
      auto subject = tx.user_by_id(subject_id);
      if (!subject || !may_see(tx, *subject, viewer)) return;
      bool online = hub.online_anywhere(subject_id);
      frames.emplace_back(viewer, std::make_shared<const std::string>(boost::json::serialize(
                                      object{{"type", "presence"},
                                             {"user_id", subject_id},
                                             {"online", online},
                                             {"last_seen_at", last_seen(*subject, online, now)}})));
    };
    tell(a, b);
    tell(b, a);
  });
  for (const auto& [viewer, frame] : frames) hub.send_to_users({viewer}, frame);
}

boost::json::array Presence::visible_to(UserId viewer) {
  return store_.read([&](Transaction& tx) {
    boost::json::array list;
    UnixMillis now = now_millis();
    for (UserId id : acquaintances(tx, viewer)) {
      auto subject = tx.user_by_id(id);
      if (!subject || !may_see(tx, *subject, viewer)) continue;
      bool online = hub_.online_anywhere(id);
      list.push_back(object{{"user_id", id}, {"online", online}, {"last_seen_at", last_seen(*subject, online, now)}});
    }
    return list;
  });
}

}  // namespace parley::realtime
