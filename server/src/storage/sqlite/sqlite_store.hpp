// The embedded storage backend: one SQLite database file in WAL mode.
//
// Writes go to one writer thread, which owns the only write connection. It
// takes every queued write (up to kMaxBatch), runs each in a savepoint of one
// transaction, commits once, and only then completes them: group commit. With
// synchronous=FULL one fsync then covers the whole batch, so throughput grows
// with concurrency instead of being capped at the disk's fsync rate. What
// every send reads (conversations, members, blocks) the writer serves from
// its own memory, and the counters a send moves are written once per batch
// (writer_cache.hpp).
//
// Reads use a small pool of reader connections, which in WAL mode see a
// consistent snapshot and never wait for the writer.
//
// Checkpoints (copying the write-ahead log back into the database file, with
// its fsyncs) run on a thread of their own, so that they never hold up the
// writer and the acks behind it.
//
// New messages enter the search index once per batch, in one statement just
// before the commit (index_new_messages()): a message is searchable from the
// commit that stores it, and the index costs the writer a fraction of what
// one index insert per message did (docs/architecture.md "Search").
//
// Deleted and edited messages' old words are purged from the search index by
// the writer, between batches (purge_search_index(); docs/architecture.md
// "Search"), at most every StorageOptions::search_purge_interval.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "storage/sqlite/writer_cache.hpp"
#include "storage/store.hpp"

namespace parley::storage::sqlite {

class Connection;

// Called after every transaction with its kind, how many writes it held, and
// how long it took (for metrics). Called on the thread that ran it.
using TransactionObserver =
    std::function<void(bool write, std::size_t writes, std::chrono::duration<double> elapsed)>;

class SqliteStore final : public Store {
 public:
  // Writes taken into one transaction at most; bounds the work one commit
  // holds up and the latency of the first write in the batch.
  static constexpr std::size_t kMaxBatch = 512;

  // Opens or creates the database at `path` and migrates it to the newest
  // schema. Throws StorageError if the file cannot be opened, a migration
  // fails (nothing is changed then), or the file's schema is newer than this
  // binary knows.
  SqliteStore(const std::filesystem::path& path, const StorageOptions& options,
              TransactionObserver observer = {});
  // Finishes the queued writes, then closes the database.
  ~SqliteStore() override;

  // Finishes the queued writes and stops the writer; later writes fail at
  // once. Call it while everything the writes' completions and the event
  // sink refer to still exists. Idempotent.
  void stop();

  void submit_write(std::function<void(Transaction&)> body, std::function<void(std::exception_ptr)> done) override;
  void set_event_sink(EventSink* sink) override { sink_ = sink; }
  bool ping() override;

  // The schema version the database is at.
  int schema_version();

 protected:
  void run_read(const std::function<void(Transaction&)>& body) override;

 private:
  struct Job {
    std::function<void(Transaction&)> body;
    std::function<void(std::exception_ptr)> done;
  };

  // With the connection's PRAGMAs; `vfs` as for Connection.
  std::unique_ptr<Connection> open_connection(const char* vfs = nullptr);
  std::unique_ptr<Connection> acquire_reader();
  void release_reader(std::unique_ptr<Connection> connection);
  void writer_loop();
  // Runs the batch in one transaction; true if a write in it removed
  // indexed text (a delete or an edit).
  bool run_batch(std::vector<Job>& batch);
  // Rewrites the search index as one segment, which drops the old words of
  // deleted and edited messages (SQLite 3.40's FTS5 keeps them in older
  // segments behind delete markers), then has the checkpointer truncate the
  // WAL so that no old page image keeps them either. On the writer thread.
  void purge_search_index();
  // Indexes every message not deleted above stream_state.indexed_through
  // and moves that mark to the newest message id (migration 0012: the edit
  // and delete triggers consult it), and stores `last_pos` as the stream
  // position in the same row. In the open transaction, on the writer's
  // connection. False when there was nothing to index.
  bool index_new_messages(Position last_pos);
  void checkpoint_loop();
  struct CheckpointResult {
    bool busy;                // a reader or the writer kept it from completing
    std::int64_t wal_frames;  // frames in the WAL when it ran
    std::int64_t copied_frames;  // of those, copied to the database file (now or before)
  };
  static CheckpointResult checkpoint(Connection& connection, std::string_view mode);
  // may_wait: the checkpointer asked for it (see restart_wal()).
  void restart_wal(bool may_wait);
  // After a commit, on the writer thread: wakes the checkpointer when the
  // WAL has grown by enough since it last ran.
  void note_wal_frames();
  // On the writer thread: whether the checkpointer has copied the whole WAL
  // as it is now (then a RESTART is nearly free).
  bool wal_fully_copied();

  std::filesystem::path path_;
  StorageOptions options_;
  TransactionObserver observer_;
  EventSink* sink_ = nullptr;

  std::unique_ptr<Connection> writer_;  // used only by writer_thread_
  Position last_position_ = 0;          // used only by writer_thread_
  std::chrono::steady_clock::time_point last_commit_ended_;  // used only by writer_thread_
  WriterCache cache_;                   // used only by writer_thread_
  std::atomic<Position> committed_position_{0};

  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::deque<Job> queue_;  // guarded by queue_mutex_
  bool stopping_ = false;  // guarded by queue_mutex_
  std::thread writer_thread_;
  // Writer thread only: a purge is owed, and not before this time.
  bool search_purge_owed_ = false;
  std::chrono::steady_clock::time_point search_purge_not_before_{};

  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  std::size_t commits_since_checkpoint_ = 0;  // guarded by checkpoint_mutex_
  std::int64_t wal_frames_ = 0;               // set by SQLite's WAL hook on writer_thread_ only
  std::int64_t frames_at_last_wake_ = 0;      // guarded by checkpoint_mutex_
  bool wal_grew_ = false;                     // guarded by checkpoint_mutex_
  bool checkpoint_stopping_ = false;          // guarded by checkpoint_mutex_
  bool truncate_wal_ = false;                 // guarded by checkpoint_mutex_
  std::atomic<bool> restart_wal_owed_{false};  // set by checkpoint_thread_, cleared by writer_thread_
  // The WAL's size at a PASSIVE that copied all of it (0: none since the
  // writer last looked); set by checkpoint_thread_, cleared by writer_thread_.
  std::atomic<std::int64_t> restart_when_wal_frames_{0};
  std::thread checkpoint_thread_;

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mutex_
};

}  // namespace parley::storage::sqlite
