// Where the bytes of media live, by content: a blob is named by the SHA-256
// of its content (64 lower-case hex digits), so identical contents are stored
// once. The database (media_blobs.refcount) says which blobs are still used;
// this interface only stores, opens and deletes bytes.
//
// Writing goes through staging: bytes are written to a staged file on the
// same filesystem as the blobs, and commit() makes them a blob atomically
// (fsync the file, rename it into place, fsync the folder), so that a blob
// that exists is always complete, even after a crash or kill -9. Staged
// files left by a crash are removed by clean_staging() at start-up.
//
// Resumable uploads keep their parts in an upload file per upload id, also
// on the blob filesystem, so that finishing an upload is a rename too.
//
// LocalBlobStore (below) keeps everything in a folder under the data
// directory:
//   <root>/blobs/ab/cdef...   the blob whose digest is "abcdef..."
//   <root>/staging/           staged files (random names), emptied at start
//   <root>/uploads/<id>       resumable upload parts
// A shared folder (NFS) fits the same layout; an object store would
// implement commit() as a PUT and open() through a local read cache, since
// responses are sent from a file descriptor (sendfile).
//
// Thread safety: every method may be called from any thread. Methods block
// on disk I/O: call them from worker threads, except where a method says it
// is cheap. Errors are thrown as std::system_error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/unique_fd.hpp"

namespace parley::storage {

// A file being written to staging. Owned by the writer until committed or
// discarded; the destructor of an uncommitted StagedFile removes the file.
class StagedFile {
 public:
  StagedFile() = default;
  StagedFile(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  StagedFile(StagedFile&& other) noexcept : fd_(std::move(other.fd_)), path_(std::exchange(other.path_, {})) {}
  StagedFile& operator=(StagedFile&& other) noexcept {
    discard();
    fd_ = std::move(other.fd_);
    path_ = std::exchange(other.path_, {});
    return *this;
  }
  ~StagedFile() { discard(); }

  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] bool valid() const { return static_cast<bool>(fd_); }
  // Removes the file now (if still there). Never throws.
  void discard() noexcept;
  // For BlobStore implementations: the file is theirs now.
  std::filesystem::path release() {
    fd_.reset();
    return std::exchange(path_, {});
  }

 private:
  UniqueFd fd_;
  std::filesystem::path path_;
};

// A blob opened for reading.
struct OpenBlob {
  UniqueFd fd;
  std::int64_t size = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // A new, empty staged file, open for writing.
  virtual StagedFile stage() = 0;
  // Makes the staged content the blob `sha256`, durably (see above). The
  // caller vouches that `sha256` is the content's digest. When the blob
  // exists already the staged file is removed instead (dedup). Returns true
  // when a new blob was stored.
  virtual bool commit(StagedFile file, std::string_view sha256) = 0;
  // The blob, or nullopt when there is none with this digest.
  virtual std::optional<OpenBlob> open(std::string_view sha256) = 0;
  [[nodiscard]] virtual bool exists(std::string_view sha256) = 0;
  // A local file path holding the blob, for libraries that read files by
  // name (libvips). A remote store returns a cached local copy. nullopt when
  // there is no such blob.
  virtual std::optional<std::filesystem::path> local_path(std::string_view sha256) = 0;
  // Deletes the blob; false when there was none. Only for blobs that the
  // database says are unreferenced.
  virtual bool remove(std::string_view sha256) = 0;

  // Resumable uploads. The upload file of `id` is created empty on first
  // open_upload(create=true); nullopt when it does not exist and create is
  // false.
  virtual std::optional<UniqueFd> open_upload(std::string_view id, bool create) = 0;
  // Makes the upload's file the blob `sha256` (as commit()); the upload file
  // is gone afterwards either way. Returns true when a new blob was stored.
  virtual bool commit_upload(std::string_view id, std::string_view sha256) = 0;
  // Deletes the upload's file; false when there was none.
  virtual bool remove_upload(std::string_view id) = 0;
  // The upload file's path, for hashing and sniffing it when it is finished.
  [[nodiscard]] virtual std::filesystem::path upload_path(std::string_view id) const = 0;
  // The ids of every upload file (for removing those without a row).
  virtual std::vector<std::string> upload_ids() = 0;

  // The staging folder: where the thumbnailer may write its output (it
  // renames within that folder) before it is committed.
  [[nodiscard]] virtual std::filesystem::path staging_dir() const = 0;
  // Removes every staged file. Call at start-up, before any stage(): they
  // are left-overs of a crash. Returns how many were removed.
  virtual std::size_t clean_staging() = 0;
};

// The blob store in a local folder (layout above). Creates the folders.
std::unique_ptr<BlobStore> make_local_blob_store(const std::filesystem::path& root);

// Whether `sha256` is 64 lower-case hex digits (the only names a blob may
// have: anything else could name a path outside the store).
[[nodiscard]] bool is_blob_name(std::string_view sha256);

}  // namespace parley::storage
