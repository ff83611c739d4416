// Personal data exports: the jobs behind POST /api/v1/me/export
// (docs/security.md "Personal data export"; routes in export_routes.cpp, the
// archive in export_archive.hpp).
//
// A request inserts a 'pending' row (in the same write that checks the
// rules: one unfinished export per user, `conflict` otherwise; at most one
// per export.min_interval_seconds, failed ones not counted,
// `too_many_requests` otherwise) and queues the job. One worker thread runs
// the jobs in turn: running, then the archive written to
// DATA_DIR/exports/<id>.zip.tmp, fsync, rename to <id>.zip, then ready with
// its size, digest and expiry. An error makes it failed (the user may ask
// again at once).
//
// The sweeper (every export.sweep_interval_seconds, on a thread of its own)
// marks ready exports past their expiry expired, then deletes their files.
// At start-up, recover() fails what a previous process left unfinished and
// deletes every file in the folder that is not the archive of a ready
// export (temporary files, and archives whose row expired or went before
// their file).
//
// Account deletion deletes the rows in its write and the files after it
// (remove_archives). A job whose row went meanwhile finds nothing to finish
// and deletes its own file.
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "storage/records.hpp"

namespace parley::storage {
class Store;
class BlobStore;
}  // namespace parley::storage

namespace parley::account {

class ExportService {
 public:
  // Archives go in `dir` (created, mode 0700). Nothing runs until recover()
  // and start().
  ExportService(boost::asio::io_context& io, storage::Store& store, storage::BlobStore& blobs,
                const ExportOptions& options, std::filesystem::path dir);
  // Waits for the job in progress (stop() makes it end soon).
  ~ExportService();
  ExportService(const ExportService&) = delete;
  ExportService& operator=(const ExportService&) = delete;

  // At start-up, before serving. Blocks.
  void recover();
  // Starts the sweeper's timer on the io_context.
  void start();
  // Stops the sweeper and interrupts the job in progress (its row stays
  // running: the next start fails it); queued jobs are not started.
  // Idempotent.
  void stop();
  // Waits until the workers are idle after stop(). Blocks.
  void join();

  // Starts an export of `user`'s data: the new pending row. Throws
  // ApiError kConflict while one is pending or running, kTooManyRequests
  // (with Retry-After) within min_interval of the previous one.
  [[nodiscard]] boost::asio::awaitable<storage::DataExport> request(storage::UserId user);

  // The share done of a running export (0 to 1), if it is running here.
  [[nodiscard]] std::optional<double> progress(std::string_view id) const;
  // Where a ready export's archive is.
  [[nodiscard]] std::filesystem::path archive_path(std::string_view id) const;

  // Deletes the archives of these exports (rows already gone), on the
  // sweeper's thread; resumes the caller when they are gone.
  [[nodiscard]] boost::asio::awaitable<void> remove_archives(std::vector<storage::ExportId> ids);
  // Expires ready exports past their expiry and deletes their files.
  // Returns how many. Blocks.
  std::size_t sweep_expired();

  // Whether `id` has the form of an export id (anything else cannot exist
  // and never reaches a query or a file name).
  [[nodiscard]] static bool plausible_id(std::string_view id);

 private:
  void run_job(const storage::ExportId& id, storage::UserId user);
  void schedule_sweep();
  void remove_file(const std::filesystem::path& path) const;

  boost::asio::io_context& io_;
  storage::Store& store_;
  storage::BlobStore& blobs_;
  ExportOptions options_;
  std::filesystem::path dir_;
  boost::asio::thread_pool workers_{1};  // the export jobs, one at a time
  boost::asio::thread_pool sweeper_{1};  // expiry and removals: never behind a long job
  boost::asio::steady_timer sweep_timer_;
  mutable std::mutex progress_mutex_;
  std::map<std::string, double, std::less<>> progress_;  // guarded by progress_mutex_
  std::atomic<bool> stopped_{false};
  std::atomic<bool> joined_{false};
};

// The JSON shape of an export (docs/openapi.yaml DataExport). `progress`
// is the running share (0 to 1), if known; the view shows it in percent.
[[nodiscard]] boost::json::object export_view(const storage::DataExport& data_export, std::optional<double> progress);

}  // namespace parley::account
