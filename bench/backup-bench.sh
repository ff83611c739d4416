#!/usr/bin/env bash
# Backup throughput and its effect on send latency (docs/benchmarks.md,
# "Backup").
#
# 1. A data folder of meaningful size: parleyd creates the schema and
#    parley-bench its accounts and conversations; then, with the server
#    stopped, SQL adds BACKUP_BENCH_MESSAGES messages (400 random hex
#    characters each, every index maintained) to those conversations.
# 2. The server restarted on it; parley-bench pairs without a backup
#    (baseline), then the same with `parleyd backup` started in the middle
#    of the measured window. The WAL's size is sampled meanwhile (a long read
#    holds the checkpointer back).
# 3. One more backup on the idle server, for throughput alone.
#
# usage: bench/backup-bench.sh
# Environment:
#   BACKUP_BENCH_MESSAGES=N  messages added by SQL (default 600000, ~400 MiB)
#   BENCH_RATE=R             messages/s offered by parley-bench (default 2000)
#   BENCH_DURATION=S         seconds measured per run (default 20)
#   BENCH_OUT=DIR            reports and logs (default build/bench-results/TIME-backup)
#   SKIP_BUILD=1             use the binaries in build/$BENCH_BUILD as they are
#   BENCH_BUILD=PRESET       which build's binaries (default release)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
messages=${BACKUP_BENCH_MESSAGES:-600000}
rate=${BENCH_RATE:-2000}
duration=${BENCH_DURATION:-20}
out=${BENCH_OUT:-$root/build/bench-results/$(date +%Y%m%d-%H%M%S)-backup}
config=$root/bench/parleyd-bench.toml
mkdir -p "$out"
data=$out/data

source "$root/bench/lib.sh"
bench_binaries "$root"

trap bench_stop EXIT
start_server() { bench_start "$1" "$parleyd" --config "$config" --listen 127.0.0.1:0 --data-dir "$data"; }

pairs() {
  "$bench" --server "http://127.0.0.1:$port" --server-pid "$server_pid" --label "$1" --scenario pairs \
    --connections 200 --rate "$rate" --duration "$duration" --warmup 2 --quiet --json "$out/$1.json" >"$out/$1.txt"
}

# The WAL's largest size while $1 runs (bytes), sampled every 100 ms.
wal_max() {
  local pid=$1 max=0 size
  while kill -0 "$pid" 2>/dev/null; do
    size=$(stat -c %s "$data/parley.db-wal" 2>/dev/null || echo 0)
    ((size > max)) && max=$size
    sleep 0.1
  done
  echo "$max"
}

echo "== schema and accounts" >&2
start_server "$out/parleyd-setup.log"
"$bench" --server "http://127.0.0.1:$port" --scenario pairs --connections 200 --rate 100 --duration 1 --warmup 0 \
  --quiet >/dev/null
bench_stop

echo "== adding $messages messages by SQL" >&2
conversations=$(sqlite3 "$data/parley.db" "SELECT COUNT(*) FROM conversations")
per=$(((messages + conversations - 1) / conversations))
time sqlite3 "$data/parley.db" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
CREATE TEMP TABLE base AS SELECT MAX((SELECT last_pos FROM stream_state), COALESCE((SELECT MAX(pos) FROM messages), 0)) AS pos;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $per)
INSERT INTO messages (conversation_id, seq, pos, sender_id, client_id, body, created_at)
  SELECT c.id, c.last_seq + n.i, (SELECT pos FROM base) + (c.id - 1) * $per + n.i, c.created_by,
         'fill-' || c.id || '-' || n.i, lower(hex(randomblob(200))), c.created_at + n.i
  FROM conversations c CROSS JOIN n;
UPDATE conversations SET last_seq = (SELECT MAX(seq) FROM messages m WHERE m.conversation_id = conversations.id),
                         last_pos = (SELECT MAX(pos) FROM messages m WHERE m.conversation_id = conversations.id);
UPDATE stream_state SET last_pos = (SELECT MAX(pos) FROM messages);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
db_mib=$(($(stat -c %s "$data/parley.db") / 1048576))
echo "database: $db_mib MiB, $(sqlite3 "$data/parley.db" "SELECT COUNT(*) FROM messages") messages" | tee "$out/size.txt" >&2

start_server "$out/parleyd.log"
echo "== pairs without a backup" >&2
pairs baseline &
bench_pid=$!
wal_max "$bench_pid" >"$out/baseline-wal-max.txt"
wait "$bench_pid"

echo "== pairs with a backup started in the middle" >&2
pairs during-backup &
bench_pid=$!
sleep $((2 + duration / 2 - 3))
"$parleyd" --config "$config" --data-dir "$data" backup "$out/backup-under-load" >"$out/backup-under-load.txt" 2>&1 &
backup_pid=$!
wal_max "$backup_pid" >"$out/during-backup-wal-max.txt"
wait "$backup_pid"
wait "$bench_pid"

echo "== backup of the idle server" >&2
"$parleyd" --config "$config" --data-dir "$data" backup "$out/backup-idle" >"$out/backup-idle.txt"
bench_stop

python3 - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
def row(name):
    r = json.loads((out / f"{name}.json").read_text())
    lat = r["latency_us"]
    wal = int((out / f"{name}-wal-max.txt").read_text().strip() or 0)
    return (f"| {name} | {r['throughput']['acked_per_s']:.0f} | {lat['ack']['p50']/1000:.2f} | {lat['ack']['p99']/1000:.2f} "
            f"| {lat['delivery']['p50']/1000:.2f} | {lat['delivery']['p99']/1000:.2f} | {wal/1048576:.1f} |")
print((out / "size.txt").read_text().strip())
print("| run | acked/s | ack p50 ms | ack p99 ms | delivery p50 ms | delivery p99 ms | WAL max MiB |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
print(row("baseline"))
print(row("during-backup"))
print("under load:", (out / "backup-under-load.txt").read_text().strip())
print("idle:      ", (out / "backup-idle.txt").read_text().strip())
PY
echo "reports and logs: $out"
