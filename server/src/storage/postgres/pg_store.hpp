// The PostgreSQL storage backend (docs/architecture.md "PostgreSQL"), for
// deployments with several parleyd nodes on one database.
//
// Writes go to one writer thread per node, which owns the node's only write
// connection: it takes every queued write (up to kMaxBatch), runs them in
// one READ COMMITTED transaction, commits once, and only then completes them
// (group commit, as SqliteStore). Sends (submit_send) are answered from
// what the batch read for all of them at its start and written together
// with its commit; other writes run each in a savepoint. A failure among
// the sends' rows undoes them (one savepoint) and runs them again one at a
// time, each in its savepoint, so that only the failing write fails. A batch first locks the
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

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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
  // Hinted sends are read for their whole batch in the round trip that
  // takes the stream lock, and written together with its commit (SendBatch).
  void submit_send(std::function<void(Transaction&)> body, std::function<void(std::exception_ptr)> done,
                   SendHint hint) override;
  void set_event_sink(EventSink* sink) override { sink_ = sink; }
  bool ping() override;

  // The schema version the database is at.
  int schema_version();

  // What the writer did so far (logged when the store stops): batches
  // committed, how long they held the stream lock (from the answer that
  // granted it to the COMMIT's answer), sends answered from their batch's
  // reads (SendBatch), and segments of sends run again one at a time after
  // a failure among them.
  struct WriterStats {
    std::uint64_t batches = 0;
    std::chrono::nanoseconds lock_held{0};
    std::uint64_t sends_answered = 0;
    std::uint64_t segments_run_again = 0;
  };
  WriterStats writer_stats() const;

 protected:
  void run_read(const std::function<void(Transaction&)>& body) override;

 private:
  struct Job {
    std::function<void(Transaction&)> body;
    std::function<void(std::exception_ptr)> done;
    std::optional<SendHint> hint;  // a send's: its body may run again
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
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::int64_t> lock_held_ns_{0};
  std::atomic<std::uint64_t> sends_answered_{0};
  std::atomic<std::uint64_t> segments_run_again_{0};

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
