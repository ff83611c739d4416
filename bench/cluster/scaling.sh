#!/usr/bin/env bash
# Scale-out with capped CPU (docs/benchmarks.md, "Scale-out"): messages/s and
# deliveries/s of 1, 2 and 3 parleyd nodes on one PostgreSQL and one Redis,
# each node held to a fixed share of a core by a cgroup v1 CPU quota, beside
# one node on SQLite under the same quota. On one small machine a cluster
# cannot beat one node that may use every core; with every node capped, the
# ratio N nodes / 1 node shows how the work spreads, as it would over N
# machines.
#
# usage: sudo bench/cluster/scaling.sh [quick|full]
#   quick: 1 round, short windows (~3 min): for tries
#   full:  SCALE_ROUNDS (3) rounds (~15 min: a stopped node drains its backlog)
#
# Method. PostgreSQL (scripts/pg-test-server.sh, then restarted with fsync
# on: acks mean durable commits, as with SQLite's synchronous = "full") and Redis
# (scripts/redis-test-server.sh) run for the whole sitting, uncapped. Every
# run gets a fresh database (from the empty template) or SQLite folder and
# fresh nodes. parley-bench connects to the nodes directly, connection i to
# node i mod N, not through HAProxy: the proxy would be one more uncapped
# process on the same two cores, and its round robin is what the tool does
# anyway. In `pairs` partners are connections 2k and 2k+1, so with 2 or 3
# nodes every delivery crosses nodes over Redis (the harder case).
# The offered rate is an overload (SCALE_RATE, open loop): what the nodes
# acknowledge and deliver inside the window is what they sustain; what is
# still queued at the end is counted as unacked and reported.
#
# Control groups (cgroup v1, under /sys/fs/cgroup/{cpu,cpuacct}/parley-scale-PID):
# nodes/nodeK (cpu.cfs_quota_us = SCALE_QUOTA of cfs_period_us), postgres,
# redis and tool (uncapped, for their CPU time: PostgreSQL's backends come and
# go, cpuacct counts them all). parley-bench reads each group's cpuacct.usage
# at the window's start and end (--cpu-group). The whole tree gets cpu.shares
# SCALE_SHARES (16384 by default, 16 lone processes' worth) so that other work
# on a shared machine (a build at load 8) does not take the cores the capped
# nodes, PostgreSQL and the tool need: what the benchmark can take is bounded
# by the quotas plus PostgreSQL, Redis and the tool (about 1.5 cores at 3
# nodes). The share of periods each node was throttled tells whether the
# quota was the limit; load averages are noted before every run (load.txt).
#
# Rounds go through the configurations in a different order each time
# (sqlite, 1, 2, 3 nodes; then reversed; ...), and the summary gives medians
# per configuration and ratios of medians (summary.md).
#
# Environment:
#   SCALE_QUOTA=0.25        share of one core per node
#   SCALE_NODES="1 2 3"     cluster sizes
#   SCALE_SQLITE=1          also one node on SQLite (0: not)
#   SCALE_ROUNDS=N          rounds (full: 3, quick: 1)
#   SCALE_SCENARIO=pairs    parley-bench scenario (pairs, group10, ...)
#   SCALE_CONNECTIONS=300   WebSocket connections
#   SCALE_RATE=6000         offered messages/s (must overload the largest cluster)
#   SCALE_DURATION, SCALE_WARMUP  seconds measured / before (full: 6 and 2)
#   SCALE_PERIOD_US         the quota's period (default the kernel's, 100000)
#   SCALE_THREADS=1         each node's I/O threads
#   SCALE_SHARES=16384      cpu.shares of the benchmark's groups
#   SCALE_PG_FSYNC=on       PostgreSQL's fsync (off: as the test server starts)
#   BENCH_OUT=DIR           results (default build/bench-results/TIME-scaling-MODE)
#   SCALE_CAP_SETUP=0       hold the nodes to their quota during the tool's
#                           setup too (by default they are capped once the
#                           tool has opened 90% of its connections: setup,
#                           300 accounts' argon2 hashes, is not measured and
#                           took two minutes per run at 10% of a core)
#   SKIP_BUILD=1            use build/release as it is
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-full}
case $mode in
  quick | full) ;;
  *)
    sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
if [[ $(id -u) -ne 0 ]]; then
  echo "scaling.sh: needs root, to make control groups (sudo $0 $mode)" >&2
  exit 1
fi
cpu_root=/sys/fs/cgroup/cpu
acct_root=/sys/fs/cgroup/cpuacct
if [[ ! -f $cpu_root/cpu.cfs_quota_us || ! -f $acct_root/cpuacct.usage ]]; then
  echo "scaling.sh: needs the cgroup v1 cpu and cpuacct controllers at $cpu_root and $acct_root" >&2
  exit 1
fi

quota=${SCALE_QUOTA:-0.25}
nodes_list=${SCALE_NODES:-1 2 3}
with_sqlite=${SCALE_SQLITE:-1}
scenario=${SCALE_SCENARIO:-pairs}
connections=${SCALE_CONNECTIONS:-300}
rate=${SCALE_RATE:-6000}
threads=${SCALE_THREADS:-1}
shares=${SCALE_SHARES:-16384}
pg_fsync=${SCALE_PG_FSYNC:-on}
if [[ $mode == full ]]; then
  rounds=${SCALE_ROUNDS:-3} duration=${SCALE_DURATION:-6} warmup=${SCALE_WARMUP:-2}
else
  rounds=${SCALE_ROUNDS:-1} duration=${SCALE_DURATION:-4} warmup=${SCALE_WARMUP:-2}
fi
out=${BENCH_OUT:-$root/build/bench-results/$(date +%Y%m%d-%H%M%S)-scaling-$mode}
mkdir -p "$out"
out=$(cd "$out" && pwd)

source "$root/bench/lib.sh"
bench_binaries "$root"

# --- control groups ---------------------------------------------------------
group=parley-scale-$$
max_nodes=0
for n in $nodes_list; do ((n > max_nodes)) && max_nodes=$n; done
((max_nodes >= 1)) || max_nodes=1
# The quota's period: within each, a node runs for quota × period and is then
# frozen until the period ends, whatever it holds (the stream lock of the
# PostgreSQL writer included). Shorter periods freeze it for less at a time.
period=${SCALE_PERIOD_US:-$(cat "$cpu_root/cpu.cfs_period_us")}
quota_us=$(python3 -c "import sys; print(max(1000, round(float(sys.argv[1]) * int(sys.argv[2]))))" "$quota" "$period")
mkdir -p "$cpu_root/$group" "$acct_root/$group"
echo "$shares" >"$cpu_root/$group/cpu.shares"
for name in postgres redis tool; do mkdir -p "$cpu_root/$group/$name" "$acct_root/$group/$name"; done
cap_setup=${SCALE_CAP_SETUP:-0}
# cap_nodes QUOTA_US: every node group's quota (-1: none).
cap_nodes() {
  for k in $(seq "$max_nodes"); do echo "$1" >"$cpu_root/$group/nodes/node$k/cpu.cfs_quota_us"; done
}
for k in $(seq "$max_nodes"); do
  mkdir -p "$cpu_root/$group/nodes/node$k" "$acct_root/$group/nodes/node$k"
  echo "$period" >"$cpu_root/$group/nodes/node$k/cpu.cfs_period_us"
done
cap_nodes "$quota_us"

# in_group NAME COMMAND...: runs COMMAND in the cpu and cpuacct groups NAME
# (a path under the benchmark's group). A script, not a function, so that
# `in_group ... &` gives the command's own pid (it execs).
in_group=$out/in-group
cat >"$in_group" <<SH
#!/usr/bin/env bash
echo \$\$ >"$cpu_root/$group/\$1/cgroup.procs"
echo \$\$ >"$acct_root/$group/\$1/cgroup.procs"
shift
exec "\$@"
SH
chmod +x "$in_group"

pg_dir=$out/postgres
redis_pid=
node_pids=()
cleanup() {
  trap - EXIT INT TERM
  # A node still starting (bench_start has its pid, node_pids not yet)
  # is stopped too, or it would outlive the sitting.
  [[ -n ${server_pid:-} ]] && node_pids+=("$server_pid")
  for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${node_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n $redis_pid ]]; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  "$root/scripts/pg-test-server.sh" stop "$pg_dir" >/dev/null 2>&1 || true
  # A group can be removed once empty; its processes have exited above.
  for k in $(seq "$max_nodes"); do rmdir "$cpu_root/$group/nodes/node$k" "$acct_root/$group/nodes/node$k" 2>/dev/null || true; done
  for name in nodes postgres redis tool; do rmdir "$cpu_root/$group/$name" "$acct_root/$group/$name" 2>/dev/null || true; done
  rmdir "$cpu_root/$group" "$acct_root/$group" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

note_load() { echo "$(date -u +%H:%M:%S) $1 $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/load.txt"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

{
  echo "mode=$mode rounds=$rounds scenario=$scenario connections=$connections rate=$rate"
  echo "duration=$duration warmup=$warmup quota=$quota (${quota_us}/${period} us) threads=$threads shares=$shares"
  echo "nodes=\"$nodes_list\" sqlite=$with_sqlite pg_fsync=$pg_fsync parleyd=$parleyd"
  echo "git=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown) cores=$(nproc)"
} | tee "$out/run.txt"

# --- PostgreSQL and Redis, for the whole sitting -----------------------------
note_load start
"$in_group" postgres "$root/scripts/pg-test-server.sh" start "$pg_dir" 0 >/dev/null
conninfo=$(cat "$pg_dir/conninfo")
psql_admin() { psql "$conninfo dbname=postgres" -q -v ON_ERROR_STOP=1 "$@"; }
# The test server starts with fsync off on its command line, which no
# setting can override: restart it with the same options but fsync.
pg_cluster=$(cat "$pg_dir/cluster")
pg_port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$conninfo")
pg_as_owner=()
[[ $(id -u) -eq 0 ]] && pg_as_owner=(runuser -u postgres --)
"$in_group" postgres "${pg_as_owner[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_cluster/data" -w -t 60 \
  -l "$pg_cluster/server.log" restart -m fast \
  -o "-p $pg_port -k $pg_cluster -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=$pg_fsync -c full_page_writes=$pg_fsync" \
  >/dev/null
echo "postgres: $conninfo fsync=$(psql_admin -Atc 'SHOW fsync')" | tee -a "$out/run.txt"

redis_port=$(free_port)
"$in_group" redis "$root/scripts/redis-test-server.sh" "$out/redis" "$redis_port" &
redis_pid=$!
for _ in $(seq 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null

# A node's config: the benchmark settings of bench/parleyd-bench.toml (its
# last table is [storage]: the backend keys are added to it) and [cluster].
node_config() {  # FILE DATABASE NODE_ID
  local file=$1 db=$2 id=$3
  if [[ $(grep '^\[' "$root/bench/parleyd-bench.toml" | tail -n1) != "[storage]" ]]; then
    echo "scaling.sh: bench/parleyd-bench.toml no longer ends with [storage]; adapt node_config" >&2
    exit 1
  fi
  {
    cat "$root/bench/parleyd-bench.toml"
    if [[ -n $db ]]; then
      echo 'backend = "postgres"'
      echo "postgres_url = \"$conninfo dbname=$db\""
      echo
      echo '[cluster]'
      echo "redis_url = \"redis://127.0.0.1:$redis_port\""
      echo "node_id = \"$id\""
    fi
  } >"$file"
}

# run_config NAME NODES BACKEND ROUND: fresh storage, NODES capped nodes, one
# parley-bench run, every node stopped.
run_config() {
  local name=$1 n=$2 backend=$3 r=$4
  local dir=$out/runs/$name-$r db=
  mkdir -p "$dir"
  if [[ $backend == postgres ]]; then
    db=scale_${name//-/_}_$r
    psql_admin -c "CREATE DATABASE $db TEMPLATE parley_template" >/dev/null
  fi
  local servers=() groups=()
  node_pids=()
  for k in $(seq "$n"); do
    node_config "$dir/node$k.toml" "$db" "node-$k"
    # Nodes start one after another: the first creates the schema.
    bench_start "$dir/node$k.log" "$in_group" "nodes/node$k" "$parleyd" --config "$dir/node$k.toml" \
      --listen 127.0.0.1:0 --data-dir "$dir/data$k" --threads "$threads"
    node_pids+=("$server_pid")
    server_pid=
    servers+=("http://127.0.0.1:$port")
    groups+=(--cpu-group "node$k=$acct_root/$group/nodes/node$k")
  done
  groups+=(--cpu-group "nodes=$acct_root/$group/nodes" --cpu-group "tool=$acct_root/$group/tool")
  if [[ $backend == postgres ]]; then
    groups+=(--cpu-group "postgres=$acct_root/$group/postgres" --cpu-group "redis=$acct_root/$group/redis")
  fi
  note_load "$name-$r"
  # cpu.stat before and after: the share of scheduling periods in which a
  # node used up its quota (throttled). Near 1: the quota was the limit;
  # well below: the node waited for something else (or for a core).
  # "Before" is taken when the quota is set.
  local list capper=
  list=$(
    IFS=,
    echo "${servers[*]}"
  )
  if ((cap_setup)); then
    for k in $(seq "$n"); do cp "$cpu_root/$group/nodes/node$k/cpu.stat" "$dir/node$k.cpu-stat-before"; done
  else
    # Uncapped through the tool's setup, capped once its connections are
    # (mostly) open: well before the warm-up, let alone the window.
    cap_nodes -1
    local ports=() p
    for p in "${servers[@]}"; do ports+=("sport = :${p##*:}"); done
    local filter
    printf -v filter ' or %s' "${ports[@]}"
    filter="( ${filter# or } )"
    (
      while (($(ss -Htn state established "$filter" | wc -l) < connections * 9 / 10)); do sleep 0.05; done
      cap_nodes "$quota_us"
      for k in $(seq "$n"); do cp "$cpu_root/$group/nodes/node$k/cpu.stat" "$dir/node$k.cpu-stat-before"; done
      echo "$(date -u +%H:%M:%S) $name-$r capped" >>"$out/load.txt"
    ) &
    capper=$!
  fi
  "$in_group" tool "$bench" --server "$list" --server-pid "${node_pids[0]}" --label "$name" \
    --scenario "$scenario" --connections "$connections" --rate "$rate" --duration "$duration" \
    --warmup "$warmup" --drain-timeout 3 --quiet "${groups[@]}" --json "$dir/report.json" \
    >"$dir/summary.txt" 2>"$dir/bench.err" || echo "$name round $r: parley-bench failed (see $dir)" | tee -a "$out/problems.txt"
  if [[ -n $capper ]] && kill -0 "$capper" 2>/dev/null; then
    # The tool ended before its connections were open (it failed): the
    # run's figures are not at the quota.
    kill "$capper" 2>/dev/null || true
    echo "$name round $r: the nodes were never capped" | tee -a "$out/problems.txt"
    cap_nodes "$quota_us"
  fi
  if [[ -n $capper ]]; then wait "$capper" 2>/dev/null || true; fi
  for k in $(seq "$n"); do cp "$cpu_root/$group/nodes/node$k/cpu.stat" "$dir/node$k.cpu-stat-after"; done
  for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${node_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  node_pids=()
  if [[ -f $dir/report.json ]]; then
    python3 - "$dir/report.json" "$name" "$r" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t, g = r["throughput"], r.get("cpu_groups", {})
print(f"{sys.argv[2]} round {sys.argv[3]}: acked {t['acked_per_s']:.0f}/s delivered {t['delivered_per_s']:.0f}/s"
      f" nodes {g.get('nodes', {}).get('cpu_cores', 0):.2f} cores"
      + (f" postgres {g['postgres']['cpu_cores']:.2f} redis {g['redis']['cpu_cores']:.2f}" if "postgres" in g else "")
      + f" tool {g.get('tool', {}).get('cpu_cores', 0):.2f}")
PY
  fi
  [[ -z $db ]] || psql_admin -c "DROP DATABASE $db" >/dev/null || true
}

configs=()
((with_sqlite)) && configs+=("sqlite-1:1:sqlite")
for n in $nodes_list; do configs+=("cluster-$n:$n:postgres"); done
for r in $(seq "$rounds"); do
  order=("${configs[@]}")
  if ((r % 2 == 0)); then
    order=()
    for ((i = ${#configs[@]} - 1; i >= 0; i--)); do order+=("${configs[i]}"); done
  fi
  for c in "${order[@]}"; do
    IFS=: read -r name n backend <<<"$c"
    run_config "$name" "$n" "$backend" "$r"
  done
done
note_load end

python3 "$root/bench/cluster/scaling_summary.py" "$out" | tee "$out/summary.md"
echo "reports and logs: $out"
