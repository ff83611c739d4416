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
  if (writer_thread_.joinable()) writer_thread_.join();
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
    queue_.push_back(Job{std::move(body), std::move(done)});
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
  try {
    if (!writer_ || !writer_->ok()) {
      writer_.reset();
      writer_ = std::make_unique<Connection>(options_.conninfo);
      log::get("storage")->info("postgres writer connected again");
    }
    writer_->exec("BEGIN");
    // The stream lock, first: every batch of every node takes it before any
    // other lock, so batches never deadlock on each other, run one at a
    // time, and READ COMMITTED statements see every earlier batch.
    Statement& lock = writer_->prepare("SELECT last_pos FROM stream_state WHERE id = 1 FOR UPDATE");
    lock.step();
    last_position = lock.int64(0);
    writer_->release_statements();
    position_before = last_position;
    // A savepoint per write: one that throws is undone alone, with the
    // positions it took (so committed positions have no gaps). Round trips
    // are what the stream lock is held for, so the savepoint costs none of
    // its own: it is deferred (Connection::defer) and goes with the write's
    // first statement, in one pipeline; the previous write's RELEASE goes
    // with it; the last write's is the COMMIT's doing. After a ROLLBACK TO
    // the savepoint is still open and empty and serves the next write as it
    // is, and a write that sent no statement has nothing to roll back.
    bool need_savepoint = true;  // the open savepoint, if any, holds a kept write
    bool first = true;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (need_savepoint) {
        if (!first) writer_->defer("RELEASE SAVEPOINT job");
        writer_->defer("SAVEPOINT job");
        first = false;
        need_savepoint = false;
      }
      std::size_t events_before = events.size();
      Position job_position = last_position;
      std::uint64_t statements_before = writer_->statements_run();
      try {
        PgTransaction tx(*writer_, PgTransaction::Writer{&last_position, &events});
        batch[i].body(tx);
        writer_->release_statements();
        // A write that sent nothing left the savepoint (still deferred) as
        // it was.
        need_savepoint = writer_->statements_run() != statements_before;
      } catch (const ConnectionLost&) {
        throw;  // the whole batch is lost
      } catch (...) {
        errors[i] = std::current_exception();
        writer_->release_statements();
        if (writer_->statements_run() != statements_before) writer_->exec("ROLLBACK TO SAVEPOINT job");
        events.resize(events_before);
        last_position = job_position;
      }
    }
    // The newest position and the commit in one round trip (the position is
    // an integer of ours: formatted into the text, nothing to quote).
    if (last_position != position_before) {
      writer_->exec(fmt::format("UPDATE stream_state SET last_pos = {} WHERE id = 1; COMMIT", last_position));
    } else {
      writer_->exec("COMMIT");
    }
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
