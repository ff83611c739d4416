#include "storage/blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <random>
#include <system_error>

#include <fmt/format.h>
#include <sodium.h>

namespace parley::storage {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void throw_errno(std::string_view what, const fs::path& path) {
  throw std::system_error(errno, std::generic_category(), fmt::format("{} {}", what, path.string()));
}

void fsync_fd(int fd, const fs::path& path) {
  if (::fsync(fd) != 0) throw_errno("fsync", path);
}

// A rename is durable only once the folder holding the new name is synced.
void fsync_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_errno("open", dir);
  fsync_fd(fd.get(), dir);
}

// 128 random bits as 32 hex digits: staged file names never collide, even
// between processes sharing the folder.
std::string random_name() {
  std::array<unsigned char, 16> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string name;
  for (unsigned char b : bytes) name += fmt::format("{:02x}", b);
  return name;
}

bool is_upload_name(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

class LocalBlobStore final : public BlobStore {
 public:
  explicit LocalBlobStore(const fs::path& root)
      : blobs_(root / "blobs"), staging_(root / "staging"), uploads_(root / "uploads") {
    for (const auto& dir : {root, blobs_, staging_, uploads_}) fs::create_directories(dir);
  }

  StagedFile stage() override {
    fs::path path = staging_ / random_name();
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) throw_errno("create", path);
    return StagedFile(std::move(fd), std::move(path));
  }

  bool commit(StagedFile file, std::string_view sha256) override {
    check_name(sha256);
    fsync_fd(file.fd(), file.path());
    fs::path from = file.release();
    return move_into_place(from, sha256);
  }

  std::optional<OpenBlob> open(std::string_view sha256) override {
    if (!is_blob_name(sha256)) return std::nullopt;
    fs::path path = blob_path(sha256);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) return std::nullopt;
      throw_errno("open", path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("stat", path);
    return OpenBlob{std::move(fd), static_cast<std::int64_t>(st.st_size)};
  }

  bool exists(std::string_view sha256) override {
    std::error_code ec;
    return is_blob_name(sha256) && fs::exists(blob_path(sha256), ec);
  }

  std::optional<fs::path> local_path(std::string_view sha256) override {
    if (!exists(sha256)) return std::nullopt;
    return blob_path(sha256);
  }

  bool remove(std::string_view sha256) override {
    check_name(sha256);
    fs::path path = blob_path(sha256);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return false;
      throw_errno("unlink", path);
    }
    // The now possibly empty two-digit folder stays: there are only 256.
    return true;
  }

  std::optional<UniqueFd> open_upload(std::string_view id, bool create) override {
    fs::path path = upload_path(id);
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
    UniqueFd fd(::open(path.c_str(), flags, 0600));
    if (!fd) {
      if (errno == ENOENT && !create) return std::nullopt;
      throw_errno("open", path);
    }
    if (create) fsync_dir(uploads_);  // the file's name survives a crash, as its row does
    return fd;
  }

  bool commit_upload(std::string_view id, std::string_view sha256) override {
    check_name(sha256);
    fs::path path = upload_path(id);
    {
      UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) throw_errno("open", path);
      fsync_fd(fd.get(), path);
    }
    bool stored = move_into_place(path, sha256);
    fsync_dir(uploads_);
    return stored;
  }

  bool remove_upload(std::string_view id) override {
    fs::path path = upload_path(id);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return false;
      throw_errno("unlink", path);
    }
    return true;
  }

  fs::path upload_path(std::string_view id) const override {
    if (!is_upload_name(id)) throw std::invalid_argument("not an upload id");
    return uploads_ / std::string(id);
  }

  std::vector<std::string> upload_ids() override {
    std::vector<std::string> ids;
    for (const auto& entry : fs::directory_iterator(uploads_)) ids.push_back(entry.path().filename().string());
    return ids;
  }

  fs::path staging_dir() const override { return staging_; }

  std::size_t clean_staging() override {
    std::size_t removed = 0;
    for (const auto& entry : fs::directory_iterator(staging_)) {
      std::error_code ec;
      if (fs::remove_all(entry.path(), ec) > 0) ++removed;
    }
    return removed;
  }

 private:
  static void check_name(std::string_view sha256) {
    if (!is_blob_name(sha256)) throw std::invalid_argument("not a SHA-256 digest");
  }

  fs::path blob_path(std::string_view sha256) const {
    return blobs_ / std::string(sha256.substr(0, 2)) / std::string(sha256.substr(2));
  }

  // Renames `from` to the blob's place, or removes it when the blob is there
  // already. rename(2) is atomic: a reader sees no blob or the whole blob.
  bool move_into_place(const fs::path& from, std::string_view sha256) {
    fs::path to = blob_path(sha256);
    std::error_code ec;
    if (fs::exists(to, ec)) {
      ::unlink(from.c_str());
      return false;
    }
    fs::create_directories(to.parent_path());
    if (::rename(from.c_str(), to.c_str()) != 0) {
      int saved = errno;
      ::unlink(from.c_str());
      errno = saved;
      throw_errno("rename", to);
    }
    fsync_dir(to.parent_path());
    return true;
  }

  fs::path blobs_;
  fs::path staging_;
  fs::path uploads_;
};

}  // namespace

void StagedFile::discard() noexcept {
  fd_.reset();
  if (!path_.empty()) {
    ::unlink(path_.c_str());
    path_.clear();
  }
}

bool is_blob_name(std::string_view sha256) {
  if (sha256.size() != 64) return false;
  for (char c : sha256) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::unique_ptr<BlobStore> make_local_blob_store(const std::filesystem::path& root) {
  return std::make_unique<LocalBlobStore>(root);
}

}  // namespace parley::storage
