#include "storage/sqlite/wal_write_buffer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace parley::storage::sqlite {
namespace {

// Bounds the memory one commit's gathered frames take (a batch of 512
// messages writes a few MiB of WAL): past it they go out in several writes.
constexpr std::size_t kMaxGathered = 1 << 20;

// SQLite's default VFS writes at most 0x1ffff bytes per call (it masks the
// length to that, unix's seekAndWriteFd): gathered bytes go out in pieces of
// at most this (31 pages of 4 KiB).
constexpr std::size_t kMaxWrite = 0x1ffff & ~std::size_t{4095};

constexpr const char* kVfsName = "parley-wal-buffer";

sqlite3_vfs* base_vfs = nullptr;  // set once, before the VFS is registered
sqlite3_vfs buffer_vfs{};
std::atomic<std::uint64_t> stat_writes{0};
std::atomic<std::uint64_t> stat_bytes{0};

// SQLite allocates szOsFile bytes per open file and hands them to xOpen: this
// struct first (SQLite sees its sqlite3_file), the default VFS's file after it.
struct File {
  sqlite3_file base;  // must be first: SQLite casts the pointer
  sqlite3_file* real;
  bool wal;
  sqlite3_int64 gathered_at;   // file offset of gathered[0]
  std::vector<char> gathered;  // bytes written, not yet passed on

  int flush() {
    int rc = SQLITE_OK;
    for (std::size_t done = 0; done < gathered.size() && rc == SQLITE_OK;) {
      std::size_t piece = std::min(kMaxWrite, gathered.size() - done);
      rc = real->pMethods->xWrite(real, gathered.data() + done, static_cast<int>(piece),
                                  gathered_at + static_cast<sqlite3_int64>(done));
      stat_writes.fetch_add(1, std::memory_order_relaxed);
      stat_bytes.fetch_add(piece, std::memory_order_relaxed);
      done += piece;
    }
    gathered.clear();
    return rc;
  }
};

File* as_file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }

int x_close(sqlite3_file* f) {
  File* file = as_file(f);
  int flushed = file->flush();
  int rc = file->real->pMethods ? file->real->pMethods->xClose(file->real) : SQLITE_OK;
  file->~File();
  return flushed != SQLITE_OK ? flushed : rc;
}

int x_read(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset) {
  File* file = as_file(f);
  if (int rc = file->flush(); rc != SQLITE_OK) return rc;
  return file->real->pMethods->xRead(file->real, buffer, amount, offset);
}

int x_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  File* file = as_file(f);
  if (!file->wal) return file->real->pMethods->xWrite(file->real, data, amount, offset);
  auto length = static_cast<std::size_t>(amount);
  // Only a write that continues the gathered bytes joins them; anything
  // else (SQLite rewriting an earlier frame in the same transaction) first
  // writes what was gathered, so that writes reach the file in their order.
  bool continues =
      !file->gathered.empty() && offset == file->gathered_at + static_cast<sqlite3_int64>(file->gathered.size());
  if (!continues || file->gathered.size() + length > kMaxGathered) {
    if (int rc = file->flush(); rc != SQLITE_OK) return rc;
    file->gathered_at = offset;
  }
  if (length > kMaxWrite) {
    stat_writes.fetch_add(1, std::memory_order_relaxed);
    stat_bytes.fetch_add(length, std::memory_order_relaxed);
    return file->real->pMethods->xWrite(file->real, data, amount, offset);
  }
  const char* bytes = static_cast<const char*>(data);
  file->gathered.insert(file->gathered.end(), bytes, bytes + length);
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  File* file = as_file(f);
  if (int rc = file->flush(); rc != SQLITE_OK) return rc;
  return file->real->pMethods->xTruncate(file->real, size);
}

int x_sync(sqlite3_file* f, int flags) {
  File* file = as_file(f);
  if (int rc = file->flush(); rc != SQLITE_OK) return rc;
  return file->real->pMethods->xSync(file->real, flags);
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  File* file = as_file(f);
  if (int rc = file->flush(); rc != SQLITE_OK) return rc;
  return file->real->pMethods->xFileSize(file->real, size);
}

int x_lock(sqlite3_file* f, int level) { return as_file(f)->real->pMethods->xLock(as_file(f)->real, level); }
int x_unlock(sqlite3_file* f, int level) { return as_file(f)->real->pMethods->xUnlock(as_file(f)->real, level); }
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return as_file(f)->real->pMethods->xCheckReservedLock(as_file(f)->real, out);
}

int x_file_control(sqlite3_file* f, int op, void* arg) {
  // A control may act on the file's contents or size (size hints, chunk
  // sizes, persisting the WAL): the file is made whole first.
  File* file = as_file(f);
  if (int rc = file->flush(); rc != SQLITE_OK) return rc;
  return file->real->pMethods->xFileControl(file->real, op, arg);
}

int x_sector_size(sqlite3_file* f) { return as_file(f)->real->pMethods->xSectorSize(as_file(f)->real); }
int x_device_characteristics(sqlite3_file* f) {
  return as_file(f)->real->pMethods->xDeviceCharacteristics(as_file(f)->real);
}
int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return as_file(f)->real->pMethods->xShmMap(as_file(f)->real, page, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return as_file(f)->real->pMethods->xShmLock(as_file(f)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { as_file(f)->real->pMethods->xShmBarrier(as_file(f)->real); }
int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  return as_file(f)->real->pMethods->xShmUnmap(as_file(f)->real, delete_flag);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  File* file = as_file(f);
  if (int rc = file->flush(); rc != SQLITE_OK) return rc;
  return file->real->pMethods->xFetch(file->real, offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* pointer) {
  return as_file(f)->real->pMethods->xUnfetch(as_file(f)->real, offset, pointer);
}

// Versions 1 to 3 (the default VFS's files are version 3: shared memory for
// WAL, memory-mapped reads). Version 2 and 3 calls are offered only when the
// wrapped file has them (x_open picks the table).
constexpr sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};
// The same table at a lower version, without the calls that version lacks.
constexpr sqlite3_io_methods with_version(int version) {
  sqlite3_io_methods methods = kMethods;
  methods.iVersion = version;
  if (version < 3) {
    methods.xFetch = nullptr;
    methods.xUnfetch = nullptr;
  }
  if (version < 2) {
    methods.xShmMap = nullptr;
    methods.xShmLock = nullptr;
    methods.xShmBarrier = nullptr;
    methods.xShmUnmap = nullptr;
  }
  return methods;
}
constexpr sqlite3_io_methods kMethodsV2 = with_version(2);
constexpr sqlite3_io_methods kMethodsV1 = with_version(1);

int x_open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = new (f) File{};
  file->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + sizeof(File));
  file->wal = (flags & SQLITE_OPEN_WAL) != 0;
  std::memset(file->real, 0, static_cast<std::size_t>(base_vfs->szOsFile));
  int rc = base_vfs->xOpen(base_vfs, name, file->real, flags, out_flags);
  if (file->real->pMethods == nullptr) {
    // Nothing to close: SQLite calls no xClose when pMethods is null.
    file->~File();
    f->pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  int version = file->real->pMethods->iVersion;
  f->pMethods = version >= 3 ? &kMethods : version == 2 ? &kMethodsV2 : &kMethodsV1;
  return rc;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) { return base_vfs->xDelete(base_vfs, name, sync_dir); }
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return base_vfs->xAccess(base_vfs, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return base_vfs->xFullPathname(base_vfs, name, size, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return base_vfs->xDlOpen(base_vfs, name); }
void x_dl_error(sqlite3_vfs*, int size, char* out) { base_vfs->xDlError(base_vfs, size, out); }
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return base_vfs->xDlSym(base_vfs, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) { base_vfs->xDlClose(base_vfs, handle); }
int x_randomness(sqlite3_vfs*, int size, char* out) { return base_vfs->xRandomness(base_vfs, size, out); }
int x_sleep(sqlite3_vfs*, int microseconds) { return base_vfs->xSleep(base_vfs, microseconds); }
int x_current_time(sqlite3_vfs*, double* out) { return base_vfs->xCurrentTime(base_vfs, out); }
int x_get_last_error(sqlite3_vfs*, int size, char* out) { return base_vfs->xGetLastError(base_vfs, size, out); }
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) { return base_vfs->xCurrentTimeInt64(base_vfs, out); }

}  // namespace

const char* wal_write_buffer_vfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_initialize();
    base_vfs = sqlite3_vfs_find(nullptr);
    buffer_vfs.iVersion = 2;  // up to xCurrentTimeInt64; no system-call overrides
    buffer_vfs.szOsFile = static_cast<int>(sizeof(File)) + base_vfs->szOsFile;
    buffer_vfs.mxPathname = base_vfs->mxPathname;
    buffer_vfs.zName = kVfsName;
    buffer_vfs.xOpen = x_open;
    buffer_vfs.xDelete = x_delete;
    buffer_vfs.xAccess = x_access;
    buffer_vfs.xFullPathname = x_full_pathname;
    buffer_vfs.xDlOpen = x_dl_open;
    buffer_vfs.xDlError = x_dl_error;
    buffer_vfs.xDlSym = x_dl_sym;
    buffer_vfs.xDlClose = x_dl_close;
    buffer_vfs.xRandomness = x_randomness;
    buffer_vfs.xSleep = x_sleep;
    buffer_vfs.xCurrentTime = x_current_time;
    buffer_vfs.xGetLastError = x_get_last_error;
    buffer_vfs.xCurrentTimeInt64 = x_current_time_int64;
    sqlite3_vfs_register(&buffer_vfs, 0);  // not the default: opened by name only
  });
  return kVfsName;
}

WalWriteBufferStats wal_write_buffer_stats() {
  return {stat_writes.load(std::memory_order_relaxed), stat_bytes.load(std::memory_order_relaxed)};
}

}  // namespace parley::storage::sqlite
