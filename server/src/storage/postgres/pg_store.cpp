#include "storage/postgres/pg_store.hpp"

#include <pthread.h>

#include <fmt/format.h>

#include "core/log.hpp"
#include "storage/migration.hpp"
#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_transaction.hpp"

namespace parley::storage::postgres {
namespace {

// The advisory lock migrations run under: any constant the application
// does not use for anything else ("parley" in ASCII).
constexpr std::int64_t kMigrationLock = 0x706172'6c6579;

}  // namespace

int migrate(Connection& connection) {
  const auto& migrations = postgres_migrations();
  auto logger = log::get("storage");
  connection.exec("BEGIN");
  try {
    connection.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLock));
    connection.exec(
        "CREATE TABLE IF NOT EXISTS parley_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);"
        "INSERT INTO parley_schema (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING");
    Statement& query = connection.prepare("SELECT version FROM parley_schema");
    query.step();
    int current = static_cast<int>(query.int64(0));
    connection.release_statements();
    int latest = migrations.empty() ? 0 : migrations.back().version;
    if (current > latest) {
      throw StorageError(fmt::format(
          "database schema version {} is newer than this parleyd knows ({}); refusing to start", current, latest));
    }
    for (const Migration& migration : migrations) {
      if (migration.version <= current) continue;
      logger->info("applying migration version={} name={}", migration.version, migration.name);
      try {
        connection.exec(migration.sql);
      } catch (const StorageError& e) {
        throw StorageError(fmt::format("migration {} failed: {}", migration.name, e.what()));
      }
    }
    connection.prepare("UPDATE parley_schema SET version = ?1").bind(1, std::int64_t{latest}).run();
    connection.release_statements();
    connection.exec("COMMIT");
    return latest;
  } catch (...) {
    connection.rollback_quietly();
    throw;
  }
}

PgStore::PgStore(PgOptions options, TransactionObserver observer)
    : options_(std::move(options)), observer_(std::move(observer)) {
  if (options_.pool_size == 0) options_.pool_size = 1;
  writer_ = std::make_unique<Connection>(options_.conninfo);
  int version = migrate(*writer_);
  log::get("storage")->info("postgres database ready schema_version={} pool_size={}", version, options_.pool_size);
  writer_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "parley-writer");
    writer_loop();
  });
}

PgStore::~PgStore() { stop(); }

void PgStore::stop() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_one();
  if (writer_thread_.joinable()) {
    writer_thread_.join();
    auto stats = writer_stats();
    if (stats.batches > 0) {
      log::get("storage")->info(
          "postgres writer stopped batches={} lock_held_ms_per_batch={:.3f} sends_answered={} segments_run_again={}",
          stats.batches, std::chrono::duration<double, std::milli>(stats.lock_held).count() / stats.batches,
          stats.sends_answered, stats.segments_run_again);
    }
  }
}

PgStore::WriterStats PgStore::writer_stats() const {
  WriterStats stats;
  stats.batches = batches_.load();
  stats.lock_held = std::chrono::nanoseconds(lock_held_ns_.load());
  stats.sends_answered = sends_answered_.load();
  stats.segments_run_again = segments_run_again_.load();
  return stats;
}

std::unique_ptr<Connection> PgStore::acquire_reader() {
  {
    std::unique_lock lock(readers_mutex_);
    // Bounded: past pool_size connections a read waits for one to be free
    // (reads are short and never wait on each other).
    reader_free_.wait(lock, [this] { return !idle_readers_.empty() || open_readers_ < options_.pool_size; });
    if (!idle_readers_.empty()) {
      auto connection = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return connection;
    }
    ++open_readers_;
  }
  try {
    return std::make_unique<Connection>(options_.conninfo);
  } catch (...) {
    std::lock_guard lock(readers_mutex_);
    --open_readers_;
    reader_free_.notify_one();
    throw;
  }
}

void PgStore::release_reader(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(readers_mutex_);
  if (connection && connection->ok()) {
    idle_readers_.push_back(std::move(connection));
  } else {
    --open_readers_;  // broken: the next read opens a new one
  }
  reader_free_.notify_one();
}

void PgStore::drop_idle_readers() {
  std::vector<std::unique_ptr<Connection>> dropped;
  {
    std::lock_guard lock(readers_mutex_);
    dropped.swap(idle_readers_);
    open_readers_ -= dropped.size();
  }
  reader_free_.notify_all();
  // Closed here, outside the lock.
}

void PgStore::run_read(const std::function<void(Transaction&)>& body) {
  auto started = std::chrono::steady_clock::now();
  auto reader = acquire_reader();
  try {
    reader->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  } catch (const ConnectionLost&) {
    // An idle connection of the pool that PostgreSQL closed meanwhile (a
    // restart, an idle timeout), and so most likely every idle one: nothing
    // ran on it yet, so they are all dropped and the read starts once more
    // on a new connection instead of failing requests after the database is
    // back.
    release_reader(nullptr);
    drop_idle_readers();
    reader = acquire_reader();
    try {
      reader->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    } catch (...) {
      release_reader(std::move(reader));
      throw;
    }
  }
  try {
    PgTransaction tx(*reader);
    body(tx);
    reader->release_statements();
    reader->exec("COMMIT");
  } catch (...) {
    reader->rollback_quietly();
    release_reader(std::move(reader));
    throw;
  }
  release_reader(std::move(reader));
  if (observer_) observer_(false, 1, std::chrono::steady_clock::now() - started);
}

void PgStore::submit_write(std::function<void(Transaction&)> body, std::function<void(std::exception_ptr)> done) {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) {
      done(std::make_exception_ptr(StorageError("the database is closing")));
      return;
    }
    queue_.push_back(Job{std::move(body), std::move(done), std::nullopt});
  }
  queue_ready_.notify_one();
}

void PgStore::submit_send(std::function<void(Transaction&)> body, std::function<void(std::exception_ptr)> done,
                          SendHint hint) {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) {
      done(std::make_exception_ptr(StorageError("the database is closing")));
      return;
    }
    queue_.push_back(Job{std::move(body), std::move(done), std::move(hint)});
  }
  queue_ready_.notify_one();
}

void PgStore::writer_loop() {
  std::vector<Job> batch;
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(queue_mutex_);
      queue_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      stopping = stopping_;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!batch.empty()) {
      run_batch(batch);
      batch.clear();
    }
    if (stopping) {
      std::lock_guard lock(queue_mutex_);
      if (queue_.empty()) return;
    }
  }
}

void PgStore::run_batch(std::vector<Job>& batch) {
  auto started = std::chrono::steady_clock::now();
  std::vector<std::exception_ptr> errors(batch.size());
  std::vector<Event> events;
  Position last_position = 0;
  Position position_before = 0;
  SendBatch sends;
  try {
    if (!writer_ || !writer_->ok()) {
      writer_.reset();
      writer_ = std::make_unique<Connection>(options_.conninfo);
      log::get("storage")->info("postgres writer connected again");
    }
    Connection& db = *writer_;
    // The stream lock, first: every batch of every node takes it before any
    // other lock, so batches never deadlock on each other, run one at a
    // time, and READ COMMITTED statements see every earlier batch. BEGIN,
    // the lock and, when the batch has sends, what they will read go in one
    // round trip: the reads run after the lock is granted, so they see
    // every batch committed before this one.
    std::vector<SendHint> hints;
    for (const auto& job : batch) {
      if (job.hint) hints.push_back(*job.hint);
    }
    db.defer("BEGIN");
    Statement& lock = db.prepare("SELECT last_pos FROM stream_state WHERE id = 1 FOR UPDATE");
    if (!hints.empty()) {
      sends.prefetch(db, lock, hints);
    } else {
      db.run_together({&lock});
    }
    lock.step();
    auto locked = std::chrono::steady_clock::now();
    last_position = lock.int64(0);
    db.release_statements();
    position_before = last_position;
    sends.writes = db.writes_run();
    // Held rows go out ahead of anything else the connection sends.
    db.set_before_send([&db, &sends] { defer_held_writes(db, sends); });
    struct Unhook {
      Connection& db;
      ~Unhook() { db.set_before_send({}); }
    } unhook{db};

    // Writes other than answered sends run each in a savepoint: one that
    // throws is undone alone, with the positions it took (so committed
    // positions have no gaps). The savepoint costs no round trip of its
    // own: it is deferred (Connection::defer) and goes with the write's
    // first statement, in one pipeline; the previous write's RELEASE goes
    // with it; the last write's is the COMMIT's doing. After a ROLLBACK TO
    // the savepoint is still open and empty and serves the next write as it
    // is, and a write that sent no statement has nothing to roll back.
    bool need_savepoint = true;  // the open savepoint, if any, holds a kept write
    bool first = true;
    // Consecutive sends answered from the batch's reads form a segment,
    // under one savepoint ("seg"), with no savepoint per send: their rows
    // are held back and go, set-based, with the next statement or the
    // COMMIT. If anything among them fails, the segment is rolled back and
    // its writes run again the careful way, each in its savepoint, so that
    // only the failing one fails.
    std::optional<std::size_t> segment;
    Position segment_position = 0;
    std::size_t segment_events = 0;
    auto answerable = [&] {
      if (!sends.valid) return false;
      if (db.writes_run() != sends.writes) sends.valid = false;  // a write ran for real: the reads may be stale
      return sends.valid;
    };
    // Undoes the open segment; returns its first write, to run again.
    auto undo_segment = [&](std::string_view why) {
      log::get("storage")->warn("write batch: a send failed among others, running them one at a time error=\"{}\"",
                                why);
      sends.clear_held();
      sends.on = false;
      sends.valid = false;
      segments_run_again_.fetch_add(1);
      db.exec("ROLLBACK TO SAVEPOINT seg");
      last_position = segment_position;
      events.resize(segment_events);
      std::size_t from = *segment;
      segment.reset();
      for (std::size_t k = from; k < batch.size(); ++k) errors[k] = nullptr;
      return from;
    };
    auto what = [](std::exception_ptr error) -> std::string {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        return e.what();
      } catch (...) {
        return "unknown error";
      }
    };

    bool committed = false;
    std::size_t i = 0;
    while (!committed) {
      while (i < batch.size()) {
        Job& job = batch[i];
        if (job.hint && answerable()) {
          if (!segment) {
            db.defer("SAVEPOINT seg");
            segment = i;
            segment_position = last_position;
            segment_events = events.size();
            need_savepoint = true;  // a write after the segment gets a savepoint of its own
            sends.on = true;
          }
          std::uint64_t inserted = sends.inserted;
          std::uint64_t writes = db.writes_run();
          std::size_t events_before = events.size();
          Position job_position = last_position;
          std::optional<std::string> undo;
          try {
            PgTransaction tx(db, PgTransaction::Writer{&last_position, &events, &sends});
            job.body(tx);
            db.release_statements();
            if (db.in_failed_transaction()) undo = "a statement failed";
          } catch (const ConnectionLost&) {
            throw;
          } catch (...) {
            db.release_statements();
            // A send refused by its checks changed nothing: it fails alone.
            // One that held rows, wrote for real or failed a statement
            // cannot be undone alone.
            if (sends.inserted != inserted || db.writes_run() != writes || db.in_failed_transaction()) {
              undo = what(std::current_exception());
            } else {
              errors[i] = std::current_exception();
              events.resize(events_before);
              last_position = job_position;
            }
          }
          i = undo ? undo_segment(*undo) : i + 1;
          continue;
        }
        if (segment) {
          // The segment's rows go before this write runs, so that a
          // failure among them is theirs.
          sends.on = false;
          try {
            db.flush("RELEASE SAVEPOINT seg");
            segment.reset();
          } catch (const ConnectionLost&) {
            throw;
          } catch (const std::exception& e) {
            i = undo_segment(e.what());
            continue;
          }
        }
        if (need_savepoint) {
          if (!first) db.defer("RELEASE SAVEPOINT job");
          db.defer("SAVEPOINT job");
          first = false;
          need_savepoint = false;
        }
        std::size_t events_before = events.size();
        Position job_position = last_position;
        std::uint64_t statements_before = db.statements_run();
        try {
          PgTransaction tx(db, PgTransaction::Writer{&last_position, &events});
          job.body(tx);
          db.release_statements();
          // A write that sent nothing left the savepoint (still deferred) as
          // it was.
          need_savepoint = db.statements_run() != statements_before;
        } catch (const ConnectionLost&) {
          throw;  // the whole batch is lost
        } catch (...) {
          errors[i] = std::current_exception();
          db.release_statements();
          if (db.statements_run() != statements_before) db.exec("ROLLBACK TO SAVEPOINT job");
          events.resize(events_before);
          last_position = job_position;
        }
        ++i;
      }
      // The newest position and the commit in one round trip (the position
      // is an integer of ours: formatted into the text, nothing to quote),
      // after the open segment's rows if any.
      std::string position_update =
          last_position != position_before
              ? fmt::format("UPDATE stream_state SET last_pos = {} WHERE id = 1", last_position)
              : std::string();
      if (!segment) {
        db.exec(position_update.empty() ? std::string("COMMIT") : position_update + "; COMMIT");
        committed = true;
        break;
      }
      sends.on = false;
      if (!position_update.empty()) db.defer(position_update);
      try {
        db.flush("COMMIT");
        committed = true;
      } catch (const ConnectionLost&) {
        throw;
      } catch (const std::exception& e) {
        // A held row failed and the COMMIT was skipped: the transaction is
        // open, the segment's savepoint in it (if the COMMIT itself had
        // failed, the ROLLBACK TO fails and so does the batch).
        i = undo_segment(e.what());
      }
    }
    lock_held_ns_.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - locked).count());
    batches_.fetch_add(1);
    sends_answered_.fetch_add(sends.inserted);
  } catch (const std::exception& e) {
    // Nothing of the batch is known to be stored (a commit whose answer was
    // lost may have happened: the caller retries with the same ids, which
    // the services make idempotent), so every write in it fails.
    log::get("storage")->error("write batch failed writes={} error=\"{}\"", batch.size(), e.what());
    if (writer_) {
      writer_->rollback_quietly();
      if (!writer_->ok()) writer_.reset();
    }
    auto failure = std::make_exception_ptr(StorageError(fmt::format("write failed: {}", e.what())));
    for (auto& job : batch) job.done(failure);
    return;
  }
  if (observer_) observer_(true, batch.size(), std::chrono::steady_clock::now() - started);
  if (sink_ != nullptr && !events.empty()) sink_->committed(events);
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(errors[i]);
  // The range, even without events: other nodes learn that its unused
  // positions are empty (a retried send's, say) instead of waiting for them.
  if (sink_ != nullptr && last_position != position_before) {
    sink_->publish_range(position_before, last_position, std::move(events));
  }
}

bool PgStore::ping() {
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

int PgStore::schema_version() {
  auto reader = acquire_reader();
  int version = 0;
  try {
    Statement& query = reader->prepare("SELECT version FROM parley_schema");
    query.step();
    version = static_cast<int>(query.int64(0));
    reader->release_statements();
  } catch (...) {
    release_reader(std::move(reader));
    throw;
  }
  release_reader(std::move(reader));
  return version;
}

}  // namespace parley::storage::postgres
