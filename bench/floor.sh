#!/usr/bin/env bash
# The floor under parley-bench's server CPU figures on this machine: what the
# kernel alone charges per 1:1 message (read the send, write the ack and the
# delivery), per group delivery (one write per recipient), and per durable
# commit (write + fdatasync), with no WebSocket, JSON or storage engine
# (docs/benchmarks.md, "Performance round 2: the floor under the targets").
# Three rounds each, medians; prints one JSON object.
#
# usage: bench/floor.sh [ROUNDS]    (default 3; BENCH_BUILD=release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/${BENCH_BUILD:-release}/bench
rounds=${1:-3}
[[ -x $build/parley-send-floor && -x $build/parley-fsync-rate ]] ||
  cmake --build --preset "${BENCH_BUILD:-release}" -j2 --target parley-send-floor parley-fsync-rate >&2
probe=$(mktemp -d "${TMPDIR:-/tmp}/parley-floor-XXXXXX")
trap 'rm -rf "$probe"' EXIT
{
  echo "load $(cut -d' ' -f1 /proc/loadavg)"
  for _ in $(seq "$rounds"); do
    # The rates and sizes of round2.sh's pairs and group100 steps.
    echo "pairs $("$build/parley-send-floor" --mode pairs --connections 200 --rate 6000 --seconds 4)"
    echo "group100 $("$build/parley-send-floor" --mode group --connections 200 --group 100 --rate 300 --seconds 4)"
    echo "fsync $("$build/parley-fsync-rate" "$probe" 3)"
  done
  echo "load $(cut -d' ' -f1 /proc/loadavg)"
} | python3 -c '
import json, statistics, sys
runs, loads = {}, []
for line in sys.stdin:
    kind, _, rest = line.partition(" ")
    if kind == "load":
        loads.append(float(rest))
    else:
        runs.setdefault(kind, []).append(json.loads(rest))
median = lambda key, field: statistics.median(r[field] for r in runs[key])
print(json.dumps({
    "load_averages": loads,
    "pairs_cpu_us_per_message": median("pairs", "server_cpu_us_per_message"),
    "group100_cpu_us_per_delivery": median("group100", "server_cpu_us_per_delivery"),
    "fsync_cpu_us_per_commit": median("fsync", "cpu_us_per_fdatasync"),
    "fsync_per_second": median("fsync", "fdatasync_per_second"),
    "rounds": runs,
}, indent=1))'
