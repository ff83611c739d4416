#!/usr/bin/env bash
# Runs a throwaway redis-server for tests and scripts/cluster.sh: on loopback
# only, on PORT, with its files in DIR (created; its pid in DIR/redis.pid), no
# persistence (Parley keeps nothing in Redis that must survive it), in the
# foreground: the caller owns the process (this script execs redis-server,
# so its pid is Redis's).
#
#   scripts/redis-test-server.sh DIR PORT
set -euo pipefail
if (($# != 2)); then
  echo "usage: $0 DIR PORT" >&2
  exit 2
fi
dir=$1 port=$2
mkdir -p "$dir"
exec redis-server \
  --bind 127.0.0.1 --port "$port" --protected-mode yes \
  --dir "$dir" --save '' --appendonly no \
  --logfile "$dir/redis.log" --daemonize no \
  --databases 1 --maxclients 1000 --pidfile "$dir/redis.pid"
