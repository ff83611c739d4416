// PgTransaction::events_between: a range of the event stream for every
// user at once, with each event's recipients, for a cluster node that
// missed a batch (cluster/cluster_node.hpp). Three statements however many
// users are connected and however long the range (the messages' details
// add their own, as everywhere messages are read).
#include <algorithm>
#include <unordered_map>

#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_transaction.hpp"

namespace parley::storage::postgres {

std::vector<Event> PgTransaction::events_between(Position after, Position upto) {
  std::vector<Event> events;
  if (upto <= after) return events;

  Statement& stored = db_.prepare(
      "SELECT pos, conversation_id, user_id, payload FROM events WHERE pos > ?1 AND pos <= ?2 ORDER BY pos");
  stored.bind(1, after).bind(2, upto);
  while (stored.step()) {
    Event event;
    event.pos = stored.int64(0);
    if (!stored.is_null(1)) event.conversation_id = stored.int64(1);
    if (!stored.is_null(2)) event.user_id = stored.int64(2);
    event.payload = std::make_shared<const std::string>(stored.text(3));
    events.push_back(std::move(event));
  }

  static const std::string kMessages =
      select_messages("FROM messages g WHERE g.pos > ?1 AND g.pos <= ?2 ORDER BY g.pos");
  for (auto& message : query_messages(kMessages, [&](Statement& q) { q.bind(1, after).bind(2, upto); })) {
    Event event;
    event.pos = message.pos;
    event.conversation_id = message.conversation_id;
    event.message = std::move(message);
    events.push_back(std::move(event));
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.pos < b.pos; });

  // Who was a member of each event's conversation at its position: the
  // visibility rule of stream_since (after joining, up to leaving), so a
  // device gets from a fill what its resume would give it.
  Statement& members = db_.prepare(
      "SELECT x.pos, m.user_id FROM "
      "(SELECT pos, conversation_id FROM events WHERE pos > ?1 AND pos <= ?2 AND conversation_id IS NOT NULL "
      " UNION ALL SELECT pos, conversation_id FROM messages WHERE pos > ?1 AND pos <= ?2) x "
      "JOIN (SELECT conversation_id, user_id, joined_pos, NULL::BIGINT AS left_pos FROM members "
      " UNION ALL SELECT conversation_id, user_id, joined_pos, left_pos FROM past_memberships WHERE left_pos > ?1) m "
      "ON m.conversation_id = x.conversation_id AND x.pos > m.joined_pos AND (m.left_pos IS NULL OR x.pos <= "
      "m.left_pos) "
      "ORDER BY x.pos, m.user_id");
  members.bind(1, after).bind(2, upto);
  std::unordered_map<Position, std::size_t> index;
  index.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) index.emplace(events[i].pos, i);
  while (members.step()) {
    auto found = index.find(members.int64(0));
    if (found != index.end()) events[found->second].recipients.push_back(members.int64(1));
  }
  for (auto& event : events) {
    if (event.user_id &&
        std::find(event.recipients.begin(), event.recipients.end(), *event.user_id) == event.recipients.end()) {
      event.recipients.push_back(*event.user_id);
    }
  }
  return events;
}

}  // namespace parley::storage::postgres
