// The device store of one account: one SQLite file (WAL), versioned
// migrations, and every read and write the engine makes.
//
// Two connections: the writer, used under write_mutex_ (by the engine thread
// for everything it applies, and by the app's thread for the one durable
// write it makes itself, queueing a message), and a reader used under
// read_mutex_ by the app's threads. WAL lets the reader see the last commit
// without waiting for a write in progress.
//
// Every write happens inside a Write (one transaction); the sync layer
// (sync/apply.hpp) turns events into these calls.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "parley/types.hpp"
#include "store/cipher.hpp"
#include "store/sqlite.hpp"

namespace parley::store {

struct OutboxEntry {
  std::string client_id;
  ConversationId conversation_id = 0;
  std::string text;
  std::optional<MessageId> reply_to;
  // What the upload's completion said of each file (id, name, size, type,
  // dimensions): the message shows them from the moment it is acknowledged.
  std::vector<Attachment> attachments;
  std::optional<std::int64_t> sticker_id;
  Millis created_at = 0;
};

// A file being sent: recorded before its upload starts, removed in the
// transaction that queues its message. `upload_id` is the server's
// resumable upload (empty until created); `offset` what the server has
// confirmed; size and mtime tell whether the file changed meanwhile.
struct UploadRecord {
  std::string client_id;  // the message's client id, fixed from the start
  ConversationId conversation_id = 0;
  std::filesystem::path path;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::string caption;
  std::string upload_id;
  std::int64_t offset = 0;
  Millis created_at = 0;
};

struct StoredSession {
  std::string token;
  UserId user_id = 0;
  std::int64_t session_id = 0;
};

class Store {
 public:
  // read_only: reads only (another process writes the file; SQLite's WAL
  // lets both run); every Write throws StoreError. The file must exist at
  // this library's schema version.
  Store(const std::filesystem::path& file, std::optional<std::array<std::uint8_t, 32>> key, bool read_only = false);
  [[nodiscard]] bool read_only() const { return writer_ == nullptr; }
  ~Store();

  // One write transaction under the write lock. Commit explicitly; a Write
  // destroyed without commit() rolls back.
  class Write {
   public:
    explicit Write(Store& store);
    void commit() { transaction_.commit(); }
    Store& store() { return store_; }

   private:
    Store& store_;
    std::lock_guard<std::mutex> lock_;
    Transaction transaction_;
  };

  // --- writes (inside a Write) ---------------------------------------------
  void set_meta(Write&, const std::string& key, const std::string& value);
  void erase_meta(Write&, const std::string& key);
  // Conversations an applied event said to load over REST (this user was
  // added while away). Stored in the same transaction as the position that
  // passed the event, so that a process ending before the load finishes
  // still loads them at its next sync; removed when loaded.
  void add_pending_loads(Write&, const std::vector<ConversationId>& ids);
  void remove_pending_load(Write&, ConversationId id);
  std::set<ConversationId> pending_loads();
  void put_user(Write&, const User& user);
  // Conversation fields as the server gives them; keeps muted_until.
  void put_conversation(Write&, const Conversation& conversation, std::optional<UserId> created_by = std::nullopt);
  void update_conversation_fields(Write&, ConversationId id, const std::string& name, const std::string& topic,
                                  const std::optional<MediaId>& avatar);
  // Removes a conversation and everything of it (this user left or was removed).
  void remove_conversation(Write&, ConversationId id);
  [[nodiscard]] bool has_conversation(Write&, ConversationId id);
  void put_member(Write&, ConversationId conversation, const Member& member);
  void replace_members(Write&, ConversationId conversation, const std::vector<Member>& members);
  void remove_member(Write&, ConversationId conversation, UserId user);
  void set_member_role(Write&, ConversationId conversation, UserId user, Role role);
  // Raises a member's read or delivered mark (never lowers it); the own
  // user's read mark is also the conversation's read_seq.
  // `read` also raises the delivered mark, as the server does for a read
  // frame; a send moves only the sender's read mark (read_only).
  enum class Mark { read, delivered, read_only };
  void raise_receipt(Write&, ConversationId conversation, UserId user, std::int64_t seq, Mark mark, UserId me);
  // Inserts or replaces a message by id (and its FTS entry). Returns true
  // when it was not stored before.
  bool put_message(Write&, const Message& message);
  // Drops stored messages above `last_seq`: the server no longer has them
  // (it was restored from a backup), and its seqs will be given to others.
  void truncate_after(Write&, ConversationId conversation, std::int64_t last_seq);
  // Tombstones a message (known or not).
  void delete_message(Write&, ConversationId conversation, MessageId id, std::int64_t seq);
  void change_reaction(Write&, MessageId id, UserId user, const std::string& emoji, bool add);
  void put_contact(Write&, const User& user, Millis since);
  void remove_contact(Write&, UserId user);
  void clear_contacts(Write&);
  void put_invitation(Write&, const Invitation& invitation);
  void remove_invitation(Write&, InvitationId id);
  void remove_invitations_with(Write&, UserId user);
  void clear_invitations(Write&);
  void put_block(Write&, UserId user);
  void remove_block(Write&, UserId user);
  void clear_blocks(Write&);
  void set_mute(Write&, ConversationId conversation, std::optional<Millis> until);
  void clear_mutes(Write&);
  void set_position(Write&, std::int64_t position);

  // Outbox.
  void outbox_add(Write&, const OutboxEntry& entry);
  // The ack arrived: the entry becomes a stored message (until the server's
  // message.new replaces it with the full one).
  void outbox_acked(Write&, const std::string& client_id, MessageId id, std::int64_t seq, Millis created_at,
                    UserId me);
  void outbox_failed(Write&, const std::string& client_id, const std::string& error);
  // Pending entries in the order they were written.
  std::vector<OutboxEntry> outbox_pending();
  // Uploads in progress (oldest first).
  std::vector<UploadRecord> uploads();
  void put_upload(Write&, const UploadRecord& record);
  void set_upload_progress(Write&, const std::string& client_id, const std::string& upload_id, std::int64_t offset);
  void remove_upload(Write&, const std::string& client_id);
  // Drops the outbox, pending read marks and known users (signing out without keeping data).
  void clear_outbox_and_users();

  // Read marks waiting to be sent.
  void pending_read_set(Write&, ConversationId conversation, std::int64_t seq);
  void pending_read_done(Write&, ConversationId conversation, std::int64_t seq);
  std::vector<std::pair<ConversationId, std::int64_t>> pending_reads();

  // Media cache index (files live in the cache folder).
  void media_put(Write&, const std::string& key, std::int64_t size, Millis now);
  void media_touch(const std::string& key, Millis now);
  void media_remove(Write&, const std::string& key);
  // Least recently used first.
  std::vector<std::pair<std::string, std::int64_t>> media_lru();
  std::int64_t media_total();
  std::optional<std::int64_t> media_size(const std::string& key);

  // Evicts the oldest history until the store's used size is under `limit`.
  // Never evicts pending messages nor the newest `keep_per_conversation`
  // messages of a conversation. Returns how many messages went.
  std::int64_t evict_history(std::int64_t limit, int keep_per_conversation);
  std::int64_t used_bytes();

  // --- reads (any thread) ---------------------------------------------------
  std::optional<std::string> meta(const std::string& key);
  std::int64_t position();
  std::optional<StoredSession> session();
  std::optional<User> user(UserId id);
  std::vector<Conversation> conversations(UserId me, std::optional<ConversationId> only = std::nullopt);
  std::vector<Member> members(ConversationId id);
  HistoryPage history(ConversationId id, std::int64_t before_seq, int limit, UserId me);
  std::optional<Message> message(MessageId id);
  std::optional<Message> message_by_client_id(const std::string& client_id);
  std::int64_t max_seq(ConversationId id);
  std::vector<ConversationId> conversation_ids();
  std::vector<Contact> contacts();
  std::vector<Invitation> invitations();
  std::optional<Millis> muted_until(ConversationId id);
  std::vector<SearchHit> search(const std::string& query, int limit, std::optional<ConversationId> in);
  std::string canonical_dump();

 private:
  Message read_message(Statement& statement, int first_column, Database& db);
  std::string seal_text(std::string_view text, std::string_view associated) const;
  std::string open_text(std::string_view sealed, std::string_view associated) const;
  void write_fts(Write&, MessageId id, const std::string& text);

  Cipher cipher_;
  std::mutex write_mutex_;
  std::unique_ptr<Database> writer_;
  std::mutex read_mutex_;
  std::unique_ptr<Database> reader_;
};

}  // namespace parley::store
