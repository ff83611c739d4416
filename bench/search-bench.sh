#!/usr/bin/env bash
# Search latency over a large history, the cost of the purge, and the index's
# share of the database (docs/benchmarks.md, "Search").
#
# 1. parleyd creates the schema and parley-bench one group of 100 accounts
#    (group100); with the server stopped, search_bench.py adds
#    SEARCH_BENCH_MESSAGES chat-like messages to it through SQLite, every
#    message indexed by migration 0008's triggers as a send would be, and
#    times the purge's FTS5 'optimize' at 100,000 messages and at the end.
# 2. The index's size and the database's, from SQLite's dbstat.
# 3. parleyd restarted on it; search_bench.py logs in as a member (who may
#    read every message: the most a search has to rank) and runs each query
#    SEARCH_BENCH_ROUNDS times over the real HTTP API, one at a time.
#
# usage: bench/search-bench.sh
# Environment:
#   SEARCH_BENCH_MESSAGES=N  messages (default 1000000)
#   SEARCH_BENCH_ROUNDS=R    times each query runs (default 30)
#   BENCH_OUT=DIR            reports and logs (default build/bench-results/TIME-search)
#   SKIP_BUILD=1             use the binaries in build/$BENCH_BUILD as they are
#   BENCH_BUILD=PRESET       which build's binaries (default release)
# Needs: python3, sqlite3 (the shell, for dbstat).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
messages=${SEARCH_BENCH_MESSAGES:-1000000}
rounds=${SEARCH_BENCH_ROUNDS:-30}
out=${BENCH_OUT:-$root/build/bench-results/$(date +%Y%m%d-%H%M%S)-search}
config=$root/bench/parleyd-bench.toml
mkdir -p "$out"
data=$out/data

bench_binaries "$root"
trap bench_stop EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/load.txt" >&2

echo "== schema and accounts" >&2
bench_start "$out/parleyd-setup.log" "$parleyd" --config "$config" --listen 127.0.0.1:0 --data-dir "$data"
"$bench" --server "http://127.0.0.1:$port" --scenario group100 --connections 100 --rate 10 --duration 1 \
  --warmup 0 --users-prefix sb --quiet >/dev/null
bench_stop

echo "== adding $messages messages" >&2
purge_at=()
((messages > 100000)) && purge_at+=(--purge-at 100000)
python3 "$root/bench/search_bench.py" seed "$data/parley.db" --messages "$messages" "${purge_at[@]}" \
  --purge-at "$messages" >"$out/seed.json"

sqlite3 "$data/parley.db" >"$out/size.txt" <<'SQL'
SELECT 'database_bytes', page_count * page_size FROM pragma_page_count(), pragma_page_size();
SELECT 'index_bytes', SUM(pgsize) FROM dbstat WHERE name LIKE 'message_search%';
SELECT 'messages_bytes', SUM(pgsize) FROM dbstat WHERE name = 'messages';
SELECT 'messages', COUNT(*) FROM messages;
SQL
conversation=$(sqlite3 "$data/parley.db" "SELECT MIN(id) FROM conversations")

echo "== searches" >&2
bench_start "$out/parleyd.log" "$parleyd" --config "$config" --listen 127.0.0.1:0 --data-dir "$data"
python3 "$root/bench/search_bench.py" query --server "http://127.0.0.1:$port" --username sbu1 \
  --password bench-password --conversation "$conversation" --rounds "$rounds" >"$out/query.json"
bench_stop

python3 - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
size = dict(line.split("|") for line in (out / "size.txt").read_text().split())
seed = json.loads((out / "seed.json").read_text())
q = json.loads((out / "query.json").read_text())
db, index, msgs = int(size["database_bytes"]), int(size["index_bytes"]), int(size["messages_bytes"])
print(f"{int(size['messages'])} messages (seeded in {seed['seconds']} s); database {db / 2**20:.0f} MiB, "
      f"search index {index / 2**20:.0f} MiB ({100 * index / db:.0f}% of the database, "
      f"{100 * index / msgs:.0f}% of the messages table)")
for p in seed["purges"]:
    print(f"purge ('optimize') at {p['messages']} messages: {p['seconds']:.2f} s ({p['index_pages']} index pages)")
print(f"| class | p50 ms | p99 ms | samples |\n| --- | ---: | ---: | ---: |")
for name, c in q["classes"].items():
    print(f"| {name} | {c['p50_ms']:.1f} | {c['p99_ms']:.1f} | {c['samples']} |")
print(f"\n| query | p50 ms | p99 ms | statuses | results (first page) |\n| --- | ---: | ---: | --- | ---: |")
for r in q["queries"]:
    statuses = ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())
    print(f"| `{r['q']}` | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {statuses} | {r['results_on_first_page']} |")
PY
echo "reports and logs: $out"
