#!/usr/bin/env bash
# Two parleyd binaries, "before" and "after" a change, through
# bench/cluster/scaling.sh in one sitting, interleaved: in each round every
# cap runs before then after (after then before every other round), each
# run a scaling.sh of its own (its own PostgreSQL and Redis), so that the
# machine's load falls on both alike (docs/benchmarks.md, "Scale-out").
#
# usage: bench/cluster/before_after.sh BEFORE_PARLEYD [AFTER_PARLEYD]
#   AFTER_PARLEYD defaults to build/release/server/parleyd (copied aside
#   first, so that a build during the sitting does not change it).
#
# Environment (besides scaling.sh's own, passed on):
#   CAPS="0.25:100000 0.10:10000"  quota:period (µs) pairs, each measured
#   ROUNDS=3                       rounds
#   FIRST_ROUND=1                  the first round's number (to add rounds to a sitting's DIR later)
#   BENCH_OUT=DIR                  results (default build/bench-results/TIME-before-after)
# SQLite runs once per cap and round, with the after binary.
#
# Results: DIR/CAP-BINARY/ holds every round's runs (runs/NAME-ROUND) and
# its summary.md (scaling_summary.py); DIR/writer.txt the PostgreSQL
# writer's own figures per run (batches, stream lock held per batch, sends
# answered from their batch's reads), from the nodes' logs.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
if [[ $# -lt 1 ]]; then
  sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  exit 2
fi
out=${BENCH_OUT:-$root/build/bench-results/$(date +%Y%m%d-%H%M%S)-before-after}
mkdir -p "$out"
out=$(cd "$out" && pwd)
before=$(realpath "$1")
after_source=$(realpath "${2:-$root/build/release/server/parleyd}")
cp "$after_source" "$out/parleyd-after"
cp "$before" "$out/parleyd-before"
caps=${CAPS:-0.25:100000 0.10:10000}
rounds=${ROUNDS:-3}
echo "before=$before after=$after_source caps=\"$caps\" rounds=$rounds git=$(git -C "$root" rev-parse --short HEAD)" |
  tee "$out/run.txt"

one() {  # CAP PERIOD BINARY ROUND
  local cap=$1 period=$2 binary=$3 r=$4
  local dir=$out/runs/$cap-$binary-$r sqlite=0
  [[ $binary == after ]] && sqlite=1
  mkdir -p "$out/runs"
  SKIP_BUILD=1 PARLEYD_BIN=$out/parleyd-$binary SCALE_QUOTA=$cap SCALE_PERIOD_US=$period SCALE_SQLITE=$sqlite \
    SCALE_ROUNDS=1 SCALE_DURATION=${SCALE_DURATION:-6} SCALE_WARMUP=${SCALE_WARMUP:-2} BENCH_OUT=$dir \
    "$root/bench/cluster/scaling.sh" full >"$dir.log" 2>&1 || echo "$cap $binary round $r: scaling.sh failed ($dir.log)" |
    tee -a "$out/problems.txt"
  grep -h 'round 1:' "$dir.log" | sed "s/^/$cap $binary r$r /" | tee -a "$out/progress.txt" || true
  # The merged view: every round of one cap and binary under one folder.
  local merged=$out/$cap-$binary
  mkdir -p "$merged/runs"
  for run in "$dir"/runs/*-1; do
    [[ -d $run ]] || continue
    local name
    name=$(basename "$run")
    ln -sfn "$run" "$merged/runs/${name%-1}-$r"
    for log in "$run"/node*.log; do
      local line
      line=$(grep -h 'postgres writer stopped' "$log" | tail -n1 || true)
      [[ -n $line ]] && echo "$cap $binary r$r ${name%-1} $(basename "$log" .log) ${line##*stopped }" >>"$out/writer.txt"
    done
  done
  cat "$dir/load.txt" >>"$merged/load.txt" 2>/dev/null || true
  cp "$dir/run.txt" "$merged/run.txt" 2>/dev/null || true
}

first_round=${FIRST_ROUND:-1}
for r in $(seq "$first_round" $((first_round + rounds - 1))); do
  order=(before after)
  ((r % 2 == 0)) && order=(after before)
  for spec in $caps; do
    cap=${spec%%:*} period=${spec##*:}
    for binary in "${order[@]}"; do one "$cap" "$period" "$binary" "$r"; done
  done
done

for spec in $caps; do
  cap=${spec%%:*}
  for binary in before after; do
    [[ -d $out/$cap-$binary ]] || continue
    python3 "$root/bench/cluster/scaling_summary.py" "$out/$cap-$binary" >"$out/$cap-$binary/summary.md"
    echo "== $cap $binary" && cat "$out/$cap-$binary/summary.md"
  done
done | tee "$out/summary.md"
echo "results: $out"
