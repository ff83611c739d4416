// The embedded storage backend: one SQLite database file in WAL mode.
//
// Writes are serialised on one writer connection (SQLite allows one writer at
// a time anyway; queuing them here avoids SQLITE_BUSY retries). Reads use a
// small pool of reader connections, which in WAL mode see a consistent
// snapshot and never wait for the writer.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/config.hpp"
#include "storage/store.hpp"

namespace parley::storage::sqlite {

class Connection;

// Called after every transaction with its kind and how long it took,
// including the wait for a connection (for metrics).
using TransactionObserver = std::function<void(bool write, std::chrono::duration<double> elapsed)>;

class SqliteStore final : public Store {
 public:
  // Opens or creates the database at `path` and migrates it to the newest
  // schema. Throws StorageError if the file cannot be opened, a migration
  // fails (nothing is changed then), or the file's schema is newer than this
  // binary knows.
  SqliteStore(const std::filesystem::path& path, const StorageOptions& options,
              TransactionObserver observer = {});
  ~SqliteStore() override;

  bool ping() override;

  // The schema version the database is at.
  int schema_version();

 protected:
  void run_transaction(Mode mode, const std::function<void(Transaction&)>& body) override;

 private:
  std::unique_ptr<Connection> open_connection();
  std::unique_ptr<Connection> acquire_reader();
  void release_reader(std::unique_ptr<Connection> connection);

  std::filesystem::path path_;
  StorageOptions options_;
  TransactionObserver observer_;

  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;  // guarded by writer_mutex_

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mutex_
};

}  // namespace parley::storage::sqlite
