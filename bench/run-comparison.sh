#!/usr/bin/env bash
# Runs one parley-bench scenario against parleyd and against the Node.js `ws`
# baseline, one after the other on the same machine, and prints both results
# side by side with ratios (> 1: parleyd did better).
#
# usage: bench/run-comparison.sh SCENARIO [parley-bench options...]
#   e.g. bench/run-comparison.sh pairs --connections 200 --rate 2000 --duration 10
#        bench/run-comparison.sh idle --connections 2000 --duration 10
#
# Environment:
#   BENCH_REPEAT=N     run each server N times, alternating; medians are compared (default 1)
#   BENCH_OUT=DIR      where reports and logs go (default build/bench-results/TIME-SCENARIO)
#   BENCH_ONLY=parleyd|node   run one server only
#   SKIP_BUILD=1       use the binaries in build/release as they are
#   PARLEYD_CONFIG=F   parleyd's config (default bench/parleyd-bench.toml)
#   PARLEYD_THREADS=N  parleyd's I/O threads (default: its config's, one per core)
#   PARLEYD_BIN=FILE   the parleyd binary to measure (default: the build's)
#   PARLEYD_BEFORE_BIN=FILE  also measure this parleyd (label parleyd-before) in
#                      every round, between parleyd and node-ws: before/after
#                      in one sitting
#   PARLEYD_DATA=DIR   keep parleyd's data in DIR across runs (one folder per
#                      binary) and reuse its accounts and sessions
#                      (--session-cache): no argon2 after the first run
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -lt 1 ]]; then
  sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
scenario=$1
shift
repeat=${BENCH_REPEAT:-1}
only=${BENCH_ONLY:-}
out=${BENCH_OUT:-$root/build/bench-results/$(date +%Y%m%d-%H%M%S)-$scenario}
config=${PARLEYD_CONFIG:-$root/bench/parleyd-bench.toml}
node_dir=$root/bench/baselines/node-ws
mkdir -p "$out"

source "$root/bench/lib.sh"
bench_binaries "$root"
if [[ $only != parleyd && ! -d $node_dir/node_modules/ws ]]; then
  (cd "$node_dir" && npm ci --no-audit --no-fund)
fi
trap bench_stop EXIT

run_one() {
  local label=$1 i=$2
  shift 2
  local log=$out/$label-$i.log
  local extra=()
  if [[ $label == parleyd* ]]; then
    local binary=$parleyd data=$out/parleyd-data-$i
    [[ $label == parleyd-before ]] && binary=$PARLEYD_BEFORE_BIN
    if [[ -n ${PARLEYD_DATA:-} ]]; then
      # Kept across runs, one per binary (an earlier build refuses a
      # database a later one migrated): the accounts and their sessions are
      # reused.
      data=$PARLEYD_DATA/parleyd
      local sessions=$PARLEYD_DATA/sessions.json
      if [[ $label == parleyd-before ]]; then
        data=$PARLEYD_DATA/parleyd-before
        sessions=$PARLEYD_DATA/parleyd-before-sessions.json
      fi
      extra=(--users-prefix r2 --session-cache "$sessions")
    fi
    local args=(--config "$config" --listen 127.0.0.1:0 --data-dir "$data")
    [[ -n ${PARLEYD_THREADS:-} ]] && args+=(--threads "$PARLEYD_THREADS")
    bench_start "$log" "$binary" "${args[@]}"
  else
    bench_start "$log" node "$node_dir/server.js" --listen 127.0.0.1:0
  fi
  echo "== $label run $i (pid $server_pid, port $port)" >&2
  local status=0
  "$bench" --server "http://127.0.0.1:$port" --server-pid "$server_pid" --label "$label" \
    --scenario "$scenario" "$@" "${extra[@]}" --json "$out/$label-$i.json" | tee "$out/$label-$i.txt" || status=$?
  bench_stop
  [[ -n ${PARLEYD_DATA:-} ]] || rm -rf "$out/parleyd-data-$i"
  if [[ $status -ne 0 ]]; then
    echo "parley-bench failed against $label (exit $status)" >&2
    exit "$status"
  fi
}

for i in $(seq "$repeat"); do
  [[ $only == node ]] || run_one parleyd "$i" "$@"
  [[ $only == node || -z ${PARLEYD_BEFORE_BIN:-} ]] || run_one parleyd-before "$i" "$@"
  [[ $only == parleyd ]] || run_one node-ws "$i" "$@"
done

if [[ -z $only ]]; then
  echo
  "$bench" compare --a "$out"/parleyd-[0-9]*.json --b "$out"/node-ws-[0-9]*.json --json "$out/comparison.json" |
    tee "$out/comparison.txt"
fi
echo "reports and logs: $out"
