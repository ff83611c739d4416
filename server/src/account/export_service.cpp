#include "account/export_service.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

#include "account/export_archive.hpp"
#include "core/clock.hpp"
#include "core/offload.hpp"
#include "core/random_id.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "storage/store.hpp"

namespace parley::account {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using storage::DataExport;
using storage::ExportState;
using storage::Transaction;

namespace {

constexpr const char* kArchiveSuffix = ".zip";
// Expired exports handled per sweep transaction.
constexpr std::size_t kSweepBatch = 100;

std::int64_t millis(std::chrono::seconds seconds) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(seconds).count();
}

}  // namespace

ExportService::ExportService(asio::io_context& io, storage::Store& store, storage::BlobStore& blobs,
                             const ExportOptions& options, fs::path dir)
    : io_(io), store_(store), blobs_(blobs), options_(options), dir_(std::move(dir)), sweep_timer_(io) {
  fs::create_directories(dir_);
  ::chmod(dir_.c_str(), 0700);
}

ExportService::~ExportService() {
  stop();
  join();
}

bool ExportService::plausible_id(std::string_view id) {
  if (id.size() != 22) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

fs::path ExportService::archive_path(std::string_view id) const { return dir_ / (std::string(id) + kArchiveSuffix); }

void ExportService::remove_file(const fs::path& path) const {
  std::error_code ec;
  if (!fs::remove(path, ec) && ec) {
    log::get("export")->error("removing an archive failed path={} error=\"{}\"", path.string(), ec.message());
  }
}

void ExportService::recover() {
  auto logger = log::get("export");
  auto failed = store_.write_blocking([](Transaction& tx) {
    return tx.fail_unfinished_exports("the server restarted while the export was being made; ask again", now_millis());
  });
  if (!failed.empty()) logger->warn("unfinished exports failed at start-up count={}", failed.size());
  auto ready = store_.read([](Transaction& tx) { return tx.ready_exports(); });
  std::set<std::string> keep;
  for (const auto& id : ready) keep.insert(id + kArchiveSuffix);
  std::size_t removed = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (keep.contains(entry.path().filename().string())) continue;
    remove_file(entry.path());
    ++removed;
  }
  if (removed > 0) logger->info("left-over export files removed count={}", removed);
}

void ExportService::start() { schedule_sweep(); }

void ExportService::stop() {
  if (stopped_.exchange(true)) return;
  asio::post(io_, [this] { sweep_timer_.cancel(); });
}

void ExportService::join() {
  if (joined_.exchange(true)) return;
  workers_.join();
  sweeper_.join();
}

void ExportService::schedule_sweep() {
  sweep_timer_.expires_after(options_.sweep_interval);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    asio::post(sweeper_, [this] {
      try {
        sweep_expired();
      } catch (const std::exception& e) {
        log::get("export")->error("export sweep failed error=\"{}\"", e.what());
      }
      asio::post(io_, [this] {
        if (!stopped_) schedule_sweep();
      });
    });
  });
}

std::size_t ExportService::sweep_expired() {
  std::size_t total = 0;
  for (;;) {
    // Row first, then file: a crash in between leaves a file that recover()
    // deletes, never a ready row without its file.
    auto now = now_millis();
    auto expired = store_.write_blocking([&](Transaction& tx) { return tx.expire_exports(now, kSweepBatch); });
    for (const auto& id : expired) remove_file(archive_path(id));
    total += expired.size();
    if (expired.size() < kSweepBatch) break;
  }
  if (total > 0) log::get("export")->info("expired exports deleted count={}", total);
  return total;
}

asio::awaitable<void> ExportService::remove_archives(std::vector<storage::ExportId> ids) {
  auto remove = [&] {
    for (const auto& id : ids) {
      if (plausible_id(id)) remove_file(archive_path(id));
    }
  };
  co_await parley::offload(sweeper_, remove);
}

asio::awaitable<DataExport> ExportService::request(storage::UserId user) {
  DataExport data_export;
  data_export.id = random_base64url(16);
  data_export.user_id = user;
  data_export.state = ExportState::kPending;
  data_export.created_at = now_millis();
  auto interval = millis(options_.min_interval);
  co_await store_.write([&](Transaction& tx) {
    if (auto latest = tx.latest_export(user);
        latest && (latest->state == ExportState::kPending || latest->state == ExportState::kRunning)) {
      throw ApiError(ErrorCode::kConflict, "an export is already being made; wait for it to be ready");
    }
    if (interval > 0) {
      if (auto last = tx.last_counted_export(user); last && data_export.created_at < *last + interval) {
        auto wait_ms = *last + interval - data_export.created_at;
        throw ApiError(ErrorCode::kTooManyRequests,
                       fmt::format("one export per {} seconds; try again later", options_.min_interval.count()),
                       std::chrono::seconds((wait_ms + 999) / 1000));
      }
    }
    tx.insert_export(data_export);
  });
  log::get("export")->info("export requested export_id={} user_id={}", data_export.id, user);
  asio::post(workers_, [this, id = data_export.id, user] { run_job(id, user); });
  co_return data_export;
}

std::optional<double> ExportService::progress(std::string_view id) const {
  std::lock_guard lock(progress_mutex_);
  auto found = progress_.find(id);
  if (found == progress_.end()) return std::nullopt;
  return found->second;
}

void ExportService::run_job(const storage::ExportId& id, storage::UserId user) {
  if (stopped_) return;  // left pending: the next start fails it
  auto logger = log::get("export");
  auto started = std::chrono::steady_clock::now();
  try {
    if (!store_.write_blocking([&](Transaction& tx) { return tx.start_export(id); })) return;
  } catch (const std::exception& e) {
    logger->error("export could not start export_id={} error=\"{}\"", id, e.what());
    return;
  }
  {
    std::lock_guard lock(progress_mutex_);
    progress_[id] = 0;
  }
  auto forget = [&] {
    std::lock_guard lock(progress_mutex_);
    progress_.erase(id);
  };
  fs::path target = archive_path(id);
  try {
    auto result = build_export(store_, blobs_, user, target, [&](double share) {
      if (stopped_) throw ExportInterrupted();
      std::lock_guard lock(progress_mutex_);
      progress_[id] = share;
    });
    auto now = now_millis();
    bool finished = store_.write_blocking([&](Transaction& tx) {
      return tx.finish_export(id, result.size, result.sha256, now, now + millis(options_.expiry));
    });
    forget();
    if (!finished) {
      // The account was deleted meanwhile (its rows went with it).
      remove_file(target);
      return;
    }
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    logger->info("export ready export_id={} user_id={} bytes={} seconds={:.3f}", id, user, result.size, seconds);
  } catch (const ExportInterrupted&) {
    forget();
    remove_file(target);
    logger->info("export interrupted by shutdown export_id={}", id);
  } catch (const std::exception& e) {
    forget();
    remove_file(target);
    logger->error("export failed export_id={} user_id={} error=\"{}\"", id, user, e.what());
    try {
      store_.write_blocking(
          [&](Transaction& tx) { tx.fail_export(id, "the export could not be made; ask again", now_millis()); });
    } catch (const std::exception& again) {
      logger->error("export failure not recorded export_id={} error=\"{}\"", id, again.what());
    }
  }
}

boost::json::object export_view(const DataExport& e, std::optional<double> progress) {
  auto optional = [](const std::optional<UnixMillis>& value) {
    return value ? boost::json::value(*value) : boost::json::value(nullptr);
  };
  // A whole percentage: finer than anyone watches, and plain in JSON.
  std::int64_t percent = 0;
  if (e.state == ExportState::kReady || e.state == ExportState::kExpired) {
    percent = 100;
  } else if (e.state == ExportState::kRunning && progress) {
    percent = std::clamp<std::int64_t>(static_cast<std::int64_t>(*progress * 100), 0, 99);
  }
  boost::json::object view{{"id", e.id},
                           {"state", export_state_name(e.state)},
                           {"progress", percent},
                           {"created_at", e.created_at},
                           {"finished_at", optional(e.finished_at)},
                           {"expires_at", optional(e.expires_at)}};
  view["size"] = e.state == ExportState::kReady || e.state == ExportState::kExpired ? boost::json::value(e.size)
                                                                                    : boost::json::value(nullptr);
  view["sha256"] = e.sha256.empty() ? boost::json::value(nullptr) : boost::json::value(e.sha256);
  view["error"] = e.error.empty() ? boost::json::value(nullptr) : boost::json::value(e.error);
  view["download_url"] = e.state == ExportState::kReady
                             ? boost::json::value(fmt::format("/api/v1/me/exports/{}/download", e.id))
                             : boost::json::value(nullptr);
  return view;
}

}  // namespace parley::account
