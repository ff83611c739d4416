#!/usr/bin/env bash
# Personal data export of a large history: time, archive size, and the
# server's memory (docs/benchmarks.md, "Personal data export").
#
# 1. parleyd creates the schema; two accounts (alice, bob) and their direct
#    conversation are made over the API (curl).
# 2. With the server stopped, SQL adds EXPORT_BENCH_MESSAGES messages to
#    that conversation (400 random hex characters each, alternating senders,
#    every index and trigger maintained).
# 3. The server restarted on it; alice asks for her export and it is polled
#    until ready. Reported: the export's own time (finished_at - created_at),
#    messages per second, the archive's size, and the server's resident
#    memory before and during the export (sampled every 0.2 s), split into
#    anonymous memory (the heap: what would grow if the export held the
#    history) and file-backed pages (the database, which readers map with
#    mmap: page cache, shared and reclaimable).
#
# usage: bench/export-bench.sh
# Environment:
#   EXPORT_BENCH_MESSAGES=N  messages added by SQL (default 1000000)
#   BENCH_OUT=DIR            reports and logs (default build/bench-results/TIME-export)
#   SKIP_BUILD=1             use the binaries in build/$BENCH_BUILD as they are
#   BENCH_BUILD=PRESET       which build's binaries (default release)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
messages=${EXPORT_BENCH_MESSAGES:-1000000}
out=${BENCH_OUT:-$root/build/bench-results/$(date +%Y%m%d-%H%M%S)-export}
mkdir -p "$out"
data=$out/data
config=$out/parleyd.toml
# The bench config, and no rate limit between runs.
{ cat "$root/bench/parleyd-bench.toml"; printf '\n[export]\nmin_interval_seconds = 0\n'; } >"$config"

if [[ -z ${SKIP_BUILD:-} ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target parleyd
fi
build=${BENCH_BUILD:-release}
parleyd=$root/build/$build/server/parleyd

server_pid=
stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap stop_server EXIT

start_server() {
  local log=$1
  "$parleyd" --config "$config" --listen 127.0.0.1:0 --data-dir "$data" 2>"$log" &
  server_pid=$!
  for _ in $(seq 400); do
    port=$(sed -n 's/.*listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n1)
    [[ -n $port ]] && return 0
    sleep 0.05
  done
  echo "parleyd did not start; its log:" >&2
  cat "$log" >&2
  exit 1
}

api() {  # METHOD PATH [TOKEN] [BODY]
  curl -sS -f -X "$1" "http://127.0.0.1:$port$2" -H 'Content-Type: application/json' \
    ${3:+-H "Authorization: Bearer $3"} ${4:+--data "$4"}
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

login() {  # USERNAME -> token
  api POST /api/v1/accounts "" "{\"username\":\"$1\",\"password\":\"password-$1\",\"display_name\":\"$1\"}" >/dev/null
  api POST /api/v1/sessions "" "{\"username\":\"$1\",\"password\":\"password-$1\",\"device_name\":\"bench\"}" |
    json "['token']"
}

kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$server_pid/status"; }

echo "== schema, accounts, conversation" >&2
start_server "$out/parleyd-setup.log"
alice=$(login alice)
bob=$(login bob)
invitation=$(api POST /api/v1/contacts/invitations "$alice" '{"username":"bob"}' | json "['invitation']['id']")
api POST "/api/v1/contacts/invitations/$invitation/accept" "$bob" '{}' >/dev/null
conversation=$(api POST /api/v1/conversations/direct "$alice" '{"username":"bob"}' | json "['conversation']['id']")
stop_server

echo "== adding $messages messages by SQL" >&2
time sqlite3 "$data/parley.db" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
CREATE TEMP TABLE base AS SELECT (SELECT last_pos FROM stream_state) AS pos;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $messages)
INSERT INTO messages (conversation_id, seq, pos, sender_id, client_id, body, created_at)
  SELECT c.id, n.i, (SELECT pos FROM base) + n.i, CASE n.i % 2 WHEN 0 THEN 1 ELSE 2 END,
         'fill-' || n.i, lower(hex(randomblob(200))), c.created_at + n.i
  FROM conversations c CROSS JOIN n WHERE c.id = $conversation;
UPDATE conversations SET last_seq = $messages, last_pos = (SELECT MAX(pos) FROM messages) WHERE id = $conversation;
UPDATE stream_state SET last_pos = (SELECT MAX(pos) FROM messages);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
db_mib=$(($(stat -c %s "$data/parley.db") / 1048576))

start_server "$out/parleyd.log"
anon_before=$(kib RssAnon)
file_before=$(kib RssFile)
anon_max=$anon_before
file_max=$file_before
echo "== export" >&2
id=$(api POST /api/v1/me/export "$alice" | json "['id']")
while :; do
  anon=$(kib RssAnon)
  file=$(kib RssFile)
  ((anon > anon_max)) && anon_max=$anon
  ((file > file_max)) && file_max=$file
  view=$(api GET "/api/v1/me/exports/$id" "$alice")
  state=$(json "['state']" <<<"$view")
  [[ $state == ready || $state == failed ]] && break
  sleep 0.2
done
anon_after=$(kib RssAnon)
[[ $state == ready ]] || { echo "export failed: $view" >&2; exit 1; }
curl -sS -f -o "$out/export.zip" -H "Authorization: Bearer $alice" "http://127.0.0.1:$port/api/v1/me/exports/$id/download"
stop_server

python3 - "$view" "$messages" "$db_mib" "$anon_before" "$anon_max" "$anon_after" "$file_before" "$file_max" \
  "$out/export.zip" <<'PY' |
import json, sys, os, zipfile
view = json.loads(sys.argv[1])
messages, db_mib, anon0, anon_max, anon1, file0, file_max = (int(x) for x in sys.argv[2:9])
path = sys.argv[9]
seconds = (view["finished_at"] - view["created_at"]) / 1000
with zipfile.ZipFile(path) as z:
    entries = {i.filename: i.file_size for i in z.infolist()}
    bad = z.testzip()
biggest = max(entries.items(), key=lambda e: e[1])
print(f"messages: {messages}, database: {db_mib} MiB")
print(f"export: {seconds:.2f} s, {messages / seconds:,.0f} messages/s")
print(f"archive: {view['size'] / 1048576:.1f} MiB zip, {sum(entries.values()) / 1048576:.1f} MiB unpacked, "
      f"largest entry {biggest[0]} {biggest[1] / 1048576:.1f} MiB; CRCs {'ok' if bad is None else 'BAD: ' + bad}")
print(f"server anonymous memory: {anon0 / 1024:.1f} MiB before, at most {anon_max / 1024:.1f} MiB during, "
      f"{anon1 / 1024:.1f} MiB after; mapped database pages: {file0 / 1024:.1f} MiB before, "
      f"at most {file_max / 1024:.1f} MiB during")
PY
  tee "$out/report.txt"
echo "reports and logs: $out"
