#!/usr/bin/env bash
# Every figure of the second performance round from one run: parleyd and the
# Node.js baseline measured alternately in the same sitting, medians of
# rounds, each figure with its ratio, its target and whether it is met
# (docs/benchmarks.md, "Performance round 2").
#
# usage: bench/round2.sh [quick|full]
#   quick: 1 round, short windows, small idle and churn runs (~5 min): for tries
#   full:  3 rounds (BENCH_REPEAT), the issue's sizes (~15-20 min)
#
# Steps: fdatasync rate and latency of the data disk (3 readings); (b) pairs,
# (c) group100, (e) mix, (d) churn and (a) idle at 19,000 connections, both
# servers alternately (run-comparison.sh); the highest rate parleyd sustains
# in pairs (a bounded search, parleyd alone); pairs at half that rate for
# the p99 delivery latency (parleyd alone). Load averages are recorded
# before each step. Runs are not stopped by a failed check: errors, missing
# and repeated deliveries are listed under the table, run by run. The table goes to stdout and OUT/summary.md, every
# report to OUT/.
#
# Environment:
#   BENCH_OUT=DIR      results (default build/bench-results/TIME-round2-MODE)
#   BENCH_REPEAT=N     rounds per comparison (full: 3, quick: 1)
#   SKIP_BUILD=1       use the binaries in build/release as they are
#   PARLEYD_BIN=FILE   the parleyd binary to measure
#   PARLEYD_BEFORE_BIN=FILE  a second parleyd (an earlier build), measured in
#                      every round of the comparisons too (label parleyd-before):
#                      before/after in the same sitting, alternating binaries
#   ROUND2_IDLE_REPEAT=N  rounds of the idle step (default BENCH_REPEAT)
#   ROUND2_SEARCH_START=R the rate search's first probe (default 4000 msg/s)
#   ROUND2_SEARCH_PROBES=N the rate search's probes at most (full: 5, quick: 4)
#   SOURCE_ADDRESSES   for the idle and churn runs (default 127.0.0.2-127.0.0.9)
#   ROUND2_STEPS       a subset of: fsync pairs group100 mix churn idle search latency
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-full}
case $mode in
  quick | full) ;;
  *)
    sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
out=${BENCH_OUT:-$root/build/bench-results/$(date +%Y%m%d-%H%M%S)-round2-$mode}
sources=${SOURCE_ADDRESSES:-127.0.0.2-127.0.0.9}
steps=${ROUND2_STEPS:-fsync pairs group100 mix churn idle search latency}
mkdir -p "$out"
source "$root/bench/lib.sh"
bench_binaries "$root"
export SKIP_BUILD=1
fsync_rate=$root/build/${BENCH_BUILD:-release}/bench/parley-fsync-rate
[[ -z ${PARLEYD_BIN:-} ]] || export PARLEYD_BIN
[[ -z ${PARLEYD_BEFORE_BIN:-} ]] || export PARLEYD_BEFORE_BIN
# One data directory per parleyd binary for the whole sitting: accounts and
# sessions are made once (argon2 is most of a setup's time) and reused.
export PARLEYD_DATA=$out/data
mkdir -p "$PARLEYD_DATA"

if [[ $mode == full ]]; then
  repeat=${BENCH_REPEAT:-3}
  dur=6 fan_dur=6 warm=2
  idle_n=19000 idle_dur=15 idle_proc=2
  churn_n=200 churn_rate=200 churn_dur=6
  search_dur=4 search_probes=5 fsync_s=5
else
  repeat=${BENCH_REPEAT:-1}
  dur=3 fan_dur=3 warm=1
  idle_n=2000 idle_dur=5 idle_proc=1
  churn_n=200 churn_rate=200 churn_dur=4
  search_dur=3 search_probes=4 fsync_s=2
fi

search_probes=${ROUND2_SEARCH_PROBES:-$search_probes}
step() { [[ " $steps " == *" $1 "* ]]; }
note_load() { echo "$(date -u +%H:%M:%S) $1 $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/load.txt"; }
{
  echo "mode=$mode repeat=$repeat parleyd=${PARLEYD_BIN:-$parleyd} parleyd-before=${PARLEYD_BEFORE_BIN:-none}"
  echo "git=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown) cores=$(nproc)"
} >"$out/run.txt"

fsync_reading() {
  note_load "fsync-$1"
  "$fsync_rate" "$out/fsync-probe" "$fsync_s" >"$out/fsync-$1.json"
  cat "$out/fsync-$1.json"
}

# compare NAME SCENARIO [options]: both servers, BENCH_REPEAT rounds.
compare() {
  local name=$1
  shift
  note_load "$name"
  BENCH_REPEAT=$repeat BENCH_OUT=$out/$name "$root/bench/run-comparison.sh" "$@" --warmup "$warm" ||
    echo "$name: a run failed (see $out/$name)" | tee -a "$out/problems.txt"
}

step fsync && fsync_reading 1
step pairs && compare pairs pairs --connections 200 --rate 6000 --duration "$dur"
step group100 && compare group100 group100 --connections 200 --rate 300 --duration "$fan_dur"
step mix && compare mix mix --connections 200 --rate 400 --duration "$fan_dur"
step churn && compare churn churn --connections "$churn_n" --rate "$churn_rate" --duration "$churn_dur" \
  --churn-interval 1 --churn-downtime 0.3 --source-addresses "$sources"
step fsync && fsync_reading 2
step idle && repeat=${ROUND2_IDLE_REPEAT:-$repeat} compare idle idle --connections "$idle_n" --processes "$idle_proc" --source-addresses "$sources" \
  --duration "$idle_dur"

# The highest rate parleyd sustains in pairs: acked ≥ 97% of offered, ack
# p99 ≤ 1 s, nothing left unacked. From ROUND2_SEARCH_START (4,000) msg/s up
# by 1.5× while rates pass, or down by half while they fail, then halve the
# interval between the best pass and the lowest failure; at most
# search_probes probes.
sustained() {
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = (r["throughput"]["acked_per_s"] >= 0.97 * r["config"]["rate"]
      and r["latency_us"]["ack"]["p99"] <= 1_000_000
      and r["messages"]["unacked"] == 0)
sys.exit(0 if ok else 1)
PY
}
probe() {
  local rate=$1
  note_load "search-$rate"
  PARLEYD_BEFORE_BIN='' BENCH_ONLY=parleyd BENCH_OUT=$out/search/$rate "$root/bench/run-comparison.sh" pairs --connections 200 \
    --rate "$rate" --duration "$search_dur" --warmup "$warm" --quiet >/dev/null 2>"$out/search-$rate.err" || true
  [[ -f $out/search/$rate/parleyd-1.json ]] && sustained "$out/search/$rate/parleyd-1.json"
}
max_rate=0
if step search; then
  good=0 bad=0 rate=${ROUND2_SEARCH_START:-4000}
  for _ in $(seq "$search_probes"); do
    if probe "$rate"; then good=$rate; else bad=$rate; fi
    echo "search: $rate msg/s $([[ $good == "$rate" ]] && echo sustained || echo not sustained)" | tee -a "$out/search.txt"
    if [[ $bad == 0 ]]; then
      rate=$((rate * 3 / 2))
    elif [[ $good == 0 ]]; then
      rate=$((rate / 2))
    else
      [[ $((bad - good)) -le $((good / 10 + 1)) ]] && break
      rate=$(((good + bad) / 2))
    fi
  done
  max_rate=$good
  echo "max_rate=$max_rate" >>"$out/search.txt"
fi
if step latency && [[ $max_rate -gt 0 ]]; then
  note_load latency
  PARLEYD_BEFORE_BIN='' BENCH_ONLY=parleyd BENCH_REPEAT=$repeat BENCH_OUT=$out/latency "$root/bench/run-comparison.sh" pairs \
    --connections 200 --rate $((max_rate / 2)) --duration "$dur" --warmup "$warm" ||
    echo "latency: a run failed (see $out/latency)" | tee -a "$out/problems.txt"
fi
step fsync && fsync_reading 3
note_load end

python3 "$root/bench/round2_summary.py" "$out" | tee "$out/summary.md"
echo "reports and logs: $out"
