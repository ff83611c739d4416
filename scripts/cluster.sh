#!/usr/bin/env bash
# Tries a Parley cluster on this machine, as docs/deploy.md describes it:
# PostgreSQL, Redis, three parleyd nodes and HAProxy, all on loopback, in a
# temporary folder. HAProxy listens on 127.0.0.1:${PARLEY_CLUSTER_PORT:-8080}.
# Ctrl-C (or SIGTERM) stops everything and removes the folder (kept with
# --keep).
#
#   scripts/cluster.sh [--keep] [--no-build]
#
# Prints each process's pid so that failures can be tried by hand:
# kill -9 a node (its devices resume on the others), kill Redis (delivery
# goes on from the database) and start it again with the printed command.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

keep=0 build=1
for arg in "$@"; do
  case $arg in
    --keep) keep=1 ;;
    --no-build) build=0 ;;
    *) echo "usage: $0 [--keep] [--no-build]" >&2; exit 2 ;;
  esac
done

# Cluster mode runs on the PostgreSQL storage backend only (parleyd refuses
# [cluster] on SQLite).
if [[ ! -d server/src/storage/postgres ]]; then
  echo "cluster.sh: this parleyd has no PostgreSQL storage backend yet; cluster mode needs it" >&2
  exit 1
fi

if ((build)); then
  scripts/install-deps.sh
  cmake --preset release >/dev/null
  cmake --build --preset release --target parleyd
fi
parleyd=$root/build/release/server/parleyd

dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-cluster-XXXXXX")
pids=()
cleanup() {
  trap - EXIT INT TERM
  echo "cluster.sh: stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if ((keep)); then echo "cluster.sh: kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # URL or host:port, what, pid
  local target=$1 what=$2 pid=$3
  for _ in $(seq 1 200); do
    if [[ $target == http* ]]; then curl -fsS "$target" >/dev/null 2>&1 && return 0
    else (exec 3<>"/dev/tcp/${target%:*}/${target#*:}") 2>/dev/null && return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "cluster.sh: $what exited; see $dir" >&2; exit 1; }
    sleep 0.1
  done
  echo "cluster.sh: $what did not come up; see $dir" >&2
  exit 1
}

# PostgreSQL: the backend's own test server script.
pg_port=$(free_port)
scripts/pg-test-server.sh "$dir/postgres" "$pg_port" >"$dir/postgres.out" 2>&1 &
pids+=($!)
wait_for "127.0.0.1:$pg_port" PostgreSQL "${pids[-1]}"
pg_url="postgresql://parley@127.0.0.1:$pg_port/parley"
echo "cluster.sh: PostgreSQL pid ${pids[-1]} on $pg_url"

redis_port=$(free_port)
scripts/redis-test-server.sh "$dir/redis" "$redis_port" &
pids+=($!)
wait_for "127.0.0.1:$redis_port" Redis "${pids[-1]}"
echo "cluster.sh: Redis pid ${pids[-1]} on 127.0.0.1:$redis_port (again: scripts/redis-test-server.sh $dir/redis $redis_port)"

node_ports=()
for n in 1 2 3; do
  port=$(free_port)
  node_ports+=("$port")
  mkdir -p "$dir/node$n"
  cat >"$dir/node$n/parleyd.toml" <<TOML
listen_host = "127.0.0.1"
listen_port = $port
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
  # The nodes share the media folder, as they would share a mount.
  mkdir -p "$dir/media"
  ln -s "$dir/media" "$dir/node$n/media"
  "$parleyd" --config "$dir/node$n/parleyd.toml" 2>"$dir/node$n/parleyd.log" &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/readyz" "node-$n" "${pids[-1]}"
  echo "cluster.sh: node-$n pid ${pids[-1]} on 127.0.0.1:$port (log $dir/node$n/parleyd.log)"
done

lb_port=${PARLEY_CLUSTER_PORT:-8080}
PARLEY_HAPROXY_BIND=127.0.0.1:$lb_port \
PARLEY_NODE1=127.0.0.1:${node_ports[0]} PARLEY_NODE2=127.0.0.1:${node_ports[1]} PARLEY_NODE3=127.0.0.1:${node_ports[2]} \
  haproxy -db -f deploy/haproxy.cfg >"$dir/haproxy.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$lb_port/readyz" HAProxy "${pids[-1]}"
echo "cluster.sh: HAProxy pid ${pids[-1]}: the cluster is at http://127.0.0.1:$lb_port (Ctrl-C stops it)"
# Nodes and Redis may be killed and restarted meanwhile; the cluster runs
# until HAProxy stops or Ctrl-C.
wait "${pids[-1]}" || true
