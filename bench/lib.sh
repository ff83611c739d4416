# Shared by the bench scripts (sourced, not run): start a server on a free
# port and wait until it says where it listens, stop it again. parleyd and
# the Node baseline both log "listening address=127.0.0.1:PORT" once they
# accept connections; port 0 lets several servers run side by side.
#
#   source "$(dirname "$0")/lib.sh"
#   bench_start "$out/parleyd.log" "$parleyd" --config "$config" --listen 127.0.0.1:0 --data-dir "$data"
#   echo "pid $server_pid, port $port"
#   bench_stop
#
# A script that starts one server at a time can `trap bench_stop EXIT`.

server_pid=
port=

# bench_binaries ROOT: builds parleyd and parley-bench with the release
# preset (unless SKIP_BUILD=1) and sets parleyd and bench to the binaries
# of build/$BENCH_BUILD (default release); PARLEYD_BIN=FILE measures another
# parleyd binary (an earlier build kept aside, for before/after runs). Raises the open-file limit to the
# hard one: the tool and the server need a descriptor per connection.
bench_binaries() {
  local root=$1
  if [[ -z ${SKIP_BUILD:-} ]]; then
    cmake --preset release >/dev/null
    cmake --build --preset release --target parleyd parley-bench parley-fsync-rate -j2
  fi
  local build=${BENCH_BUILD:-release}
  parleyd=${PARLEYD_BIN:-$root/build/$build/server/parleyd}
  bench=$root/build/$build/bench/parley-bench
  ulimit -n "$(ulimit -Hn)"
}

# bench_start LOG COMMAND [ARGS...]: runs COMMAND in the background with its
# stderr in LOG, sets server_pid and port. If the server exits or has not
# said where it listens within 20 s, prints its log and exits the script.
bench_start() {
  local log=$1
  shift
  # Created here, not by the child's redirection: the loop below may read it
  # before the child has opened it, and a failed sed ends the script (set -e,
  # pipefail).
  : >"$log"
  "$@" 2>"$log" &
  server_pid=$!
  port=
  for _ in $(seq 400); do
    port=$(sed -n 's/.*listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n1)
    [[ -n $port ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "the server did not start ($*); its log:" >&2
  cat "$log" >&2
  exit 1
}

# bench_stop: SIGTERM to the server bench_start started, and wait for it to
# finish (a graceful stop: parleyd checkpoints its database). Idempotent.
bench_stop() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
