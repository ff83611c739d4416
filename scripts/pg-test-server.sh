#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: `start DIR PORT` creates
# one in DIR (initdb) listening on 127.0.0.1:PORT (PORT 0: a free one) and on
# a socket in DIR,
# with a superuser `parley` (trust authentication: loopback and a private
# socket only) and an empty database `parley_template` that each test's
# parleyd copies (CREATE DATABASE ... TEMPLATE, fast). The connection string
# is printed and written to DIR/conninfo (tests/support/pg_database.hpp). `stop DIR` stops it
# and deletes DIR. It never touches a cluster the Debian package may run on
# 5432.
#
# fsync is off: the cluster holds only test data and is deleted afterwards;
# a crash of the machine loses nothing anyone needs.
set -euo pipefail

bin=/usr/lib/postgresql/15/bin
command=${1:-}
dir=${2:-}
port=${3:-}
if [[ -z $command || -z $dir ]]; then
  echo "usage: $0 start DIR PORT | stop DIR" >&2
  exit 2
fi

# initdb and the server refuse to run as root: as root, run them as the
# `postgres` user (the Debian package creates it).
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case $command in
  start)
    [[ -n $port ]] || { echo "$0: start needs a PORT" >&2; exit 2; }
    if [[ $port == 0 ]]; then
      port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    fi
    [[ -x $bin/initdb ]] || { echo "$0: PostgreSQL 15 is not installed (scripts/install-deps.sh)" >&2; exit 1; }
    if [[ -f $dir/data/postmaster.pid ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U parley --auth=trust --locale=C.UTF-8 -E UTF8 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null || {
      cat "$dir/server.log" >&2
      exit 1
    }
    "$bin/psql" -h "$dir" -p "$port" -U parley -d postgres -q -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE parley_template" >/dev/null
    echo "host=$dir port=$port user=parley" | tee "$dir/conninfo.tmp"
    mv "$dir/conninfo.tmp" "$dir/conninfo"
    ;;
  stop)
    if [[ -f $dir/data/postmaster.pid ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
