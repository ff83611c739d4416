// What the writer reads on every send, kept in its memory: each
// conversation's row and members (with their read marks), and whether a
// block stands between two users. Internal to the SQLite backend.
//
// Only the writer thread uses it, and only from inside its transactions.
// An entry is either read from the database in the running transaction or
// changed by the same write method that changes the rows, so it holds what
// the transaction sees. Savepoints and commits keep it so:
//  - every change made during a write (loading an entry counts) is noted
//    in a journal; when the write's savepoint is rolled back, undo_write()
//    puts back exactly what was there before it;
//  - the message counters (last seq, last position) and the read marks are
//    written to their rows once per batch (pending_conversations(),
//    pending_reads(), before the commit), not once per message;
//  - when the commit fails, everything is dropped (clear()): entries are
//    read again from what is committed.
// docs/architecture.md "The writer's cache" explains why no read of it can
// disagree with the committed state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "storage/records.hpp"

namespace parley::storage::sqlite {

class WriterCache {
 public:
  struct MemberState {
    UserId user = 0;
    Seq read_seq = 0;
    bool read_pending = false;  // read_seq is newer than the members row
  };
  struct Entry {
    Conversation row;
    std::vector<MemberState> members;  // ascending by user
    // row.last_seq/last_pos are newer than the conversations row.
    bool counters_pending = false;

    MemberState* member(UserId user);
  };

  // Entries kept at most; past them the cache is emptied after a commit
  // (when nothing in it is pending) and fills again with what is used.
  // 100,000 conversations of a few members are some tens of MiB at most.
  static constexpr std::size_t kMaxConversations = 100'000;
  static constexpr std::size_t kMaxBlockPairs = 100'000;

  // The cached conversation, or nullptr.
  Entry* find(ConversationId id);
  // Caches a conversation read from the database in this transaction.
  Entry& put(Entry entry);
  // Notes the entry as it is before a change made through the pointer
  // returned (rare changes: membership, name, avatar); nullptr if not cached.
  Entry* change(ConversationId id);
  // The conversation's next message took `seq` at `pos`.
  void advance(Entry& entry, Seq seq, Position pos);
  // The member's read mark rises to `seq` (a pending write).
  void raise_read(Entry& entry, MemberState& member, Seq seq);
  // The pending counters / read mark were written to their row mid-batch.
  void counters_written(Entry& entry);
  void read_written(Entry& entry, MemberState& member);

  // The media `id` was deleted: no cached group shows it as its avatar.
  void forget_avatar(std::string_view media_id);

  // Whether a block stands between a and b (either direction), if known.
  std::optional<bool> block_between(UserId a, UserId b) const;
  void put_block(UserId a, UserId b, bool blocked);
  // A block of `a` and `b` was added or removed: read it again next time
  // (the other direction may still stand).
  void forget_block(UserId a, UserId b);
  // Every block of `user` was removed.
  void forget_blocks_of(UserId user);

  // Savepoint boundaries: a write starts, is released, or is rolled back.
  void begin_write() { journal_.clear(); }
  void release_write() { journal_.clear(); }
  void undo_write();

  // What is to be written before the commit (or before a statement reads
  // the rows mid-batch): conversations whose counters are pending, and
  // members (conversation, user, seq) whose read mark is.
  std::vector<Entry*> pending_conversations();
  std::vector<std::tuple<ConversationId, UserId, Seq>> pending_reads();
  // The batch committed: nothing is pending any more.
  void committed();
  // The batch did not commit: forget everything.
  void clear();

  std::size_t conversation_count() const { return conversations_.size(); }

 private:
  using PairKey = std::pair<std::int64_t, std::int64_t>;
  struct PairHash {
    std::size_t operator()(const PairKey& key) const noexcept {
      return std::hash<std::int64_t>{}(key.first) * 31 + std::hash<std::int64_t>{}(key.second);
    }
  };
  static PairKey block_key(UserId a, UserId b) { return a < b ? PairKey{a, b} : PairKey{b, a}; }

  // How to put back one change. Per-message changes (counters, a read
  // mark) keep only what they changed; rare ones keep the whole entry.
  struct UndoCounters {
    ConversationId id;
    Seq last_seq;
    Position last_pos;
    bool pending;
  };
  struct UndoRead {
    ConversationId id;
    UserId user;
    Seq read_seq;
    bool pending;
  };
  struct UndoEntry {
    ConversationId id;
    std::optional<Entry> before;  // nullopt: it was not cached
  };
  struct UndoBlock {
    PairKey pair;
    std::optional<bool> before;
  };
  using Undo = std::variant<UndoCounters, UndoRead, UndoEntry, UndoBlock>;

  void set_block(const PairKey& pair, std::optional<bool> value);

  std::unordered_map<ConversationId, Entry> conversations_;
  std::unordered_map<PairKey, bool, PairHash> blocks_;
  // May name entries no longer pending, and the same one twice.
  std::vector<ConversationId> pending_counters_;
  std::vector<PairKey> pending_reads_;  // conversation, user
  std::vector<Undo> journal_;           // of the running write
};

}  // namespace parley::storage::sqlite
