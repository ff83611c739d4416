#!/usr/bin/env bash
# What the search index costs the send path (docs/benchmarks.md, "Search"):
# parley-bench pairs against parleyd as shipped, and against the same
# parleyd on a data folder where nothing is indexed (the index's mark,
# stream_state.indexed_through, set past any message id: the writer's batch
# indexing of migration 0012 then finds nothing to index), alternating,
# BENCH_REPEAT rounds;
# then `parley-bench compare` prints medians side by side, server CPU per
# acked message among them.
#
# usage: bench/index-cost.sh
# Environment:
#   BENCH_REPEAT=N      rounds (default 3)
#   BENCH_RATE=R        messages/s offered (default 2000)
#   BENCH_DURATION=S    seconds measured per run (default 10)
#   BENCH_OUT=DIR       reports and logs (default build/bench-results/TIME-index-cost)
#   SKIP_BUILD=1        use the binaries in build/$BENCH_BUILD as they are
#   BENCH_BUILD=PRESET  which build's binaries (default release)
# Needs: sqlite3 (the shell).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
repeat=${BENCH_REPEAT:-3}
rate=${BENCH_RATE:-2000}
duration=${BENCH_DURATION:-10}
out=${BENCH_OUT:-$root/build/bench-results/$(date +%Y%m%d-%H%M%S)-index-cost}
config=$root/bench/parleyd-bench.toml
mkdir -p "$out"

bench_binaries "$root"
trap bench_stop EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/load.txt" >&2

run() {
  local label=$1 i=$2 data=$out/data-$1-$2
  if [[ $label == without-index ]]; then
    # The schema first, then the index's mark goes past any message id:
    # sends then write exactly what they wrote before migration 0008 (the
    # pairs scenario neither edits nor deletes, so the triggers stay idle).
    bench_start "$out/$label-$i-schema.log" "$parleyd" --config "$config" --listen 127.0.0.1:0 --data-dir "$data"
    bench_stop
    sqlite3 "$data/parley.db" "UPDATE stream_state SET indexed_through = 9223372036854775807;"
  fi
  bench_start "$out/$label-$i.log" "$parleyd" --config "$config" --listen 127.0.0.1:0 --data-dir "$data"
  echo "== $label round $i" >&2
  "$bench" --server "http://127.0.0.1:$port" --server-pid "$server_pid" --label "$label" --scenario pairs \
    --connections 200 --rate "$rate" --duration "$duration" --warmup 2 --quiet --json "$out/$label-$i.json" \
    >"$out/$label-$i.txt"
  bench_stop
  rm -rf "$data"
}

for i in $(seq "$repeat"); do
  run with-index "$i"
  run without-index "$i"
done
"$bench" compare --a "$out"/with-index-*.json --b "$out"/without-index-*.json --json "$out/comparison.json" |
  tee "$out/comparison.txt"
echo "reports and logs: $out"
