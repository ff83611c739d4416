#!/usr/bin/env python3
"""Bytes the SQLite writer and the checkpoint thread write per stored message,
while a benchmark runs (docs/benchmarks.md "Performance round 2: the writer").

Watches for parleyd processes started from the given binaries (as
bench/run-comparison.sh starts them, one after the other), and samples each
once a second until it exits: the bytes its `parley-writer` thread passed to
write calls (its WAL frames: /proc/PID/task/TID/io wchar), those of its
`parley-ckpt` thread (pages copied back into the database file), and the
newest message id in its database (a read-only query). Per process it
prints, over the samples in which messages were stored: WAL bytes per
message, WAL frames per message (the page size read from the database) and
checkpoint bytes per message. One line per process, in the order they ran.

usage: bench/writer_io.py LABEL=BINARY [LABEL=BINARY ...] [--until-idle SECONDS]
"""
import argparse
import os
import sqlite3
import sys
import time


def threads(pid):
    found = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                found[f.read().strip()] = tid
    except OSError:
        pass
    return found


def wchar(pid, tid):
    try:
        with open(f"/proc/{pid}/task/{tid}/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def data_dir(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        args = f.read().split(b"\0")
    for i, arg in enumerate(args):
        if arg == b"--data-dir" and i + 1 < len(args):
            return args[i + 1].decode()
    return None


def newest_id(path):
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2)
        try:
            row = db.execute("SELECT COALESCE(MAX(id), 0), (SELECT page_size FROM pragma_page_size) FROM messages")
            return row.fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None


def watch(pid, label):
    directory = data_dir(pid)
    wal = ckpt = messages = 0
    page_size = 4096
    last = None
    while os.path.exists(f"/proc/{pid}"):
        names = threads(pid)
        w = wchar(pid, names["parley-writer"]) if "parley-writer" in names else None
        c = wchar(pid, names["parley-ckpt"]) if "parley-ckpt" in names else None
        # The database is opened only while the writer thread runs: once the
        # server stops, the script that started it deletes its files, and a
        # connection here would race that.
        row = (newest_id(os.path.join(directory, "parley.db"))
               if directory and w is not None and "parley-writer" in threads(pid) else None)
        if w is not None and c is not None and row is not None:
            sample = (w, c, row[0])
            page_size = row[1]
            if last and sample[2] > last[2]:
                wal += sample[0] - last[0]
                ckpt += sample[1] - last[1]
                messages += sample[2] - last[2]
            last = sample
        time.sleep(1)
    if messages:
        print(f"{label} pid {pid}: {messages} messages; WAL {wal / messages:.0f} bytes "
              f"({wal / messages / (page_size + 24):.2f} frames of {page_size}) per message; "
              f"checkpoint {ckpt / messages:.0f} bytes per message", flush=True)
    else:
        print(f"{label} pid {pid}: no messages stored while sampled", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+", help="LABEL=BINARY")
    parser.add_argument("--until-idle", type=float, default=120, help="stop after this long without a parleyd")
    args = parser.parse_args()
    wanted = {}
    for item in args.binaries:
        label, _, binary = item.partition("=")
        wanted[os.path.realpath(binary)] = label
    seen = set()
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < args.until_idle:
        started = None
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or pid in seen:
                continue
            try:
                exe = os.path.realpath(f"/proc/{pid}/exe")
            except OSError:
                continue
            if exe in wanted:
                started = (pid, wanted[exe])
                break
        if started:
            seen.add(started[0])
            watch(*started)
            idle_since = time.monotonic()
        else:
            time.sleep(0.2)
    sys.exit(0)


if __name__ == "__main__":
    main()
