#!/usr/bin/env python3
"""WAL frames (pages) a batch of 1:1 sends costs the SQLite writer, by B-tree
(docs/benchmarks.md "Performance round 2: the writer", fifth step).

Replays, through the same SQLite library parleyd links (Python's sqlite3
module), the statements the writer runs for batches of sends in `pairs`
(per send INSERT ... ON CONFLICT DO NOTHING in a savepoint; per batch the
counters, read marks, stream position and the search index, then COMMIT),
on a database that already holds --preload messages, with no checkpoint
during the measured batches. Then it reads the WAL file: every frame's page
number, each named after the table or index that owns the page (the dbstat
table), and reports per message: WAL bytes, frames, and frames per B-tree.
Also the process's CPU time per message for the measured batches.

Variants (--variant, several allowed; run alternately per round):
  0012      the schema of migrations up to 0012 (three indexes on messages)
  current   every migration there is
  nopos     every migration, and what 0013 drops dropped by hand (for a
            checkout before 0013: the same as current after it)
  hash      what-if: the idempotency key as (sender_id, 64-bit hash of
            client_id), not the text (a schema edited in memory; not shipped)
--page-size sets the page size of the new database (default SQLite's 4096).

usage: bench/wal_pages.py [--variant V ...] [--page-size N] [--preload N] [--batches N]
                          [--batch-size N] [--pairs N] [--rounds N] [--dir DIR]
"""
import argparse
import collections
import hashlib
import os
import random
import shutil
import sqlite3
import statistics
import struct
import tempfile
import time

from writer_sql_bench import WORDS, fold, migrations, seed_pairs


def client_hash(text):
    return struct.unpack("<q", hashlib.blake2b(text.encode(), digest_size=8).digest())[0]


def setup(path, variant, pairs, page_size):
    db = sqlite3.connect(path, isolation_level=None)
    if page_size:
        db.execute(f"PRAGMA page_size = {page_size}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA foreign_keys = ON")
    db.create_function("client_hash", 1, client_hash, deterministic=True)
    for sql in migrations(12 if variant == "0012" else 9999):
        if variant == "hash":
            sql = sql.replace("  UNIQUE (conversation_id, seq),\n  UNIQUE (sender_id, client_id)\n",
                              "  client_hash     INTEGER NOT NULL DEFAULT 0,\n  UNIQUE (conversation_id, seq)\n")
        db.executescript(sql)
    if variant == "hash":
        db.execute("CREATE INDEX messages_by_sender_client ON messages(sender_id, client_hash)")
    if variant in ("nopos", "hash"):
        db.execute("DROP INDEX IF EXISTS messages_by_conversation_pos")
    seed_pairs(db, pairs)
    db.execute("PRAGMA wal_autocheckpoint = 0")
    return db


class Sender:
    """The writer's statements for a batch of sends, as parleyd runs them."""

    def __init__(self, db, variant, pairs, rng):
        self.db, self.variant, self.pairs, self.rng = db, variant, pairs, rng
        self.seqs = [0] * (pairs + 1)
        self.counter = [0] * (2 * pairs + 1)
        self.pos = 0
        self.n = 0
        self.texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))) for _ in range(1000)]
        columns = "conversation_id, seq, pos, sender_id, client_id, body, reply_to_id, created_at, attachment_count"
        values = "?, ?, ?, ?, ?, ?, NULL, ?, 0"
        if variant == "hash":
            self.insert = (f"INSERT INTO messages ({columns}, client_hash) VALUES ({values}, ?)")
            self.lookup = "SELECT id, client_id FROM messages WHERE sender_id = ? AND client_hash = ?"
        else:
            self.insert = (f"INSERT INTO messages ({columns}) VALUES ({values}) "
                           "ON CONFLICT (sender_id, client_id) DO NOTHING")
        self.index_sql = (f"INSERT INTO message_search (rowid, body) SELECT id, {fold()} FROM messages "
                          "WHERE id > ? AND deleted_at IS NULL")

    def batch(self, size):
        db = self.db
        jobs = []
        for _ in range(size):
            c = self.rng.randint(1, self.pairs)
            sender = 2 * c - 1 + self.rng.randint(0, 1)
            self.counter[sender] += 1
            # parley-bench's client ids: RUN.CONNECTION.SEQ.INTENDED_NS
            client_id = f"r7.{sender}.{self.counter[sender]}.{1_700_000_000_000_000_000 + self.n * 1000}"
            jobs.append((c, sender, self.texts[self.n % len(self.texts)], client_id))
            self.n += 1
        db.execute("BEGIN IMMEDIATE")
        touched = {}
        for c, sender, text, client_id in jobs:
            db.execute("SAVEPOINT job")
            self.pos += 1
            self.seqs[c] += 1
            args = (c, self.seqs[c], self.pos, sender, client_id, text, 0)
            if self.variant == "hash":
                h = client_hash(client_id)
                if any(row[1] == client_id for row in db.execute(self.lookup, (sender, h))):
                    raise SystemExit("a repeated client_id in the replay")
                db.execute(self.insert, args + (h,))
            else:
                db.execute(self.insert, args)
            db.execute("RELEASE job")
            touched[c] = (self.seqs[c], self.pos, sender)
        for c, (seq, p, sender) in touched.items():
            db.execute("UPDATE conversations SET last_seq = ?, last_pos = ? WHERE id = ?", (seq, p, c))
            db.execute("UPDATE members SET read_seq = ? WHERE conversation_id = ? AND user_id = ? AND read_seq < ?",
                       (seq, c, sender, seq))
        db.execute("UPDATE stream_state SET last_pos = ?", (self.pos,))
        through = db.execute("SELECT indexed_through FROM stream_state").fetchone()[0]
        newest = db.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]
        if newest > through:
            db.execute(self.index_sql, (through,))
            db.execute("UPDATE stream_state SET indexed_through = ?", (newest,))
        db.execute("COMMIT")


def wal_frames(path, page_size):
    """Page numbers of every frame in the WAL, in order, and the commit count."""
    pages, commits = [], 0
    with open(path + "-wal", "rb") as f:
        f.seek(32)
        while True:
            header = f.read(24)
            if len(header) < 24:
                break
            pgno, commit_size = struct.unpack(">II", header[:8])
            pages.append(pgno)
            commits += commit_size != 0
            f.seek(page_size, os.SEEK_CUR)
    return pages, commits


def run(variant, directory, args, rng):
    path = os.path.join(directory, f"{variant}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = setup(path, variant, args.pairs, args.page_size)
    sender = Sender(db, variant, args.pairs, rng)
    # Preloaded history, in batches of the same shape (not measured).
    for b in range(args.preload // args.batch_size):
        sender.batch(args.batch_size)
        if b % 50 == 49:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    started = time.process_time()
    for _ in range(args.batches):
        sender.batch(args.batch_size)
    cpu = time.process_time() - started
    pages, commits = wal_frames(path, page_size)
    owners = {}
    for name, pageno in db.execute("SELECT name, pageno FROM dbstat"):
        owners[pageno] = name
    ckpt_started = time.perf_counter()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ckpt = time.perf_counter() - ckpt_started
    db.close()
    n = args.batches * args.batch_size
    by_owner = collections.Counter(owners.get(p, "(free list)") for p in pages)
    wal_bytes = len(pages) * (page_size + 24)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return {"cpu_us": cpu * 1e6 / n, "frames": len(pages) / n, "bytes": wal_bytes / n, "commits": commits,
            "ckpt_us": ckpt * 1e6 / n, "by_owner": {k: v / n for k, v in by_owner.items()}, "page_size": page_size}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", action="append", choices=("0012", "current", "nopos", "hash"))
    parser.add_argument("--page-size", type=int, default=0)
    parser.add_argument("--preload", type=int, default=20000)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where the databases go (the data disk; default a temp dir)")
    args = parser.parse_args()
    variants = args.variant or ["0012", "current"]
    directory = args.dir or tempfile.mkdtemp(prefix="wal-pages-")
    os.makedirs(directory, exist_ok=True)
    results = {v: [] for v in variants}
    for r in range(args.rounds):
        for variant in variants:
            results[variant].append(run(variant, directory, args, random.Random(7 + r)))
    print(f"load average: {open('/proc/loadavg').read().split()[:3]}")
    print(f"{args.preload} messages preloaded, then {args.batches} batches of {args.batch_size} sends over "
          f"{args.pairs} pairs, {args.rounds} rounds; page size {results[variants[0]][0]['page_size']}")
    for variant, runs in results.items():
        med = lambda key: statistics.median(run[key] for run in runs)  # noqa: E731
        rounds = ", ".join(f"{run['cpu_us']:.1f}" for run in runs)
        print(f"\n{variant}: per message: WAL {med('bytes'):.0f} bytes, {med('frames'):.2f} frames; "
              f"writer CPU {med('cpu_us'):.1f} us (rounds {rounds}); checkpoint {med('ckpt_us'):.1f} us wall")
        owners = sorted({k for run in runs for k in run["by_owner"]},
                        key=lambda k: -statistics.median(run["by_owner"].get(k, 0) for run in runs))
        for owner in owners:
            print(f"  {owner:36s} {statistics.median(run['by_owner'].get(owner, 0) for run in runs):6.3f} frames")
    if not args.dir:
        shutil.rmtree(directory)


if __name__ == "__main__":
    main()
