#include "storage/sqlite/sqlite_store.hpp"

#include "core/log.hpp"
#include "storage/migration.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/migrate.hpp"
#include "storage/sqlite/sqlite_transaction.hpp"

namespace parley::storage::sqlite {
namespace {

// Reader connections kept open; more are opened under load and closed after.
constexpr std::size_t kMaxIdleReaders = 8;

}  // namespace

SqliteStore::SqliteStore(const std::filesystem::path& path, const StorageOptions& options,
                         TransactionObserver observer)
    : path_(path), options_(options), observer_(std::move(observer)) {
  writer_ = open_connection();
  // WAL: readers never block the writer nor each other. The mode is stored in
  // the file, so it only needs setting once, but setting it again is free.
  writer_->exec("PRAGMA journal_mode = WAL");
  int version = migrate(*writer_, sqlite_migrations());
  log::get("storage")->info("sqlite database ready path={} schema_version={}", path_.string(), version);
}

SqliteStore::~SqliteStore() {
  std::lock_guard lock(writer_mutex_);
  // A clean close checkpoints the WAL into the main file, so a stopped server
  // leaves one self-contained database file behind.
  writer_.reset();
}

std::unique_ptr<Connection> SqliteStore::open_connection() {
  auto connection = std::make_unique<Connection>(path_);
  connection->exec("PRAGMA foreign_keys = ON");
  // Waiting briefly beats failing: a checkpoint may hold the lock for a moment.
  connection->exec("PRAGMA busy_timeout = 5000");
  connection->exec(options_.sqlite_synchronous == SqliteSynchronous::kFull ? "PRAGMA synchronous = FULL"
                                                                          : "PRAGMA synchronous = NORMAL");
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

void SqliteStore::run_transaction(Mode mode, const std::function<void(Transaction&)>& body) {
  auto started = std::chrono::steady_clock::now();
  auto run = [&](Connection& connection, std::string_view begin) {
    connection.exec(begin);
    try {
      SqliteTransaction tx(connection);
      body(tx);
      connection.release_statements();
      connection.exec("COMMIT");
    } catch (...) {
      connection.release_statements();
      connection.rollback_quietly();
      throw;
    }
  };
  if (mode == Mode::kWrite) {
    std::lock_guard lock(writer_mutex_);
    run(*writer_, "BEGIN IMMEDIATE");
  } else {
    auto reader = acquire_reader();
    run(*reader, "BEGIN");
    release_reader(std::move(reader));
  }
  if (observer_) observer_(mode == Mode::kWrite, std::chrono::steady_clock::now() - started);
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
  std::lock_guard lock(writer_mutex_);
  Statement& query = writer_->prepare("PRAGMA user_version");
  query.step();
  int version = static_cast<int>(query.int64(0));
  writer_->release_statements();
  return version;
}

}  // namespace parley::storage::sqlite
