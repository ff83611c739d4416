#include "realtime/presence.hpp"

#include <algorithm>
#include <memory>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/serialize.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"

namespace parley::realtime {

using boost::json::object;
using storage::LastSeenVisibility;
using storage::Transaction;
using storage::UserId;

namespace {

// Entries kept per map; beyond it the map is emptied and refilled as users
// come and go (a few reads each), which bounds memory without bookkeeping
// on every hit.
constexpr std::size_t kMaxEntries = 100'000;
// Last-seen times held for the next write; beyond it they are written at
// once (a burst of disconnections larger than a write wants to be).
constexpr std::size_t kMaxUnwritten = 10'000;

// One generation for the process: bumped by any change of who may see whom.
std::atomic<std::uint64_t> g_generation{1};

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

boost::json::value last_seen(std::optional<UnixMillis> last_online_at, bool online, UnixMillis now) {
  if (online) return now;
  return last_online_at ? boost::json::value(*last_online_at) : boost::json::value(nullptr);
}

// Whether an event's type can change who may see whom: contacts (made,
// removed, by account deletion too), blocks, and memberships (a shared
// conversation makes acquaintances). Payloads are serialised objects whose
// first member is "type".
bool changes_relationships(const storage::Event& event) {
  if (event.message || !event.payload) return false;  // new messages: the bulk, and never such a change
  std::string_view payload(*event.payload);
  constexpr std::string_view kPrefix = R"({"type":")";
  if (!payload.starts_with(kPrefix)) return true;  // not the usual shape: assume it may
  payload.remove_prefix(kPrefix.size());
  for (std::string_view type : {"contact.added", "contact.removed", "block.", "member.", "conversation.created"}) {
    if (payload.starts_with(type)) return true;
  }
  return false;
}

}  // namespace

Presence::Generation Presence::generation() { return g_generation.load(std::memory_order_acquire); }

void Presence::relationships_changed() { g_generation.fetch_add(1, std::memory_order_acq_rel); }

void Presence::committed(const std::vector<storage::Event>& events) {
  if (std::any_of(events.begin(), events.end(), changes_relationships)) relationships_changed();
}

bool Presence::may_see(Transaction& tx, const storage::User& subject, UserId viewer) {
  if (tx.block_between(subject.id, viewer)) return false;
  switch (subject.last_seen_visibility) {
    case LastSeenVisibility::kEveryone: return true;
    case LastSeenVisibility::kContacts: return tx.are_contacts(subject.id, viewer);
    case LastSeenVisibility::kNobody: return false;
  }
  return false;
}

std::optional<UnixMillis> Presence::last_offline(UserId user, std::optional<UnixMillis> stored) const {
  auto found = offline_at_.find(user);
  if (found == offline_at_.end()) return stored;
  return stored ? std::max(*stored, found->second) : found->second;
}

void Presence::changed(UserId user, bool online, LastSeen record) {
  UnixMillis now = now_millis();
  if (!online && record == LastSeen::kRecord) {
    bool full = false;
    {
      std::lock_guard lock(mutex_);
      if (offline_at_.size() >= kMaxEntries) {
        offline_at_.clear();
        visible_.clear();  // their stored times may predate what was forgotten
        // Times not yet written are not in the database either: kept.
        offline_at_.insert(unwritten_.begin(), unwritten_.end());
      }
      auto& latest = offline_at_[user];
      latest = std::max(latest, now);
      auto& unwritten = unwritten_[user];
      unwritten = std::max(unwritten, now);
      full = unwritten_.size() >= kMaxUnwritten;
    }
    if (full) flush_last_seen();
  }
  std::vector<UserId> viewers;
  bool cached = false;
  {
    std::lock_guard lock(mutex_);
    auto found = audiences_.find(user);
    if (found != audiences_.end() && found->second.generation == generation()) {
      viewers = found->second.viewers;
      cached = true;
    }
  }
  if (!cached) {
    // Taken before the read: a change committed meanwhile leaves this entry
    // of an old generation, read again next time.
    auto read_at = generation();
    viewers = store_.read([&](Transaction& tx) {
      std::vector<UserId> may;
      auto subject = tx.user_by_id(user);
      if (!subject || subject->last_seen_visibility == LastSeenVisibility::kNobody) return may;
      for (UserId viewer : acquaintances(tx, user)) {
        if (may_see(tx, *subject, viewer)) may.push_back(viewer);
      }
      return may;
    });
    std::lock_guard lock(mutex_);
    if (audiences_.size() >= kMaxEntries) audiences_.clear();
    audiences_[user] = Audience{read_at, viewers};
  }
  std::erase_if(viewers, [&](UserId viewer) { return !hub_.online(viewer); });
  if (viewers.empty()) return;
  hub_.send_to_users(viewers, std::make_shared<const std::string>(boost::json::serialize(object{
                                  {"type", "presence"}, {"user_id", user}, {"online", online}, {"last_seen_at", now}})));
}

void Presence::flush_last_seen() {
  std::vector<std::pair<UserId, UnixMillis>> batch;
  {
    std::lock_guard lock(mutex_);
    if (unwritten_.empty()) return;
    batch.assign(unwritten_.begin(), unwritten_.end());
    unwritten_.clear();
  }
  auto shared = std::make_shared<const std::vector<std::pair<UserId, UnixMillis>>>(std::move(batch));
  store_.submit_write(
      [shared](Transaction& tx) {
        for (const auto& [user, at] : *shared) tx.set_last_online(user, at);
      },
      [count = shared->size()](std::exception_ptr error) {
        if (error) log::get("presence")->warn("could not record last seen count={}", count);
      });
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
                                             {"last_seen_at", last_seen(subject->last_online_at, online, now)}})));
    };
    tell(a, b);
    tell(b, a);
  });
  for (const auto& [viewer, frame] : frames) hub.send_to_users({viewer}, frame);
}

Presence::Members Presence::conversation_members(storage::ConversationId conversation, UserId member,
                                                const std::function<std::vector<UserId>()>& read) {
  {
    std::lock_guard lock(mutex_);
    auto found = members_.find(conversation);
    if (found != members_.end() && found->second.generation == generation() &&
        std::binary_search(found->second.members->begin(), found->second.members->end(), member)) {
      return found->second.members;
    }
  }
  // Taken before the read: a change published meanwhile leaves this entry
  // of an old generation, read again next time.
  auto read_at = generation();
  auto ids = read();
  std::sort(ids.begin(), ids.end());
  auto members = std::make_shared<const std::vector<UserId>>(std::move(ids));
  std::lock_guard lock(mutex_);
  if (members_.size() >= kMaxEntries) members_.clear();
  members_[conversation] = MemberList{read_at, members};
  return members;
}

boost::json::array Presence::visible_to(UserId viewer) {
  Visible visible;
  bool cached = false;
  {
    std::lock_guard lock(mutex_);
    auto found = visible_.find(viewer);
    if (found != visible_.end() && found->second.generation == generation()) {
      visible = found->second;
      cached = true;
    }
  }
  if (!cached) {
    visible.generation = generation();
    store_.read([&](Transaction& tx) {
      for (UserId id : acquaintances(tx, viewer)) {
        auto subject = tx.user_by_id(id);
        if (!subject || !may_see(tx, *subject, viewer)) continue;
        visible.subjects.emplace_back(id, subject->last_online_at);
      }
    });
    std::lock_guard lock(mutex_);
    if (visible_.size() >= kMaxEntries) visible_.clear();
    visible_[viewer] = visible;
  }
  {
    // The stored times, made current by this process's own records (taken
    // under the lock; the hub is asked without it).
    std::lock_guard lock(mutex_);
    for (auto& [id, stored] : visible.subjects) stored = last_offline(id, stored);
  }
  boost::json::array list;
  UnixMillis now = now_millis();
  for (const auto& [id, stored] : visible.subjects) {
    bool online = hub_.online_anywhere(id);
    list.push_back(object{{"user_id", id}, {"online", online}, {"last_seen_at", last_seen(stored, online, now)}});
  }
  return list;
}

}  // namespace parley::realtime
