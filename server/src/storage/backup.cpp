#include "storage/backup.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <vector>

#include "core/sha256.hpp"
#include "storage/blob_store.hpp"
#include "storage/migration.hpp"
#include "storage/sqlite/database.hpp"

#ifndef PARLEY_VERSION
#define PARLEY_VERSION "unknown"
#endif

namespace parley::storage {
namespace fs = std::filesystem;
namespace {

constexpr int kFormatVersion = 1;
constexpr const char* kManifest = "manifest.json";
constexpr const char* kDatabase = "parley.db";
constexpr const char* kDeviceKey = "device-token.key";
// A manifest larger than this is not one of ours (a million blobs is ~200 MB).
constexpr std::uintmax_t kMaxManifestBytes = 1ull << 30;

[[noreturn]] void fail_errno(const std::string& what, const fs::path& path) {
  throw BackupError(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

void fsync_path(const fs::path& path, bool directory) {
  Fd fd(::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (fd.get() < 0) fail_errno("open", path);
  if (::fsync(fd.get()) != 0) fail_errno("fsync", path);
}

struct Digest {
  std::string sha256;
  std::int64_t size = 0;
};

// Reads `from` to the end, hashing it; if `to` is given, writes the bytes
// there too (a new file, mode 0600) and fsyncs it.
Digest hash_copy(const fs::path& from, const fs::path* to) {
  Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) fail_errno("open", from);
  std::unique_ptr<Fd> out;
  if (to != nullptr) {
    out = std::make_unique<Fd>(::open(to->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (out->get() < 0) fail_errno("create", *to);
  }
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  Digest digest;
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("read", from);
    }
    if (n == 0) break;
    hash.update(buffer.data(), static_cast<std::size_t>(n));
    digest.size += n;
    if (out) {
      for (ssize_t done = 0; done < n;) {
        ssize_t w = ::write(out->get(), buffer.data() + done, static_cast<std::size_t>(n - done));
        if (w < 0) {
          if (errno == EINTR) continue;
          fail_errno("write", *to);
        }
        done += w;
      }
    }
  }
  if (out && ::fsync(out->get()) != 0) fail_errno("fsync", *to);
  digest.sha256 = hash.hex_digest();
  return digest;
}

// Creates `path` (and parents) with mode 0700 where missing.
void make_private_dirs(const fs::path& path) {
  if (path.empty() || fs::exists(path)) return;
  make_private_dirs(path.parent_path());
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) fail_errno("mkdir", path);
}

// A target folder must not exist or be empty.
void require_empty(const fs::path& path, const char* what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  if (!fs::is_directory(path, ec))
    throw BackupError(fmt::format("{} {} exists and is not a folder", what, path.string()));
  if (!fs::is_empty(path, ec)) throw BackupError(fmt::format("{} {} is not empty", what, path.string()));
}

std::string blob_relative(std::string_view sha256) {
  return fmt::format("media/blobs/{}/{}", sha256.substr(0, 2), sha256.substr(2));
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

int user_version(sqlite::Connection& db) {
  sqlite::Statement& query = db.prepare("PRAGMA user_version");
  query.step();
  int version = static_cast<int>(query.int64(0));
  db.release_statements();
  return version;
}

std::int64_t count_rows(sqlite::Connection& db, const char* table) {
  sqlite::Statement& query = db.prepare(fmt::format("SELECT COUNT(*) FROM {}", table));
  query.step();
  std::int64_t n = query.int64(0);
  db.release_statements();
  return n;
}

// Opens an existing database file without creating one.
std::unique_ptr<sqlite::Connection> open_existing(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw BackupError(fmt::format("no database at {}", path.string()));
  auto db = std::make_unique<sqlite::Connection>(path);
  db->exec("PRAGMA busy_timeout = 5000");
  return db;
}

// PRAGMA integrity_check, "ok" when clean. SQLite 3.40.0 to 3.41.0 (Debian
// 12 ships 3.40.1) report "NULL value in T.C" for NOT NULL columns of
// WITHOUT ROWID tables whose primary key is not their first columns
// (message_attachments): a false positive, on the live database too. Such a
// line is kept only if a row really holds a NULL there, read with typeof(),
// which no NOT NULL optimisation skips.
std::string integrity_check(sqlite::Connection& db) {
  std::vector<std::string> lines;
  {
    sqlite::Statement& query = db.prepare("PRAGMA integrity_check");
    while (query.step()) lines.push_back(query.text(0));
    db.release_statements();
  }
  static const std::regex kNullLine(R"(^NULL value in ([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$)");
  std::string result;
  for (const auto& line : lines) {
    std::smatch match;
    if (std::regex_match(line, match, kNullLine)) {
      sqlite::Statement& query = db.prepare(
          fmt::format("SELECT COUNT(*) FROM \"{}\" WHERE typeof(\"{}\") = 'null'", match[1].str(), match[2].str()));
      query.step();
      bool real = query.int64(0) > 0;
      db.release_statements();
      if (!real) continue;
    }
    if (line == "ok") continue;
    if (!result.empty()) result += "; ";
    result += line;
  }
  return result.empty() ? "ok" : result;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

SweepLock::SweepLock(const fs::path& media_root) {
  fs::path path = media_root / kSweepLockFile;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  // Without a lock file (a read-only folder) no backup can hold it either.
  if (fd_ < 0) {
    acquired_ = true;
    return;
  }
  acquired_ = ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
}

SweepLock::~SweepLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

BackupSummary backup_data_dir(const fs::path& data_dir, const fs::path& dest) {
  auto start = std::chrono::steady_clock::now();
  require_empty(dest, "backup destination");
  fs::path live_db = data_dir / kDatabase;
  auto live = open_existing(live_db);
  make_private_dirs(dest);
  ::chmod(dest.c_str(), 0700);

  // Held shared from before the snapshot until the last blob is copied: the
  // blob sweeper skips its runs meanwhile, so no blob the snapshot names
  // disappears. Waits for a sweep in progress to end.
  fs::path media_root = data_dir / "media";
  make_private_dirs(media_root);
  fs::path lock_path = media_root / kSweepLockFile;
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock.get() < 0) fail_errno("open", lock_path);
  while (::flock(lock.get(), LOCK_SH) != 0) {
    if (errno != EINTR) fail_errno("flock", lock_path);
  }

  BackupSummary summary;
  // One read transaction: the snapshot as of its start; the writer goes on.
  fs::path db_temp = dest / "parley.db.partial";
  auto snapshot_start = std::chrono::steady_clock::now();
  {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(live->handle(), "VACUUM INTO ?", -1, &stmt, nullptr) != SQLITE_OK) {
      throw BackupError(fmt::format("VACUUM INTO: {}", sqlite3_errmsg(live->handle())));
    }
    sqlite3_bind_text(stmt, 1, db_temp.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    std::string message = sqlite3_errmsg(live->handle());
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) throw BackupError(fmt::format("snapshot of {}: {}", live_db.string(), message));
  }
  summary.snapshot_seconds = seconds_since(snapshot_start);
  live.reset();
  ::chmod(db_temp.c_str(), 0600);
  fsync_path(db_temp, false);

  // The blob list comes from the snapshot, not the live database.
  struct Blob {
    std::string sha256;
    std::int64_t size;
  };
  std::vector<Blob> blobs;
  boost::json::object counts;
  {
    auto copy = open_existing(db_temp);
    summary.schema_version = user_version(*copy);
    sqlite::Statement& query = copy->prepare("SELECT sha256, size FROM media_blobs WHERE refcount > 0 ORDER BY sha256");
    while (query.step()) blobs.push_back({query.text(0), query.int64(1)});
    copy->release_statements();
    for (const char* table : {"users", "conversations", "messages", "media", "media_blobs"}) {
      counts[table] = count_rows(*copy, table);
    }
  }

  boost::json::array blob_entries;
  for (const auto& blob : blobs) {
    if (!is_blob_name(blob.sha256)) throw BackupError(fmt::format("invalid blob name in database: {}", blob.sha256));
    std::string relative = blob_relative(blob.sha256);
    fs::path target = dest / relative;
    make_private_dirs(target.parent_path());
    Digest digest = hash_copy(data_dir / relative, &target);
    // The source is checked too: a blob damaged on disk is reported now,
    // not discovered at restore.
    if (digest.sha256 != blob.sha256 || digest.size != blob.size) {
      throw BackupError(fmt::format("blob {} is damaged in {} (content sha256 {} size {}, expected size {})",
                                    blob.sha256, data_dir.string(), digest.sha256, digest.size, blob.size));
    }
    blob_entries.push_back(boost::json::object{{"path", relative}, {"size", digest.size}, {"sha256", digest.sha256}});
    summary.blob_count += 1;
    summary.blob_bytes += digest.size;
  }
  // Every blob is copied: the sweeper may run again.
  ::flock(lock.get(), LOCK_UN);

  // fsync the folders that received files (a rename or create is durable
  // only once its folder is).
  if (!blobs.empty()) {
    for (const auto& entry : fs::directory_iterator(dest / "media" / "blobs")) fsync_path(entry.path(), true);
    fsync_path(dest / "media" / "blobs", true);
    fsync_path(dest / "media", true);
  }

  fs::path db_final = dest / kDatabase;
  if (::rename(db_temp.c_str(), db_final.c_str()) != 0) fail_errno("rename", db_temp);
  Digest db_digest = hash_copy(db_final, nullptr);
  summary.database_bytes = db_digest.size;

  boost::json::array files;
  files.push_back(boost::json::object{{"path", kDatabase}, {"size", db_digest.size}, {"sha256", db_digest.sha256}});
  fs::path key = data_dir / kDeviceKey;
  std::error_code ec;
  if (fs::is_regular_file(key, ec)) {
    fs::path key_copy = dest / kDeviceKey;
    Digest key_digest = hash_copy(key, &key_copy);
    files.push_back(
        boost::json::object{{"path", kDeviceKey}, {"size", key_digest.size}, {"sha256", key_digest.sha256}});
  }
  fsync_path(dest, true);

  counts["blobs"] = summary.blob_count;
  counts["blob_bytes"] = summary.blob_bytes;
  boost::json::object manifest{
      {"format", "parley-backup"},
      {"format_version", kFormatVersion},
      {"created_at", utc_now()},
      {"parleyd_version", PARLEY_VERSION},
      {"schema_version", summary.schema_version},
      {"database", boost::json::object{{"path", kDatabase}, {"size", db_digest.size}, {"sha256", db_digest.sha256}}},
      {"files", std::move(files)},
      {"blobs", std::move(blob_entries)},
      {"counts", std::move(counts)}};
  // The manifest last, through a temp file: its presence means complete.
  fs::path manifest_temp = dest / "manifest.json.partial";
  {
    Fd out(::open(manifest_temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (out.get() < 0) fail_errno("create", manifest_temp);
    std::string text = boost::json::serialize(manifest) + "\n";
    for (std::size_t done = 0; done < text.size();) {
      ssize_t w = ::write(out.get(), text.data() + done, text.size() - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail_errno("write", manifest_temp);
      }
      done += static_cast<std::size_t>(w);
    }
    if (::fsync(out.get()) != 0) fail_errno("fsync", manifest_temp);
  }
  if (::rename(manifest_temp.c_str(), (dest / kManifest).c_str()) != 0) fail_errno("rename", manifest_temp);
  fsync_path(dest, true);
  summary.total_seconds = seconds_since(start);
  return summary;
}

namespace {

struct Entry {
  std::string path;
  std::int64_t size;
  std::string sha256;
};

Entry read_entry(const boost::json::value& value) {
  const auto& object = value.as_object();
  Entry entry{std::string(object.at("path").as_string()), object.at("size").to_number<std::int64_t>(),
              std::string(object.at("sha256").as_string())};
  return entry;
}

// Only the names a backup writes: no absolute path, no "..".
bool safe_path(const std::string& path) {
  if (path == kDatabase || path == kDeviceKey) return true;
  if (!path.starts_with("media/blobs/") || path.size() != 12 + 2 + 1 + 62) return false;
  std::string sha256 = path.substr(12, 2) + path.substr(15);
  return path[14] == '/' && is_blob_name(sha256);
}

}  // namespace

RestoreSummary restore_data_dir(const fs::path& src, const fs::path& data_dir) {
  fs::path manifest_path = src / kManifest;
  std::error_code ec;
  if (!fs::is_regular_file(manifest_path, ec)) {
    throw BackupError(fmt::format("{} has no {}: not a backup, or an incomplete one", src.string(), kManifest));
  }
  if (fs::file_size(manifest_path, ec) > kMaxManifestBytes) throw BackupError("manifest too large");
  require_empty(data_dir, "data folder");

  std::vector<Entry> entries;
  RestoreSummary summary;
  try {
    std::ifstream in(manifest_path);
    std::stringstream text;
    text << in.rdbuf();
    boost::json::value manifest = boost::json::parse(text.str());
    const auto& object = manifest.as_object();
    if (object.at("format").as_string() != "parley-backup" ||
        object.at("format_version").to_number<int>() != kFormatVersion) {
      throw BackupError("unsupported backup format");
    }
    summary.schema_version = object.at("schema_version").to_number<int>();
    for (const auto& file : object.at("files").as_array()) entries.push_back(read_entry(file));
    for (const auto& blob : object.at("blobs").as_array()) {
      entries.push_back(read_entry(blob));
      summary.blob_count += 1;
      summary.blob_bytes += entries.back().size;
    }
    Entry database = read_entry(object.at("database"));
    if (entries.empty() || entries.front().path != kDatabase || entries.front().sha256 != database.sha256) {
      throw BackupError("manifest lists no database");
    }
    summary.database_bytes = database.size;
  } catch (const BackupError&) {
    throw;
  } catch (const std::exception& e) {
    throw BackupError(fmt::format("invalid manifest {}: {}", manifest_path.string(), e.what()));
  }
  int supported = sqlite_migrations().back().version;
  if (summary.schema_version > supported) {
    throw BackupError(
        fmt::format("the backup's schema version {} is newer than this parleyd's ({}): restore it with a "
                    "newer parleyd",
                    summary.schema_version, supported));
  }

  // Every checksum first: nothing is put in place unless all match.
  for (const auto& entry : entries) {
    if (!safe_path(entry.path)) throw BackupError(fmt::format("manifest names an unexpected file: {}", entry.path));
    // A blob's name is its digest: one stored under another name would be
    // served for the wrong file.
    if (entry.path.starts_with("media/") && entry.path.substr(12, 2) + entry.path.substr(15) != entry.sha256) {
      throw BackupError(fmt::format("manifest: blob {} has sha256 {}", entry.path, entry.sha256));
    }
    if (!fs::is_regular_file(src / entry.path, ec)) {
      throw BackupError(fmt::format("backup file missing: {}", (src / entry.path).string()));
    }
    Digest digest = hash_copy(src / entry.path, nullptr);
    if (digest.sha256 != entry.sha256 || digest.size != entry.size) {
      throw BackupError(fmt::format("checksum mismatch: {} (size {}, sha256 {}; manifest says size {}, sha256 {})",
                                    (src / entry.path).string(), digest.size, digest.sha256, entry.size, entry.sha256));
    }
  }

  make_private_dirs(data_dir);
  // Blobs first, the database last: a restore cut short leaves no database,
  // so the folder is not mistaken for a restored one.
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    fs::path target = data_dir / it->path;
    fs::path temp = target;
    temp += ".partial";
    make_private_dirs(target.parent_path());
    Digest digest = hash_copy(src / it->path, &temp);
    if (digest.sha256 != it->sha256) {
      fs::remove(temp, ec);
      throw BackupError(fmt::format("{} changed while it was restored", (src / it->path).string()));
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) fail_errno("rename", temp);
    fsync_path(target.parent_path(), true);
  }
  if (summary.blob_count > 0) {
    fsync_path(data_dir / "media" / "blobs", true);
    fsync_path(data_dir / "media", true);
  }
  fsync_path(data_dir, true);

  auto db = open_existing(data_dir / kDatabase);
  std::string check = integrity_check(*db);
  if (check != "ok") throw BackupError(fmt::format("restored database fails integrity_check: {}", check));
  if (user_version(*db) != summary.schema_version) throw BackupError("restored database's schema version differs");
  return summary;
}

}  // namespace parley::storage
