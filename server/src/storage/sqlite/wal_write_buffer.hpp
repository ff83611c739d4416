// A SQLite VFS that writes a commit's WAL frames with one system call.
//
// SQLite writes each WAL frame as two pwrite()s, its 24-byte header and its
// page, so a commit of n pages costs 2n system calls, each a page-cache walk
// in the kernel (docs/benchmarks.md "Performance round 2: the writer"). This
// VFS wraps the default one and, for WAL files only, gathers writes that
// continue each other in memory and hands them to the file system in one
// pwrite() when SQLite syncs the WAL (at every commit with
// synchronous=FULL), reads it, asks its size, truncates or closes it, when a
// write does not continue the gathered ones, or when kMaxGathered bytes are
// waiting. Every other file, and every other call, goes to the default VFS
// unchanged.
//
// Why nothing else can see the gathered bytes: another connection reads a
// WAL frame only once the WAL index (shared memory) says it is committed,
// and SQLite updates the index after the commit's sync, by which time the
// bytes are in the file; this connection's own reads of the WAL write them
// first. That holds only where every commit syncs the WAL: a connection with
// synchronous=NORMAL must not use this VFS (SqliteStore opens only its
// writer with it, and only with synchronous=FULL). A crash loses at most
// gathered bytes of a commit that had not synced, which therefore had not
// committed; a write error is reported by the sync (or the call) that
// writes them, and SQLite fails the commit as it would have.
#pragma once

#include <cstdint>

namespace parley::storage::sqlite {

// The VFS's name for sqlite3_open_v2(); registers it on first use (thread
// safe), wrapping the default VFS at that moment. Never null.
const char* wal_write_buffer_vfs();

// What the VFS handed to the file system for WAL files, process-wide since
// start (for tests and benchmarks): write calls made, and bytes.
struct WalWriteBufferStats {
  std::uint64_t writes = 0;
  std::uint64_t bytes = 0;
};
WalWriteBufferStats wal_write_buffer_stats();

}  // namespace parley::storage::sqlite
