// Opens the storage backend the configuration names (docs/architecture.md
// "Storage"): SQLite in the data folder, or PostgreSQL at
// storage.postgres_url. For parleyd and its subcommands.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "core/config.hpp"
#include "storage/store.hpp"

namespace parley::storage {

struct OpenedStore {
  std::unique_ptr<Store> store;
  // Finishes the queued writes and stops the writer (SqliteStore::stop,
  // PgStore::stop).
  std::function<void()> stop;
};

using StoreObserver = std::function<void(bool write, std::size_t writes, std::chrono::duration<double> elapsed)>;

// Throws StorageError (of the backend) when the database cannot be opened
// or reached, or its schema is newer than this binary knows.
OpenedStore open_store(const StorageOptions& options, const std::filesystem::path& data_dir,
                       StoreObserver observer = {});

}  // namespace parley::storage
