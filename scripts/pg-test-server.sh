#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests. `start DIR PORT` creates
# one (initdb) listening on 127.0.0.1:PORT (PORT 0: a free one) and on a
# Unix socket, with a superuser `parley` (trust authentication: loopback and
# a private socket only) and an empty database `parley_template` that each
# test's parleyd copies (CREATE DATABASE ... TEMPLATE, fast). It writes the
# connection string to DIR/conninfo (tests/support/pg_database.hpp) and
# prints it. `stop DIR` stops the cluster and deletes it and DIR. It never
# uses a cluster the Debian package may run on 5432.
#
# The cluster itself lives in a new folder under /tmp: the server runs as the
# `postgres` user when this runs as root (initdb refuses root), and that
# user must reach its files and socket whatever the permissions of the
# folders above DIR (a checkout under /root); socket paths are also limited
# to about 100 bytes.
#
# fsync is off: the cluster holds only test data and is deleted afterwards.
set -euo pipefail

bin=/usr/lib/postgresql/15/bin
command=${1:-}
dir=${2:-}
port=${3:-}
usage() {
  echo "usage: $0 start DIR PORT | stop DIR" >&2
  exit 2
}
[[ -n $command && -n $dir ]] || usage

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop_cluster() {
  local cluster
  cluster=$(cat "$dir/cluster" 2>/dev/null || true)
  if [[ -n $cluster && -d $cluster ]]; then
    if [[ -f $cluster/data/postmaster.pid ]]; then
      as_owner "$bin/pg_ctl" -D "$cluster/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        as_owner "$bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$cluster"
  fi
  rm -rf "$dir"
}

case $command in
  start)
    [[ -n $port ]] || usage
    [[ -x $bin/initdb ]] || { echo "$0: PostgreSQL 15 is not installed (scripts/install-deps.sh)" >&2; exit 1; }
    stop_cluster  # a left-over of an interrupted run
    mkdir -p "$dir"
    cluster=$(mktemp -d /tmp/parley-pg.XXXXXX)
    echo "$cluster" >"$dir/cluster"
    chmod 755 "$cluster"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$cluster"
    if [[ $port == 0 ]]; then
      port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    fi
    as_owner "$bin/initdb" -D "$cluster/data" -U parley --auth=trust --locale=C.UTF-8 -E UTF8 \
      >"$cluster/initdb.log" 2>&1 || {
      cat "$cluster/initdb.log" >&2
      exit 1
    }
    as_owner "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
      -o "-p $port -k $cluster -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null || {
      cat "$cluster/server.log" >&2
      exit 1
    }
    "$bin/psql" -h "$cluster" -p "$port" -U parley -d postgres -q -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE parley_template" >/dev/null
    echo "host=$cluster port=$port user=parley" | tee "$dir/conninfo.tmp"
    mv "$dir/conninfo.tmp" "$dir/conninfo"
    ;;
  stop)
    stop_cluster
    ;;
  *)
    usage
    ;;
esac
