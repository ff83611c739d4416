#!/usr/bin/env bash
# Tries a Parley cluster on this machine, as docs/deploy.md describes it:
# PostgreSQL, Redis, three parleyd nodes and HAProxy, all on loopback, in a
# temporary folder. HAProxy listens on 127.0.0.1:${PARLEY_CLUSTER_PORT:-8080}
# (0: a free port). Ctrl-C (or SIGTERM) stops everything and removes the
# folder (kept with --keep).
#
#   scripts/cluster.sh [--keep] [--no-build] [--dir DIR]
#
# --dir DIR      run in DIR (created; must be empty) instead of a new folder
# PARLEYD_BIN    the parleyd binary to run (no build then); default: build
#                the release preset and run build/release/server/parleyd
# PARLEY_NODE_CONFIG  a TOML file appended to every node's config, right
#                after its [cluster] table: keys before the file's first
#                table header set cluster options (node_timeout_ms = 2000,
#                say); then sections other than [http], [storage] and
#                [cluster], which this script writes, e.g. [auth] costs for
#                tests
#
# Prints each process's pid so that failures can be tried by hand:
# kill -9 a node (its devices resume on the others), kill Redis (delivery
# goes on from the database) and start it again with the printed command.
# When everything is up it writes DIR/cluster.env (KEY=VALUE lines: ports,
# pids, folders), which tests/support/cluster_process reads.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

keep=0 build=1 dir=
while (($#)); do
  case $1 in
    --keep) keep=1 ;;
    --no-build) build=0 ;;
    --dir) dir=${2:?--dir needs a folder}; shift ;;
    *) echo "usage: $0 [--keep] [--no-build] [--dir DIR]" >&2; exit 2 ;;
  esac
  shift
done

# Cluster mode runs on the PostgreSQL storage backend only (parleyd refuses
# [cluster] on SQLite).
if [[ ! -d server/src/storage/postgres ]]; then
  echo "cluster.sh: this parleyd has no PostgreSQL storage backend yet; cluster mode needs it" >&2
  exit 1
fi

if [[ -n ${PARLEYD_BIN:-} ]]; then
  parleyd=$PARLEYD_BIN
else
  if ((build)); then
    scripts/install-deps.sh
    cmake --preset release >/dev/null
    cmake --build --preset release --target parleyd
  fi
  parleyd=$root/build/release/server/parleyd
fi
[[ -x $parleyd ]] || { echo "cluster.sh: no parleyd at $parleyd (build it, or set PARLEYD_BIN)" >&2; exit 1; }
for tool in haproxy redis-server; do
  command -v "$tool" >/dev/null || { echo "cluster.sh: $tool is not installed (scripts/install-deps.sh)" >&2; exit 1; }
done

if [[ -n $dir ]]; then
  mkdir -p "$dir"
  [[ -z $(ls -A "$dir") ]] || { echo "cluster.sh: $dir is not empty" >&2; exit 1; }
  dir=$(cd "$dir" && pwd)
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-cluster-XXXXXX")
fi
pids=()
pg_started=0
cleanup() {
  trap - EXIT INT TERM
  echo "cluster.sh: stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # Redis may have been started again by hand (or by a test): its pid file.
  if [[ -f $dir/redis/redis.pid ]]; then kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true; fi
  if ((pg_started)); then scripts/pg-test-server.sh stop "$dir/postgres" || true; fi
  if ((keep)); then echo "cluster.sh: kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # URL or host:port, what, pid
  local target=$1 what=$2 pid=$3
  for _ in $(seq 1 300); do
    if [[ $target == http* ]]; then curl -fsS "$target" >/dev/null 2>&1 && return 0
    else (exec 3<>"/dev/tcp/${target%:*}/${target#*:}") 2>/dev/null && return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "cluster.sh: $what exited; see $dir" >&2; exit 1; }
    sleep 0.1
  done
  echo "cluster.sh: $what did not come up; see $dir" >&2
  exit 1
}

# PostgreSQL: the tests' throwaway server (initdb in a folder of its own,
# loopback and a Unix socket, trust authentication), with a database
# `parley` made from its empty template.
pg_started=1
scripts/pg-test-server.sh start "$dir/postgres" 0 >"$dir/postgres.out" 2>&1 || {
  cat "$dir/postgres.out" >&2
  exit 1
}
pg_conninfo=$(cat "$dir/postgres/conninfo")
pg_cluster=$(cat "$dir/postgres/cluster")
psql "$pg_conninfo dbname=postgres" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE parley TEMPLATE parley_template" >/dev/null
pg_url="$pg_conninfo dbname=parley"
echo "cluster.sh: PostgreSQL in $pg_cluster/data: $pg_url"
echo "cluster.sh:   restart it: $( (($(id -u) == 0)) && echo 'runuser -u postgres -- ')pg_ctl -D $pg_cluster/data restart -m fast"

redis_port=$(free_port)
start_redis="scripts/redis-test-server.sh $dir/redis $redis_port"
$start_redis &
pids+=($!)
wait_for "127.0.0.1:$redis_port" Redis "${pids[-1]}"
echo "cluster.sh: Redis pid ${pids[-1]} on 127.0.0.1:$redis_port (again: $start_redis)"

node_ports=() node_pids=()
mkdir -p "$dir/media"
# One device token key for all nodes (docs/deploy.md): a device token issued
# by one node must be recognised by the others.
(umask 077 && head -c 32 /dev/urandom >"$dir/device-token.key")
for n in 1 2 3; do
  port=$(free_port)
  node_ports+=("$port")
  mkdir -p "$dir/node$n"
  cat >"$dir/node$n/parleyd.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$dir/node$n"

[http]
trusted_proxies = ["127.0.0.1"]

[storage]
backend = "postgres"
postgres_url = "$pg_url"

[cluster]
redis_url = "redis://127.0.0.1:$redis_port"
node_id = "node-$n"
TOML
  if [[ -n ${PARLEY_NODE_CONFIG:-} ]]; then cat "$PARLEY_NODE_CONFIG" >>"$dir/node$n/parleyd.toml"; fi
  # The nodes share the media folder, as they would share a mount.
  ln -s "$dir/media" "$dir/node$n/media"
  cp -p "$dir/device-token.key" "$dir/node$n/device-token.key"
  "$parleyd" --config "$dir/node$n/parleyd.toml" 2>"$dir/node$n/parleyd.log" &
  pids+=($!)
  node_pids+=($!)
  wait_for "http://127.0.0.1:$port/readyz" "node-$n" "${pids[-1]}"
  echo "cluster.sh: node-$n pid ${pids[-1]} on 127.0.0.1:$port (log $dir/node$n/parleyd.log)"
done

lb_port=${PARLEY_CLUSTER_PORT:-8080}
if [[ $lb_port == 0 ]]; then lb_port=$(free_port); fi
# haproxy.cfg's maxconn (100000) needs twice as many file descriptors;
# HAProxy started as root raises its limit that far when the hard limit
# allows, and refuses to start otherwise (as in containers with a hard limit
# of 20000). Here maxconn is fitted to this shell's limit instead (-n).
haproxy_maxconn=$(( $(ulimit -n) / 2 - 100 ))
PARLEY_HAPROXY_BIND=127.0.0.1:$lb_port \
PARLEY_NODE1=127.0.0.1:${node_ports[0]} PARLEY_NODE2=127.0.0.1:${node_ports[1]} PARLEY_NODE3=127.0.0.1:${node_ports[2]} \
  haproxy -db -n "$haproxy_maxconn" -f deploy/haproxy.cfg >"$dir/haproxy.log" 2>&1 &
pids+=($!)
haproxy_pid=$!
wait_for "http://127.0.0.1:$lb_port/readyz" HAProxy "$haproxy_pid"

cat >"$dir/cluster.env.tmp" <<ENV
DIR=$dir
PG_CLUSTER=$pg_cluster
PG_CONNINFO=$pg_url
REDIS_PORT=$redis_port
REDIS_DIR=$dir/redis
NODE1_PORT=${node_ports[0]}
NODE2_PORT=${node_ports[1]}
NODE3_PORT=${node_ports[2]}
NODE1_PID=${node_pids[0]}
NODE2_PID=${node_pids[1]}
NODE3_PID=${node_pids[2]}
HAPROXY_PORT=$lb_port
HAPROXY_PID=$haproxy_pid
ENV
mv "$dir/cluster.env.tmp" "$dir/cluster.env"
echo "cluster.sh: HAProxy pid $haproxy_pid: the cluster is at http://127.0.0.1:$lb_port (Ctrl-C stops it)"
# Nodes and Redis may be killed and restarted meanwhile; the cluster runs
# until HAProxy stops or Ctrl-C.
wait "$haproxy_pid" || true
