#include "storage/open_store.hpp"

#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::storage {

OpenedStore open_store(const StorageOptions& options, const std::filesystem::path& data_dir, StoreObserver observer) {
  OpenedStore opened;
  if (options.backend == StorageBackend::kPostgres) {
    auto store = std::make_unique<postgres::PgStore>(
        postgres::PgOptions{options.postgres_url, options.postgres_pool_size}, std::move(observer));
    auto* raw = store.get();
    opened.stop = [raw] { raw->stop(); };
    opened.store = std::move(store);
  } else {
    auto store = std::make_unique<sqlite::SqliteStore>(data_dir / "parley.db", options, std::move(observer));
    auto* raw = store.get();
    opened.stop = [raw] { raw->stop(); };
    opened.store = std::move(store);
  }
  return opened;
}

}  // namespace parley::storage
