#include "storage/sqlite/writer_cache.hpp"

#include <algorithm>

namespace parley::storage::sqlite {

WriterCache::MemberState* WriterCache::Entry::member(UserId user) {
  auto at = std::lower_bound(members.begin(), members.end(), user,
                             [](const MemberState& m, UserId u) { return m.user < u; });
  return at != members.end() && at->user == user ? &*at : nullptr;
}

WriterCache::Entry* WriterCache::find(ConversationId id) {
  auto it = conversations_.find(id);
  return it == conversations_.end() ? nullptr : &it->second;
}

WriterCache::Entry& WriterCache::put(Entry entry) {
  ConversationId id = entry.row.id;
  auto it = conversations_.find(id);
  journal_.emplace_back(UndoEntry{id, it == conversations_.end() ? std::nullopt : std::optional<Entry>(it->second)});
  std::sort(entry.members.begin(), entry.members.end(),
            [](const MemberState& a, const MemberState& b) { return a.user < b.user; });
  auto& slot = conversations_[id];
  slot = std::move(entry);
  return slot;
}

WriterCache::Entry* WriterCache::change(ConversationId id) {
  auto* entry = find(id);
  if (entry != nullptr) journal_.emplace_back(UndoEntry{id, *entry});
  return entry;
}

void WriterCache::advance(Entry& entry, Seq seq, Position pos) {
  journal_.emplace_back(UndoCounters{entry.row.id, entry.row.last_seq, entry.row.last_pos, entry.counters_pending});
  entry.row.last_seq = seq;
  entry.row.last_pos = pos;
  if (!entry.counters_pending) pending_counters_.push_back(entry.row.id);
  entry.counters_pending = true;
}

void WriterCache::raise_read(Entry& entry, MemberState& member, Seq seq) {
  journal_.emplace_back(UndoRead{entry.row.id, member.user, member.read_seq, member.read_pending});
  member.read_seq = seq;
  if (!member.read_pending) pending_reads_.emplace_back(entry.row.id, member.user);
  member.read_pending = true;
}

void WriterCache::counters_written(Entry& entry) {
  journal_.emplace_back(UndoCounters{entry.row.id, entry.row.last_seq, entry.row.last_pos, entry.counters_pending});
  entry.counters_pending = false;
}

void WriterCache::read_written(Entry& entry, MemberState& member) {
  journal_.emplace_back(UndoRead{entry.row.id, member.user, member.read_seq, member.read_pending});
  member.read_pending = false;
}

void WriterCache::forget_avatar(std::string_view media_id) {
  for (auto& [id, entry] : conversations_) {
    if (entry.row.avatar_media_id && *entry.row.avatar_media_id == media_id) change(id)->row.avatar_media_id.reset();
  }
}

std::optional<bool> WriterCache::block_between(UserId a, UserId b) const {
  auto it = blocks_.find(block_key(a, b));
  if (it == blocks_.end()) return std::nullopt;
  return it->second;
}

void WriterCache::set_block(const PairKey& pair, std::optional<bool> value) {
  auto it = blocks_.find(pair);
  journal_.emplace_back(UndoBlock{pair, it == blocks_.end() ? std::nullopt : std::optional<bool>(it->second)});
  if (value) {
    blocks_[pair] = *value;
  } else if (it != blocks_.end()) {
    blocks_.erase(it);
  }
}

void WriterCache::put_block(UserId a, UserId b, bool blocked) { set_block(block_key(a, b), blocked); }

void WriterCache::forget_block(UserId a, UserId b) { set_block(block_key(a, b), std::nullopt); }

void WriterCache::forget_blocks_of(UserId user) {
  std::vector<PairKey> pairs;
  for (const auto& [pair, blocked] : blocks_) {
    if (pair.first == user || pair.second == user) pairs.push_back(pair);
  }
  for (const auto& pair : pairs) set_block(pair, std::nullopt);
}

void WriterCache::undo_write() {
  // Newest first: an entry a later change refers to exists again by the
  // time an earlier change to it is undone.
  for (auto it = journal_.rbegin(); it != journal_.rend(); ++it) {
    if (auto* counters = std::get_if<UndoCounters>(&*it)) {
      auto& entry = conversations_.at(counters->id);
      entry.row.last_seq = counters->last_seq;
      entry.row.last_pos = counters->last_pos;
      entry.counters_pending = counters->pending;
    } else if (auto* read = std::get_if<UndoRead>(&*it)) {
      auto* member = conversations_.at(read->id).member(read->user);
      member->read_seq = read->read_seq;
      member->read_pending = read->pending;
    } else if (auto* whole = std::get_if<UndoEntry>(&*it)) {
      if (whole->before) {
        conversations_[whole->id] = std::move(*whole->before);
      } else {
        conversations_.erase(whole->id);
      }
    } else {
      auto& block = std::get<UndoBlock>(*it);
      if (block.before) {
        blocks_[block.pair] = *block.before;
      } else {
        blocks_.erase(block.pair);
      }
    }
  }
  journal_.clear();
}

std::vector<WriterCache::Entry*> WriterCache::pending_conversations() {
  std::sort(pending_counters_.begin(), pending_counters_.end());
  pending_counters_.erase(std::unique(pending_counters_.begin(), pending_counters_.end()), pending_counters_.end());
  std::vector<Entry*> result;
  result.reserve(pending_counters_.size());
  for (ConversationId id : pending_counters_) {
    auto* entry = find(id);
    if (entry != nullptr && entry->counters_pending) result.push_back(entry);
  }
  return result;
}

std::vector<std::tuple<ConversationId, UserId, Seq>> WriterCache::pending_reads() {
  std::sort(pending_reads_.begin(), pending_reads_.end());
  pending_reads_.erase(std::unique(pending_reads_.begin(), pending_reads_.end()), pending_reads_.end());
  std::vector<std::tuple<ConversationId, UserId, Seq>> result;
  result.reserve(pending_reads_.size());
  for (auto [id, user] : pending_reads_) {
    auto* entry = find(id);
    auto* member = entry != nullptr ? entry->member(user) : nullptr;
    if (member != nullptr && member->read_pending) result.emplace_back(id, user, member->read_seq);
  }
  return result;
}

void WriterCache::committed() {
  for (ConversationId id : pending_counters_) {
    if (auto* entry = find(id)) entry->counters_pending = false;
  }
  for (auto [id, user] : pending_reads_) {
    auto* entry = find(id);
    if (auto* member = entry != nullptr ? entry->member(user) : nullptr) member->read_pending = false;
  }
  pending_counters_.clear();
  pending_reads_.clear();
  journal_.clear();
  if (conversations_.size() > kMaxConversations) conversations_.clear();
  if (blocks_.size() > kMaxBlockPairs) blocks_.clear();
}

void WriterCache::clear() {
  conversations_.clear();
  blocks_.clear();
  pending_counters_.clear();
  pending_reads_.clear();
  journal_.clear();
}

}  // namespace parley::storage::sqlite
