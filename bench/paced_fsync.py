#!/usr/bin/env python3
"""CPU of a bare durable commit (pwrite + fdatasync) back to back and paced as
the SQLite writer's commits are at low rates (docs/benchmarks.md
"Performance round 2: the writer", sixth step).

bench/floor.sh's parley-fsync-rate syncs back to back. A server at a few
hundred messages a second commits every few milliseconds instead, and on
ext4 without a journal a write that moves the file's modification time
(taken from a clock that ticks every few milliseconds) makes fdatasync write
the inode too. Each variant writes SIZE bytes at advancing offsets of a
1 MiB file and syncs, COUNT times, and reports the thread's CPU time
(time.thread_time) per commit; rounds alternate the variants, medians last.

usage: bench/paced_fsync.py DIR [--rounds 3] [--count 600]
"""
import argparse
import os
import statistics
import time

VARIANTS = [  # (name, bytes per commit, pause between commits in seconds)
    ("100 B back to back", 100, 0.0),
    ("100 B every 3.3 ms (300/s)", 100, 0.0033),
    ("45 KB every 3.3 ms (a commit's WAL at 300/s)", 45000, 0.0033),
]


def run(path, size, pause, count):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, b"\0" * (1 << 20), 0)
        os.fsync(fd)
        data, offset, cpu = b"x" * size, 0, 0.0
        for _ in range(count):
            if pause:
                time.sleep(pause)
            started = time.thread_time()
            os.pwrite(fd, data, offset)
            os.fdatasync(fd)
            cpu += time.thread_time() - started
            offset = (offset + size) % ((1 << 20) - size)
        return cpu / count * 1e6
    finally:
        os.close(fd)
        os.unlink(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", help="a directory on the disk to measure (the data disk)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=600)
    args = parser.parse_args()
    results = {name: [] for name, _, _ in VARIANTS}
    print(f"load {os.getloadavg()[0]:.2f}")
    for _ in range(args.rounds):
        for name, size, pause in VARIANTS:
            us = run(os.path.join(args.dir, "parley-paced-fsync"), size, pause, args.count)
            results[name].append(us)
            print(f"{name}: {us:.1f} µs CPU per commit", flush=True)
    print(f"load {os.getloadavg()[0]:.2f}")
    for name, values in results.items():
        print(f"median {name}: {statistics.median(values):.1f} µs")


if __name__ == "__main__":
    main()
