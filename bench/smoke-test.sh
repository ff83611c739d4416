#!/usr/bin/env bash
# bench.smoke: parley-bench against a real parleyd for one second. Checks
# that messages were acked and delivered with no errors (parley-bench
# --check), and that the JSON report says so; then a short churn run whose
# resumes must neither lose nor repeat a delivery.
#
# usage: smoke-test.sh PARLEYD PARLEY_BENCH
set -euo pipefail
parleyd=$1
bench=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-smoke-XXXXXX")
cleanup() {
  bench_stop
  rm -rf "$work"
}
trap cleanup EXIT

bench_start "$work/parleyd.log" "$parleyd" --config "$here/parleyd-bench.toml" --listen 127.0.0.1:0 \
  --data-dir "$work/data"

"$bench" --server "http://127.0.0.1:$port" --server-pid "$server_pid" --label parleyd \
  --scenario pairs --connections 4 --rate 50 --duration 1 --warmup 0.5 \
  --source-addresses 127.0.0.2-127.0.0.3 --json "$work/out.json" --check

# The report is machine-readable and says what --check saw.
grep -q '"tool":"parley-bench"' "$work/out.json"
grep -Eq '"delivered":[1-9]' "$work/out.json"
grep -q '"errors":{"total":0' "$work/out.json"

# Churn: connections drop and resume from their position while messages
# flow; --check fails if a resume repeated or lost a delivery.
"$bench" --server "http://127.0.0.1:$port" --server-pid "$server_pid" --label parleyd \
  --scenario churn --connections 6 --rate 60 --duration 1.5 --warmup 0.5 --churn-interval 0.4 \
  --churn-downtime 0.1 --source-addresses 127.0.0.2-127.0.0.3 --json "$work/churn.json" --check
grep -Eq '"reconnects":[1-9]' "$work/churn.json"
grep -q '"repeated_deliveries":0' "$work/churn.json"
grep -q '"missing_deliveries":0' "$work/churn.json"
# Several servers (here the same one twice: what matters is that both
# addresses are used and reported) and a control group's CPU time, read
# from a stand-in cgroup folder whose counter does not move.
mkdir -p "$work/cgroup"
echo 1000000000 >"$work/cgroup/cpuacct.usage"
"$bench" --server "http://127.0.0.1:$port,127.0.0.1:$port" --label parleyd \
  --scenario pairs --connections 4 --rate 40 --duration 0.5 --warmup 0.3 \
  --cpu-group "fake=$work/cgroup" --json "$work/multi.json" --check --quiet >/dev/null
python3 - "$work/multi.json" "$port" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["servers"] == [f"http://127.0.0.1:{sys.argv[2]}"] * 2, r["servers"]
assert r["cpu_groups"]["fake"]["cpu_seconds"] == 0, r["cpu_groups"]
assert r["messages"]["delivered"] > 0
PY
# Bad input: a --cpu-group that is not NAME=DIR, or names no cgroup, is
# refused with a message before anything runs.
for bad in "nonsense" "x=$work"; do
  if "$bench" --server "http://127.0.0.1:$port" --cpu-group "$bad" --duration 0.5 2>"$work/bad.err"; then
    echo "bench.smoke: --cpu-group $bad was accepted" >&2
    exit 1
  fi
  grep -q -- '--cpu-group' "$work/bad.err"
done
echo "bench.smoke: 4 passed, 0 failed"
