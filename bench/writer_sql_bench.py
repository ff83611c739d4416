#!/usr/bin/env python3
"""The SQL a batch of sends costs the SQLite writer, before and after
migration 0012 (docs/benchmarks.md "Performance round 2: the writer").

Replays on the shipped schema, through the same SQLite library parleyd links
(Python's sqlite3 module, prepared statements cached as on the writer), the
statements the writer runs for batches of 1:1 sends, and reports the CPU time
(user + system, this process) per message, medians of rounds:

  before: migrations up to 0011; per send SAVEPOINT, the idempotency lookup,
          the INSERT (indexed by 0008's trigger), RELEASE
  after:  every migration; per send SAVEPOINT, INSERT ... ON CONFLICT DO
          NOTHING, RELEASE; per batch the search index in one INSERT ... SELECT
  after-nosp: the same without the savepoint (what SAVEPOINT/RELEASE cost)

Per batch (all variants): the conversations' counters, the senders' read
marks, the stream position, COMMIT with synchronous=FULL in WAL mode, as
parleyd runs it. Python's own cost per statement is in every variant.

usage: bench/writer_sql_bench.py [--dir DIR] [--batches N] [--batch-size N] [--rounds N] [--only VARIANT]
"""
import argparse
import glob
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
WORDS = ("the you and to it is for that on we in this of can be have are just ok do will at not me with my so "
         "meeting tomorrow thanks please today project report lunch coffee review deploy build test").split()


def migrations(upto):
    files = sorted(glob.glob(os.path.join(ROOT, "server", "migrations", "sqlite", "*.sql")))
    return [open(f, encoding="utf-8").read() for f in files if int(os.path.basename(f)[:4]) <= upto]


def setup(path, upto, pairs):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA foreign_keys = ON")
    for sql in migrations(upto):
        db.executescript(sql)
    seed_pairs(db, pairs)
    return db


def seed_pairs(db, pairs):
    """Users 2c-1 and 2c in direct conversation c, then parleyd's writer's pragmas."""
    db.execute("BEGIN")
    for u in range(1, 2 * pairs + 1):
        db.execute("INSERT INTO users (id, username, password_hash, display_name, created_at) VALUES (?, ?, 'x', 'U', 0)",
                   (u, f"u{u}"))
    for c in range(1, pairs + 1):
        db.execute("INSERT INTO conversations (id, kind, name, created_by, created_at, last_seq, last_pos) "
                   "VALUES (?, 0, '', ?, 0, 0, 0)", (c, 2 * c - 1))
        for u in (2 * c - 1, 2 * c):
            db.execute("INSERT INTO members (conversation_id, user_id, role, joined_at, joined_pos, read_seq, "
                       "delivered_seq) VALUES (?, ?, 0, 0, 0, 0, 0)", (c, u))
    db.execute("COMMIT")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA secure_delete = ON")


INSERT = ("INSERT INTO messages (conversation_id, seq, pos, sender_id, client_id, body, reply_to_id, created_at, "
          "attachment_count) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 0)")
LOOKUP = ("SELECT g.id, g.conversation_id, g.seq, g.pos, g.sender_id, g.client_id, g.body, g.reply_to_id, "
          "g.created_at, g.edited_at, g.deleted_at, g.attachment_count FROM messages g "
          "WHERE g.sender_id = ? AND g.client_id = ?")


def fold():
    sql = open(os.path.join(ROOT, "server", "migrations", "sqlite", "0008_search.sql"), encoding="utf-8").read()
    start = sql.index("CASE WHEN NEW.body")
    end = sql.index("ELSE NEW.body END", start) + len("ELSE NEW.body END")
    return sql[start:end].replace("NEW.body", "body")


def run(variant, directory, batches, batch_size, pairs, rng):
    path = os.path.join(directory, f"{variant}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = setup(path, 11 if variant == "before" else 99, pairs)
    index_sql = (f"INSERT INTO message_search (rowid, body) SELECT id, {fold()} FROM messages "
                 "WHERE id > ? AND deleted_at IS NULL")
    seqs = [0] * (pairs + 1)
    pos = 0
    n = 0
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))) for _ in range(1000)]
    cpu = 0.0
    for b in range(batches):
        jobs = []
        for _ in range(batch_size):
            c = rng.randint(1, pairs)
            jobs.append((c, 2 * c - 1 + rng.randint(0, 1), texts[n % len(texts)], f"cid-{n}"))
            n += 1
        started = time.process_time()
        db.execute("BEGIN IMMEDIATE")
        touched = {}
        for c, sender, text, client_id in jobs:
            if variant != "after-nosp":
                db.execute("SAVEPOINT job")
            if variant == "before":
                db.execute(LOOKUP, (sender, client_id)).fetchall()
                sql = INSERT
            else:
                sql = INSERT + " ON CONFLICT (sender_id, client_id) DO NOTHING"
            pos += 1
            seqs[c] += 1
            db.execute(sql, (c, seqs[c], pos, sender, client_id, text, 0))
            if variant != "after-nosp":
                db.execute("RELEASE job")
            touched[c] = (seqs[c], pos, sender)
        for c, (seq, p, sender) in touched.items():
            db.execute("UPDATE conversations SET last_seq = ?, last_pos = ? WHERE id = ?", (seq, p, c))
            db.execute("UPDATE members SET read_seq = ? WHERE conversation_id = ? AND user_id = ? AND read_seq < ?",
                       (seq, c, sender, seq))
        db.execute("UPDATE stream_state SET last_pos = ?", (pos,))
        if variant != "before":
            through = db.execute("SELECT indexed_through FROM stream_state").fetchone()[0]
            newest = db.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]
            if newest > through:
                db.execute(index_sql, (through,))
                db.execute("UPDATE stream_state SET indexed_through = ?", (newest,))
        db.execute("COMMIT")
        cpu += time.process_time() - started
        if b % 10 == 9:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    found = db.execute("SELECT COUNT(*) FROM message_search WHERE message_search MATCH 'meeting'").fetchone()[0]
    expected = db.execute("SELECT COUNT(*) FROM messages WHERE body LIKE '%meeting%'").fetchone()[0]
    db.close()
    if found != expected:
        sys.exit(f"{variant}: the index finds {found} of {expected} messages")
    return cpu * 1e6 / (batches * batch_size)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=None, help="where the databases go (the data disk; default a temp dir)")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("before", "after", "after-nosp"), help="run one variant (for a profiler)")
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="writer-sql-bench-")
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(7)
    results = {v: [] for v in ("before", "after", "after-nosp") if args.only in (None, v)}
    for _ in range(args.rounds):
        for variant in results:
            results[variant].append(run(variant, directory, args.batches, args.batch_size, args.pairs, rng))
    print(f"load average: {open('/proc/loadavg').read().split()[:3]}")
    print(f"{args.batches} batches of {args.batch_size} sends over {args.pairs} pairs, {args.rounds} rounds")
    for variant, values in results.items():
        print(f"{variant:11s} CPU us per message: median {statistics.median(values):6.1f}  "
              f"({', '.join(f'{v:.1f}' for v in values)})")
    if not args.dir:
        shutil.rmtree(directory)


if __name__ == "__main__":
    main()
