// The PostgreSQL storage backend (docs/architecture.md "PostgreSQL"), for
// deployments with several parleyd nodes on one database.
//
// Writes go to one writer thread per node, which owns the node's only write
// connection: it takes every queued write (up to kMaxBatch), runs each in a
// savepoint of one READ COMMITTED transaction, commits once, and only then
// completes them (group commit, as SqliteStore). A batch first locks the
// one-row stream_state table (SELECT ... FOR UPDATE) and keeps the lock to
// its commit: batches of all nodes thus run one after another, each sees
// everything committed before it, and positions become visible in order
// without gaps (docs/architecture.md "Event order across nodes").
//
// Reads use a bounded pool of connections, each read one REPEATABLE READ
// READ ONLY transaction: a consistent snapshot.
//
// A lost connection (PostgreSQL restarted, network cut) fails the writes of
// the batch it hit, and reads in flight, with StorageError (an `internal`
// answer): no write completes without its commit. The writer connects again
// for the next batch; readers are replaced as they are found broken.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.hpp"

namespace parley::storage::postgres {

class Connection;

// As sqlite::TransactionObserver: after every transaction, for metrics.
using TransactionObserver =
    std::function<void(bool write, std::size_t writes, std::chrono::duration<double> elapsed)>;

struct PgOptions {
  std::string conninfo;        // a libpq connection string or postgresql:// URL
  std::size_t pool_size = 8;   // reader connections at most
};

class PgStore final : public Store {
 public:
  static constexpr std::size_t kMaxBatch = 512;

  // Connects and migrates the database to the newest schema. Throws
  // StorageError if PostgreSQL cannot be reached, a migration fails
  // (nothing is changed then), or the database's schema is newer than this
  // binary knows.
  explicit PgStore(PgOptions options, TransactionObserver observer = {});
  ~PgStore() override;

  // Finishes the queued writes and stops the writer; later writes fail at
  // once. Idempotent.
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

  std::unique_ptr<Connection> acquire_reader();
  void release_reader(std::unique_ptr<Connection> connection);
  // Closes every idle reader (after one turned out broken).
  void drop_idle_readers();
  void writer_loop();
  void run_batch(std::vector<Job>& batch);

  PgOptions options_;
  TransactionObserver observer_;
  EventSink* sink_ = nullptr;

  std::unique_ptr<Connection> writer_;  // used only by writer_thread_; null after a failure

  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::deque<Job> queue_;  // guarded by queue_mutex_
  bool stopping_ = false;  // guarded by queue_mutex_
  std::thread writer_thread_;

  std::mutex readers_mutex_;
  std::condition_variable reader_free_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mutex_
  std::size_t open_readers_ = 0;                           // guarded by readers_mutex_
};

// Applies the migrations the database lacks, in one transaction, under an
// advisory lock (nodes starting together migrate once). Returns the version.
int migrate(Connection& connection);

}  // namespace parley::storage::postgres
