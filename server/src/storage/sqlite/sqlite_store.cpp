#include "storage/sqlite/sqlite_store.hpp"

#include <pthread.h>
#include <sqlite3.h>

#include "core/log.hpp"
#include "storage/migration.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/migrate.hpp"
#include "storage/sqlite/sqlite_transaction.hpp"
#include "storage/sqlite/wal_write_buffer.hpp"

namespace parley::storage::sqlite {
namespace {

// Reader connections kept open; more are opened under load and closed after.
constexpr std::size_t kMaxIdleReaders = 8;

// The newest position handed out. The newest message is the one with the
// largest id: a new row takes the id after the largest there is, and the
// single writer hands out positions in the order it inserts, so among the
// rows there are, id and pos rise together (messages has no index on pos,
// migration 0013: MAX(pos) would read the whole table).
Position max_position(Connection& db) {
  Statement& query = db.prepare(
      "SELECT MAX((SELECT last_pos FROM stream_state), COALESCE((SELECT MAX(pos) FROM events), 0), "
      "COALESCE((SELECT pos FROM messages ORDER BY id DESC LIMIT 1), 0))");
  query.step();
  Position pos = query.int64(0);
  db.release_statements();
  return pos;
}

// Migration 0008's Greek folding (tonos and dialytika, only in text holding
// a Greek letter), the same expression as its triggers and migration 0012's:
// FTS5's 'delete' must be given exactly the text that was indexed.
constexpr std::string_view kIndexNewMessages =
    "INSERT INTO message_search (rowid, body) SELECT id, CASE WHEN body GLOB '*[Ά-ώ]*' THEN "
    "replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace("
    "replace(replace(replace(replace(replace(replace(replace(body, 'ά', 'α'), 'έ', 'ε'), 'ή', 'η'), 'ί', 'ι'), "
    "'ό', 'ο'), 'ύ', 'υ'), 'ώ', 'ω'), 'ΐ', 'ι'), 'ΰ', 'υ'), 'ϊ', 'ι'), 'ϋ', 'υ'), 'Ά', 'Α'), 'Έ', 'Ε'), 'Ή', 'Η'), "
    "'Ί', 'Ι'), 'Ό', 'Ο'), 'Ύ', 'Υ'), 'Ώ', 'Ω'), 'Ϊ', 'Ι'), 'Ϋ', 'Υ') ELSE body END "
    "FROM messages WHERE id > ?1 AND deleted_at IS NULL";

}  // namespace

SqliteStore::SqliteStore(const std::filesystem::path& path, const StorageOptions& options,
                         TransactionObserver observer)
    : path_(path), options_(options), observer_(std::move(observer)) {
  // The writer's WAL frames of a commit go to the file in one write
  // (wal_write_buffer.hpp); safe only because every commit syncs the WAL.
  writer_ = open_connection(options_.sqlite_synchronous == SqliteSynchronous::kFull ? wal_write_buffer_vfs()
                                                                                   : nullptr);
  // WAL: readers never block the writer nor each other. The mode is stored in
  // the file, so it only needs setting once, but setting it again is free.
  writer_->exec("PRAGMA journal_mode = WAL");
  // SQLite's own checkpoints stay off: checkpoint_loop() runs the PASSIVE
  // ones and asks the writer for a RESTART when needed (restart_wal()).
  writer_->exec("PRAGMA wal_autocheckpoint = 0");
  // A burst can leave a long WAL behind; when it starts over, the file is
  // cut back to this size, which steady writes reuse without growing it.
  writer_->exec("PRAGMA journal_size_limit = 67108864");
  // After each commit SQLite tells the writer how many frames the WAL holds
  // (note_wal_frames() passes it on to the checkpointer). Replaces the hook
  // of SQLite's own checkpoints, which are off.
  sqlite3_wal_hook(
      writer_->handle(),
      [](void* store, sqlite3*, const char*, int frames) {
        static_cast<SqliteStore*>(store)->wal_frames_ = frames;
        return SQLITE_OK;
      },
      this);
  int version = migrate(*writer_, sqlite_migrations());
  last_position_ = max_position(*writer_);
  committed_position_ = last_position_;
  // Messages added while the server was stopped (by a tool, or SQL) are
  // indexed now, before the first search can miss them.
  writer_->exec("BEGIN IMMEDIATE");
  try {
    if (index_new_messages(last_position_)) {
      log::get("storage")->info("search index caught up with messages added while stopped");
    }
    writer_->release_statements();
    writer_->exec("COMMIT");
  } catch (...) {
    writer_->release_statements();
    writer_->rollback_quietly();
    throw;
  }
  log::get("storage")->info("sqlite database ready path={} schema_version={} position={}", path_.string(), version,
                            last_position_);
  checkpoint_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "parley-ckpt");
    checkpoint_loop();
  });
  writer_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "parley-writer");  // for top -H and perf
    writer_loop();
  });
}

SqliteStore::~SqliteStore() {
  stop();
  // A clean close checkpoints the WAL into the main file, so a stopped server
  // leaves one self-contained database file behind.
  writer_.reset();
}

void SqliteStore::stop() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_one();
  if (writer_thread_.joinable()) writer_thread_.join();
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_stopping_ = true;
  }
  checkpoint_wake_.notify_one();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
}

void SqliteStore::checkpoint_loop() {
  // A PASSIVE checkpoint copies what no reader still needs and never blocks
  // the writer; when the writer is idle for a moment it copies everything,
  // and the next commit writes the WAL from its beginning again.
  //
  // Under steady writes that moment never comes: the writer appends while
  // the PASSIVE copies, so the WAL is never wholly copied and would grow
  // without bound (gigabytes in seconds at a few thousand messages a
  // second), and every commit would append to a file that only grows, which
  // costs the kernel new blocks, zeroed pages and an inode write in each
  // fdatasync. So once the WAL holds more than kRestartFrames, the writer
  // is asked to run a RESTART between two batches (restart_wal()).
  //
  // The writer is stopped while its RESTART copies what the PASSIVEs have
  // not, so this thread keeps close behind it: it runs whenever the writer
  // has added kWakeFrames to the WAL (see note_wal_frames()). The writer
  // restarts the WAL when a PASSIVE copied all of it and nothing was
  // committed since (wal_fully_copied(): nothing to copy or sync); with a
  // backlog only past kForceRestartFrames, when the last PASSIVE left at
  // most kRestartBacklogFrames, or past kLimitFrames whatever it left. Run
  // once a second, with 20,000 frames written in between, a RESTART held
  // the writer for 25 ms at the median and up to hundreds of milliseconds.
  constexpr std::int64_t kRestartFrames = 1024;        // 4 MiB at 4 KiB pages
  constexpr std::int64_t kForceRestartFrames = 4096;   // 16 MiB
  constexpr std::int64_t kRestartBacklogFrames = 256;  // 1 MiB left to copy
  constexpr std::int64_t kLimitFrames = 16384;         // 64 MiB (journal_size_limit): restart whatever it costs
  auto connection = open_connection();
  for (;;) {
    bool truncate = false;
    {
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_wake_.wait_for(lock, std::chrono::seconds(1),
                                [this] { return checkpoint_stopping_ || truncate_wal_ || wal_grew_; });
      if (checkpoint_stopping_) return;
      truncate = truncate_wal_;
      truncate_wal_ = false;
      if (!wal_grew_ && commits_since_checkpoint_ == 0 && !truncate) continue;
      wal_grew_ = false;
      commits_since_checkpoint_ = 0;
    }
    // A RESTART asked for and not yet run: no PASSIVE meanwhile, or the
    // writer's RESTART would find this thread's checkpoint lock taken each
    // time (a fast writer wakes this thread again and again) and never run.
    if (restart_wal_owed_ && !truncate) continue;
    try {
      // After a search index purge the WAL still holds the old pages' images
      // (with the purged words) until they are overwritten: TRUNCATE copies
      // everything back, waiting for readers (busy_timeout) and holding off
      // the writer meanwhile, and cuts the file to zero bytes.
      if (truncate) {
        // busy is 1 when a reader or the writer kept it from completing;
        // the next purge tries again.
        bool busy = checkpoint(*connection, "TRUNCATE").busy;
        log::get("storage")->info("wal checkpoint after search index purge truncated={}", !busy);
      } else {
        auto result = checkpoint(*connection, "PASSIVE");
        // The cheap moment may never come (the writer commits between
        // every PASSIVE and its next batch), so past kForceRestartFrames
        // the RESTART is asked for in any case.
        if (result.wal_frames > kRestartFrames && result.copied_frames == result.wal_frames) {
          restart_when_wal_frames_ = result.wal_frames;
        }
        if (result.wal_frames > kLimitFrames || (result.wal_frames > kForceRestartFrames &&
                                                 result.wal_frames - result.copied_frames <= kRestartBacklogFrames)) {
          restart_wal_owed_ = true;
        }
      }
    } catch (const std::exception& e) {
      log::get("storage")->warn("checkpoint failed error=\"{}\"", e.what());
    }
  }
}

void SqliteStore::note_wal_frames() {
  constexpr std::int64_t kWakeFrames = 256;  // 1 MiB at 4 KiB pages
  std::lock_guard lock(checkpoint_mutex_);
  ++commits_since_checkpoint_;
  if (wal_frames_ < frames_at_last_wake_) frames_at_last_wake_ = 0;  // the WAL started over
  if (wal_frames_ - frames_at_last_wake_ >= kWakeFrames) {
    frames_at_last_wake_ = wal_frames_;
    wal_grew_ = true;
    checkpoint_wake_.notify_one();
  }
}

bool SqliteStore::wal_fully_copied() {
  // The checkpointer saw the WAL at this size, all of it copied, and the
  // writer has committed nothing since: a RESTART has nothing to copy and no
  // database file to sync.
  std::int64_t frames = restart_when_wal_frames_.load();
  if (frames == 0) return false;
  if (frames != wal_frames_) {
    restart_when_wal_frames_.compare_exchange_strong(frames, 0);  // stale: the writer moved on
    return false;
  }
  restart_when_wal_frames_ = 0;
  return true;
}

void SqliteStore::restart_wal(bool may_wait) {
  // On the writer's own connection, between two batches: a RESTART from
  // another connection would take the write lock while a batch is being
  // written, and the writer, finding it taken, would back off in SQLite's
  // busy-handler steps (1, 2, 5, 10, 15, 20, 25, … 100 ms), adding tens of
  // milliseconds to every ack of the moment. Here it copies what the last
  // PASSIVE left: nothing when the WAL was fully copied, and then it waits
  // for nothing (if a reader is still in the WAL, SQLite answers busy at
  // once and a later cycle tries again). A RESTART the checkpointer asked
  // for (it fell behind) copies the backlog and waits up to 20 ms for
  // readers, as otherwise a steady stream of reads could put it off for
  // ever.
  try {
    writer_->exec(may_wait ? "PRAGMA busy_timeout = 20" : "PRAGMA busy_timeout = 0");
    bool busy = checkpoint(*writer_, "RESTART").busy;
    writer_->exec("PRAGMA busy_timeout = 5000");
    if (busy) log::get("storage")->debug("wal restart deferred: the checkpointer or a reader was in the WAL");
  } catch (const std::exception& e) {
    writer_->exec("PRAGMA busy_timeout = 5000");
    log::get("storage")->warn("wal restart failed error=\"{}\"", e.what());
  }
}

SqliteStore::CheckpointResult SqliteStore::checkpoint(Connection& connection, std::string_view mode) {
  Statement& statement = connection.prepare("PRAGMA wal_checkpoint(" + std::string(mode) + ")");
  statement.step();
  CheckpointResult result{statement.int64(0) != 0, statement.int64(1), statement.int64(2)};
  connection.release_statements();
  return result;
}

std::unique_ptr<Connection> SqliteStore::open_connection(const char* vfs) {
  auto connection = std::make_unique<Connection>(path_, vfs);
  connection->exec("PRAGMA foreign_keys = ON");
  // Waiting briefly beats failing: a checkpoint may hold the lock for a moment.
  connection->exec("PRAGMA busy_timeout = 5000");
  connection->exec(options_.sqlite_synchronous == SqliteSynchronous::kFull ? "PRAGMA synchronous = FULL"
                                                                           : "PRAGMA synchronous = NORMAL");
  // Pages are read through a memory map instead of a pread() each, and up to
  // 16 MiB of them stay decoded in the connection's own cache: the indexes a
  // send touches stay in memory as the database grows.
  connection->exec("PRAGMA mmap_size = 1073741824");
  connection->exec("PRAGMA cache_size = -16384");
  connection->exec("PRAGMA temp_store = MEMORY");
  // What is deleted or overwritten is zeroed in the file, not left in free
  // space: a deleted message's text must not be readable from a copy of the
  // database (docs/security.md). Debian builds SQLite with this on by
  // default; other builds do not. It costs no I/O on the send path, which
  // only adds rows; freed pages are written once more, zeroed.
  connection->exec("PRAGMA secure_delete = ON");
  return connection;
}

std::unique_ptr<Connection> SqliteStore::acquire_reader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      auto connection = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return connection;
    }
  }
  return open_connection();
}

void SqliteStore::release_reader(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(readers_mutex_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(connection));
}

void SqliteStore::submit_write(std::function<void(Transaction&)> body, std::function<void(std::exception_ptr)> done) {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) {
      done(std::make_exception_ptr(StorageError("the database is closing")));
      return;
    }
    queue_.push_back(Job{std::move(body), std::move(done)});
  }
  queue_ready_.notify_one();
}

void SqliteStore::writer_loop() {
  std::vector<Job> batch;
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(queue_mutex_);
      auto ready = [this] { return stopping_ || !queue_.empty(); };
      if (search_purge_owed_) {
        queue_ready_.wait_until(lock, search_purge_not_before_, ready);
      } else {
        queue_ready_.wait(lock, ready);
      }
      // Writes that keep coming right after a commit are let gather for the
      // rest of the window before the next batch starts: the cost of a
      // commit (its WAL frames, the fdatasync, the counters written once per
      // batch) is then shared by more messages. A write after a quiet
      // moment starts at once; under load each waits at most the window.
      auto gather_until = last_commit_ended_ + options_.group_commit_window;
      if (!stopping_ && !queue_.empty() && std::chrono::steady_clock::now() < gather_until) {
        lock.unlock();
        std::this_thread::sleep_until(gather_until);
        lock.lock();
      }
      stopping = stopping_;
      // The checkpointer may have caught up during the window: then a
      // RESTART costs only its locks.
      if (wal_fully_copied()) {
        lock.unlock();
        restart_wal(false);
        lock.lock();
      }
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!batch.empty()) {
      if (run_batch(batch)) search_purge_owed_ = true;
      batch.clear();
    }
    if (restart_wal_owed_) {
      restart_wal(true);
      restart_wal_owed_ = false;  // after the RESTART: the checkpointer waits for it
    } else if (wal_fully_copied()) {
      restart_wal(false);
    }
    // A clean stop purges what is owed, so that a stopped server's files
    // hold no deleted words whatever the interval.
    if (search_purge_owed_ && (stopping || std::chrono::steady_clock::now() >= search_purge_not_before_)) {
      purge_search_index();
    }
    if (stopping) {
      std::lock_guard lock(queue_mutex_);
      if (queue_.empty()) return;  // everything queued is done
    }
  }
}

void SqliteStore::purge_search_index() {
  auto started = std::chrono::steady_clock::now();
  try {
    writer_->exec("BEGIN IMMEDIATE");
    // Merges every segment into one; merging into the oldest level drops
    // the delete markers and the entries they cancel. Holds the writer for
    // the whole rewrite: with FTS5's incremental 'merge' and commits in
    // between, each step gathers the new segments into a new merge and none
    // ever reports being done (docs/architecture.md "Search").
    writer_->exec("INSERT INTO message_search (message_search) VALUES ('optimize')");
    writer_->exec("COMMIT");
  } catch (const std::exception& e) {
    writer_->release_statements();
    writer_->rollback_quietly();
    log::get("storage")->warn("search index purge failed error=\"{}\"", e.what());
    search_purge_not_before_ = std::chrono::steady_clock::now() + options_.search_purge_interval;
    return;
  }
  auto ended = std::chrono::steady_clock::now();
  search_purge_owed_ = false;
  // At most 1% of the writer's time, whatever the interval: at 1,000,000
  // messages a purge takes seconds (docs/benchmarks.md "Search").
  search_purge_not_before_ =
      ended + std::max<std::chrono::steady_clock::duration>(options_.search_purge_interval, 99 * (ended - started));
  {
    std::lock_guard lock(checkpoint_mutex_);
    truncate_wal_ = true;
  }
  checkpoint_wake_.notify_one();
  log::get("storage")->info("search index purged ms={}",
                            std::chrono::duration_cast<std::chrono::milliseconds>(ended - started).count());
}

bool SqliteStore::index_new_messages(Position last_pos) {
  // Read, not remembered: the delete trigger lowers it when the newest
  // indexed row goes (a new row may then take its id). Both marks in one
  // statement, and written back with the stream position in one: the
  // writer's fixed statements per commit.
  Statement& marks = writer_->prepare(
      "SELECT indexed_through, (SELECT COALESCE(MAX(id), 0) FROM messages), last_pos FROM stream_state");
  marks.step();
  MessageId indexed_through = marks.int64(0);
  MessageId newest = marks.int64(1);
  Position stored_pos = marks.int64(2);
  marks.reset();
  bool indexed = newest > indexed_through;
  if (indexed) writer_->prepare(kIndexNewMessages).bind(1, indexed_through).run();
  if (indexed || stored_pos != last_pos) {
    writer_->prepare("UPDATE stream_state SET last_pos = ?1, indexed_through = ?2")
        .bind(1, last_pos)
        .bind(2, std::max(newest, indexed_through))
        .run();
  }
  return indexed;
}

bool SqliteStore::run_batch(std::vector<Job>& batch) {
  auto started = std::chrono::steady_clock::now();
  std::vector<std::exception_ptr> errors(batch.size());
  std::vector<Event> events;
  Position position_before = last_position_;
  bool search_text_removed = false;
  bool messages_inserted = false;
  try {
    // Prepared once, like every statement on the writer: exec() would parse
    // BEGIN and COMMIT again for every batch.
    writer_->prepare("BEGIN IMMEDIATE").run();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      // A savepoint per write: one that throws is undone alone, the others
      // in the batch still commit. It is opened by the write's first
      // statement that may change the database (Connection::defer_savepoint):
      // a write that only reads, or is refused before it changes anything,
      // has nothing to undo and costs no SAVEPOINT and no RELEASE.
      writer_->defer_savepoint();
      std::size_t events_before = events.size();
      cache_.begin_write();
      try {
        SqliteTransaction tx(*writer_, SqliteTransaction::Writer{&last_position_, &events, &search_text_removed,
                                                                 &cache_, &messages_inserted});
        batch[i].body(tx);
        writer_->release_statements();  // no statement may be active at RELEASE
        writer_->release_savepoint();
        writer_->release_statements();
        cache_.release_write();
      } catch (...) {
        errors[i] = std::current_exception();
        writer_->release_statements();
        writer_->rollback_savepoint();
        writer_->release_statements();
        // The cache goes back with the rows: what the write loaded or changed.
        cache_.undo_write();
        events.resize(events_before);
      }
    }
    // Once per batch: the conversations' counters, the senders' read marks
    // and the stream position.
    for (auto* entry : cache_.pending_conversations()) {
      writer_->prepare("UPDATE conversations SET last_seq = ?2, last_pos = ?3 WHERE id = ?1")
          .bind(1, entry->row.id)
          .bind(2, entry->row.last_seq)
          .bind(3, entry->row.last_pos)
          .run();
    }
    for (auto [conversation, user, seq] : cache_.pending_reads()) {
      writer_->prepare("UPDATE members SET read_seq = ?3 WHERE conversation_id = ?1 AND user_id = ?2 AND read_seq < ?3")
          .bind(1, conversation)
          .bind(2, user)
          .bind(3, seq)
          .run();
    }
    // The batch's new messages enter the search index in one statement,
    // outside any write's savepoint (none is open here), so that they are
    // found from this commit on; the stream position is written with the
    // index's mark, in the same row.
    if (messages_inserted) {
      index_new_messages(last_position_);
    } else if (last_position_ != position_before) {
      writer_->prepare("UPDATE stream_state SET last_pos = ?1").bind(1, last_position_).run();
    }
    writer_->release_statements();
    writer_->prepare("COMMIT").run();
    cache_.committed();
  } catch (const std::exception& e) {
    // The commit itself failed (disk full, I/O error): nothing of the batch
    // is stored, so every write in it fails.
    log::get("storage")->error("write batch failed writes={} error=\"{}\"", batch.size(), e.what());
    writer_->release_statements();
    writer_->rollback_quietly();
    last_position_ = position_before;
    // Read everything again from what is committed.
    cache_.clear();
    auto failure = std::current_exception();
    for (auto& job : batch) job.done(failure);
    return false;
  }
  committed_position_ = last_position_;
  last_commit_ended_ = std::chrono::steady_clock::now();
  note_wal_frames();
  if (observer_) observer_(true, batch.size(), std::chrono::steady_clock::now() - started);
  if (sink_ != nullptr && !events.empty()) sink_->committed(events);
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(errors[i]);
  if (sink_ != nullptr && !events.empty()) sink_->publish(std::move(events));
  return search_text_removed;
}

void SqliteStore::run_read(const std::function<void(Transaction&)>& body) {
  auto started = std::chrono::steady_clock::now();
  auto reader = acquire_reader();
  reader->exec("BEGIN");
  try {
    SqliteTransaction tx(*reader, committed_position_.load());
    body(tx);
    reader->release_statements();
    reader->exec("COMMIT");
  } catch (...) {
    reader->release_statements();
    reader->rollback_quietly();
    throw;
  }
  release_reader(std::move(reader));
  if (observer_) observer_(false, 1, std::chrono::steady_clock::now() - started);
}

bool SqliteStore::ping() {
  try {
    return read([](Transaction& tx) {
      tx.user_by_id(0);
      return true;
    });
  } catch (const StorageError& e) {
    log::get("storage")->error("ping failed error=\"{}\"", e.what());
    return false;
  }
}

int SqliteStore::schema_version() {
  auto reader = acquire_reader();
  Statement& query = reader->prepare("PRAGMA user_version");
  query.step();
  int version = static_cast<int>(query.int64(0));
  reader->release_statements();
  release_reader(std::move(reader));
  return version;
}

}  // namespace parley::storage::sqlite
