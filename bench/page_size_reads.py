#!/usr/bin/env python3
"""What the page size of a new database does to reads (docs/benchmarks.md
"Performance round 2: the writer", fifth step): history pages and searches
on the same messages stored with each page size.

Builds, per page size, a database of the shipped schema holding --messages
1:1 messages (bench/wal_pages.py's replay of the writer's batches), then
times, through the same SQLite library parleyd links, with the pages in the
OS cache (as on a server that has been running):
  history: a page of 50 messages before a random seq of a random
           conversation (the history endpoint's statement), 2,000 pages
  search:  the search's inner query (FTS5 matches newest first, at most
           1000) for a common word and for a rare one, 200 each
and reports the file size and the median per query, rounds alternating the
page sizes.

usage: bench/page_size_reads.py [--messages N] [--rounds N] [--dir DIR] [--page-size N ...]
"""
import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wal_pages  # noqa: E402

HISTORY = ("SELECT g.id, g.conversation_id, g.seq, g.pos, g.sender_id, g.client_id, g.body, g.reply_to_id, "
           "g.created_at, g.edited_at, g.deleted_at, g.attachment_count FROM messages g "
           "WHERE g.conversation_id = ? AND g.seq < ? ORDER BY g.seq DESC LIMIT 50")
SEARCH = ("SELECT rowid FROM message_search WHERE message_search MATCH ? ORDER BY rowid DESC LIMIT 1000")


class Args:
    pairs = 100
    batch_size = 100


def build(directory, page_size, messages):
    path = os.path.join(directory, f"reads-{page_size}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = wal_pages.setup(path, "current", Args.pairs, page_size)
    sender = wal_pages.Sender(db, "current", Args.pairs, random.Random(11))
    for b in range(messages // Args.batch_size):
        sender.batch(Args.batch_size)
        if b % 50 == 49:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA mmap_size = 1073741824")
    db.execute("PRAGMA cache_size = -16384")
    return path, db, sender.seqs


def timed(db, sql, params):
    started = time.perf_counter()
    for p in params:
        db.execute(sql, p).fetchall()
    return (time.perf_counter() - started) * 1e6 / len(params)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page-size", type=int, action="append")
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    sizes = args.page_size or [1024, 2048, 4096]
    directory = args.dir or tempfile.mkdtemp(prefix="page-size-reads-")
    os.makedirs(directory, exist_ok=True)
    dbs = {size: build(directory, size, args.messages) for size in sizes}
    results = {size: {"history": [], "common": [], "rare": []} for size in sizes}
    rng = random.Random(3)
    for _ in range(args.rounds):
        for size, (path, db, seqs) in dbs.items():
            history = [(c, rng.randint(2, seqs[c] + 1)) for c in (rng.randint(1, Args.pairs) for _ in range(2000))]
            timed(db, HISTORY, history[:200])  # the pages into the cache
            results[size]["history"].append(timed(db, HISTORY, history))
            results[size]["common"].append(timed(db, SEARCH, [("meeting",)] * 200))
            results[size]["rare"].append(timed(db, SEARCH, [("deploy review",)] * 200))
    print(f"load average: {open('/proc/loadavg').read().split()[:3]}")
    print(f"{args.messages} messages over {Args.pairs} conversations; medians of {args.rounds} rounds, µs per query")
    for size, (path, db, _) in dbs.items():
        r = results[size]
        print(f"page size {size:5d}: file {os.path.getsize(path) / 2**20:6.1f} MiB; history page of 50 "
              f"{statistics.median(r['history']):7.1f}; search common word {statistics.median(r['common']):8.1f}; "
              f"search two words {statistics.median(r['rare']):8.1f}")
        db.close()
    if not args.dir:
        shutil.rmtree(directory)


if __name__ == "__main__":
    main()
