#!/usr/bin/env bash
# bench.smoke: parley-bench against a real parleyd for one second. Checks
# that messages were acked and delivered with no errors (parley-bench
# --check), and that the JSON report says so.
#
# usage: smoke-test.sh PARLEYD PARLEY_BENCH
set -euo pipefail
parleyd=$1
bench=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-smoke-XXXXXX")
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$parleyd" --config "$here/parleyd-bench.toml" --listen 127.0.0.1:0 --data-dir "$work/data" \
  2>"$work/parleyd.log" &
server_pid=$!
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/parleyd.log" | head -n1)
  [[ -n $port ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/parleyd.log"; echo "parleyd exited"; exit 1; }
  sleep 0.05
done
[[ -n $port ]] || { cat "$work/parleyd.log"; echo "parleyd did not start"; exit 1; }

"$bench" --server "http://127.0.0.1:$port" --server-pid "$server_pid" --label parleyd \
  --scenario pairs --connections 4 --rate 50 --duration 1 --warmup 0.5 \
  --source-addresses 127.0.0.2-127.0.0.3 --json "$work/out.json" --check

# The report is machine-readable and says what --check saw.
grep -q '"tool":"parley-bench"' "$work/out.json"
grep -Eq '"delivered":[1-9]' "$work/out.json"
grep -q '"errors":{"total":0' "$work/out.json"
echo "bench.smoke: 1 passed, 0 failed"
