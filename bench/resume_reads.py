#!/usr/bin/env python3
"""What a resume's read of messages costs with and without the index on
(conversation_id, pos) (docs/benchmarks.md "Performance round 2: the
writer", fifth step).

Two databases with the same messages: schema 12 (the index on positions)
and the shipped schema (migration 0013 dropped it). A user is a member of
--conversations groups of the 100 that hold the messages. The messages of
a resume from a position, up to 1000, are read as each schema's store reads
them, through the same SQLite library parleyd links:

  index: schema 12's statement, one join of the memberships with messages
         by (conversation_id, pos), ORDER BY pos LIMIT
  seq:   the shipped store's way (SqliteTransaction::stream_since): one
         statement gives each membership's newest message; where that is
         after the position, the seqs its positions bound, found by probes
         of the (conversation_id, seq) index (back 1, 2, 4 ... messages
         from the newest, then halving); then one statement reads every
         range, ORDER BY id LIMIT (the key is in the index), and a probe
         per conversation checks that these are the first by position

for resumes from the newest position (nothing new: most resumes), and from
10, 1,000 and 100,000 messages back. Checks that both return the same
messages; reports µs per resume, medians of rounds. Python's cost per
statement is in both, and the seq way runs more statements.

usage: bench/resume_reads.py [--messages N] [--conversations N] [--rounds N] [--dir DIR]
"""
import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wal_pages  # noqa: E402

COLUMNS = ("g.id, g.conversation_id, g.seq, g.pos, g.sender_id, g.client_id, g.body, g.reply_to_id, "
           "g.created_at, g.edited_at, g.deleted_at, g.attachment_count")
MEMBERSHIPS = ("(SELECT conversation_id, joined_pos, NULL AS left_pos FROM members WHERE user_id = ?1 "
               "UNION ALL SELECT conversation_id, joined_pos, left_pos FROM past_memberships "
               "WHERE user_id = ?1 AND left_pos > ?2)")
BY_INDEX = (f"SELECT {COLUMNS}, m.left_pos FROM {MEMBERSHIPS} m JOIN messages g ON g.conversation_id = "
            "m.conversation_id AND g.pos > MAX(?2, m.joined_pos) AND (m.left_pos IS NULL OR g.pos <= m.left_pos) "
            "ORDER BY g.pos LIMIT ?3")
NEWEST = (f"SELECT m.conversation_id, m.joined_pos, m.left_pos, (SELECT g.pos FROM messages g WHERE "
          f"g.conversation_id = m.conversation_id ORDER BY g.seq DESC LIMIT 1) FROM {MEMBERSHIPS} m")
FLOOR = "SELECT seq, pos FROM messages WHERE conversation_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1"
BETWEEN = (f"SELECT {COLUMNS} FROM json_each(?1) r JOIN messages g "
           "ON g.conversation_id = json_extract(r.value, '$[0]') AND g.seq > json_extract(r.value, '$[1]') "
           "AND g.seq <= json_extract(r.value, '$[2]') ORDER BY g.id LIMIT ?2")
COUNT = "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND seq > ? AND seq <= ?"
NEXT = "SELECT pos FROM messages WHERE conversation_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT 1"
MAX = 2**63 - 1


def seq_at_or_before(db, conversation, pos):
    def probe(at):
        return db.execute(FLOOR, (conversation, at)).fetchone()
    newest = probe(MAX)
    if newest is None or newest[1] <= pos:
        return newest[0] if newest else 0
    low, high, step = 0, newest[0], 1
    while high - step > low:
        found = probe(high - step)
        if found is None:
            low = high - step
            break
        if found[1] <= pos:
            low = found[0]
            break
        high = found[0]
        step *= 2
    while high - low > 1:
        middle = low + (high - low) // 2
        found = probe(middle)
        if found is None or found[0] <= low:
            low = middle
        elif found[1] <= pos:
            low = found[0]
        else:
            high = found[0]
    return low


def by_seq(db, user, after, limit):
    ranges = []
    for conversation, joined, left, newest in db.execute(NEWEST, (user, after)).fetchall():
        start = max(after, joined)
        if newest is None or newest <= start or (left is not None and left <= start):
            continue
        first = seq_at_or_before(db, conversation, start)
        last = seq_at_or_before(db, conversation, left) if left is not None else MAX
        if last > first:
            ranges.append([conversation, first, last])
    if not ranges:
        return []
    text = json.dumps(ranges)
    rows = db.execute(BETWEEN, (text, limit)).fetchall()
    if len(rows) >= limit and not kept_first_by_position(db, rows, ranges):
        rows = db.execute(BETWEEN.replace("ORDER BY g.id", "ORDER BY g.pos"), (text, limit)).fetchall()
    return sorted(rows, key=lambda r: r[3])


def kept_first_by_position(db, rows, ranges):
    newest_kept = max(r[3] for r in rows)
    kept = {}
    for r in rows:
        seq, count = kept.get(r[1], (0, 0))
        kept[r[1]] = (max(seq, r[2]), count + 1)
    for conversation, after, through in ranges:
        start = after
        if conversation in kept:
            seq, count = kept[conversation]
            if db.execute(COUNT, (conversation, after, seq)).fetchone()[0] != count:
                return False
            start = seq
        row = db.execute(NEXT, (conversation, start, through)).fetchone()
        if row and row[0] < newest_kept:
            return False
    return True


def by_index(db, user, after, limit):
    return [r[:-1] for r in db.execute(BY_INDEX, (user, after, limit)).fetchall()]


def build(path, variant, messages, conversations):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = wal_pages.setup(path, variant, 100, 0)
    sender = wal_pages.Sender(db, variant, 100, random.Random(5))
    for b in range(messages // 100):
        sender.batch(100)
        if b % 50 == 49:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # The reader (user 1000) in the first `conversations` of them.
    db.execute("INSERT INTO users (id, username, password_hash, display_name, created_at) "
               "VALUES (1000, 'reader', 'x', 'R', 0)")
    for c in range(1, conversations + 1):
        db.execute("INSERT INTO members (conversation_id, user_id, role, joined_at, joined_pos) VALUES (?, 1000, 0, 0, 0)",
                   (c,))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA mmap_size = 1073741824")
    db.execute("PRAGMA cache_size = -16384")
    return db, sender.pos


def timed(fn, db, after, repeat):
    started = time.perf_counter()
    for _ in range(repeat):
        rows = fn(db, 1000, after, 1000)
    return (time.perf_counter() - started) * 1e6 / repeat, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200000)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="resume-reads-")
    os.makedirs(directory, exist_ok=True)
    old, newest = build(os.path.join(directory, "index.db"), "0012", args.messages, args.conversations)
    new, _ = build(os.path.join(directory, "seq.db"), "current", args.messages, args.conversations)
    backs = [0, 10, 1000, 100000]
    results = {(way, back): [] for way in ("index", "seq") for back in backs}
    for _ in range(args.rounds):
        for back in backs:
            after = max(0, newest - back)
            repeat = 200 if back <= 10 else 20
            t_old, rows_old = timed(by_index, old, after, repeat)
            t_new, rows_new = timed(by_seq, new, after, repeat)
            if rows_old != rows_new:
                sys.exit(f"{back} back: the two ways returned different messages")
            results[("index", back)].append(t_old)
            results[("seq", back)].append(t_new)
    print(f"load average: {open('/proc/loadavg').read().split()[:3]}")
    print(f"{args.messages} messages in 100 conversations, the reader in {args.conversations}; "
          f"µs per resume (at most 1000 messages), medians of {args.rounds}")
    for back in backs:
        print(f"from {back:6d} messages back: index {statistics.median(results[('index', back)]):9.1f}   "
              f"seq {statistics.median(results[('seq', back)]):9.1f}")
    old.close()
    new.close()
    if not args.dir:
        shutil.rmtree(directory)


if __name__ == "__main__":
    main()
