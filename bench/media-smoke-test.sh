#!/usr/bin/env bash
# bench.media_smoke: `parley-bench media` against a real parleyd for one
# second each way: downloads of a 256 KiB file over 4 connections, uploads of
# 256 KiB bodies over 2. Checks that the tool saw no error and no wrong
# length (--check) and that its report has sane numbers. Needs neither
# nginx nor wrk; when nginx is installed, the same download is also run
# against it (bench/run-media.sh's comparison, in miniature).
#
# usage: media-smoke-test.sh PARLEYD PARLEY_BENCH
set -euo pipefail
parleyd=$1
bench=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-media-smoke-XXXXXX")
nginx_pid=
cleanup() {
  bench_stop
  if [[ -n $nginx_pid ]]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

bench_start "$work/parleyd.log" "$parleyd" --config "$here/parleyd-bench.toml" --listen 127.0.0.1:0 \
  --data-dir "$work/data"
url=http://127.0.0.1:$port

curl -fsS -o /dev/null -H 'Content-Type: application/json' \
  -d '{"username":"smoke","password":"bench-password-1","display_name":"Smoke"}' "$url/api/v1/accounts"
token=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"username":"smoke","password":"bench-password-1","device_name":"smoke"}' "$url/api/v1/sessions" |
  sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[[ -n $token ]] || { echo "no session token"; exit 1; }
mkdir -p "$work/www/files"
head -c 262144 /dev/urandom >"$work/www/files/f.bin"
id=$(curl -fsS -H "Authorization: Bearer $token" --data-binary "@$work/www/files/f.bin" "$url/api/v1/media?name=f.bin" |
  sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[[ -n $id ]] || { echo "no media id"; exit 1; }

"$bench" media --server "$url" --server-pid "$server_pid" --label parleyd --target "/api/v1/media/$id" \
  --token "$token" --connections 4 --duration 1 --warmup 0.3 --expect-bytes 262144 --json "$work/down.json" --check
"$bench" media --server "$url" --server-pid "$server_pid" --label parleyd --method POST \
  --target "/api/v1/media?name=u.bin" --token "$token" --connections 2 --duration 1 --warmup 0.3 \
  --body-bytes 262144 --json "$work/up.json" --check

# The reports say what --check saw, and the numbers are numbers.
for f in down up; do
  grep -q '"tool":"parley-bench"' "$work/$f.json"
  grep -q '"errors":{"total":0' "$work/$f.json"
  grep -Eq '"requests":[1-9]' "$work/$f.json"
  grep -Eq '"mib_per_s":[0-9.]*[1-9]' "$work/$f.json"
  grep -q '"server_process":{"pids":\['"$server_pid"'\],"complete":true' "$work/$f.json"
done
grep -q '"statuses":{"200":' "$work/down.json"
grep -q '"statuses":{"201":' "$work/up.json"
# A wrong token is counted as an error, not as throughput.
if "$bench" media --server "$url" --target "/api/v1/media/$id" --token wrong --connections 1 --duration 0.5 \
  --warmup 0 --json "$work/bad.json" --check >/dev/null 2>&1; then
  echo "401 responses passed --check"; exit 1
fi
grep -q '"statuses":{"401":' "$work/bad.json"
passed=3

nginx=$(command -v nginx || true)
[[ -z $nginx && -x /usr/sbin/nginx ]] && nginx=/usr/sbin/nginx
if [[ -n $nginx ]]; then
  # A port below the ephemeral range (32768 up), where the tool's own
  # connections cannot be holding it; another one if it is taken.
  mkdir -p "$work/tmp"
  up=
  for _ in 1 2 3 4 5; do
    nginx_port=$((20000 + RANDOM % 12000))
    cat >"$work/nginx.conf" <<CONF
user root;  # ignored, with a warning, when not run as root: workers must read $work (mode 700)
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $work/tmp/body;
    proxy_temp_path $work/tmp/proxy;
    fastcgi_temp_path $work/tmp/fastcgi;
    uwsgi_temp_path $work/tmp/uwsgi;
    scgi_temp_path $work/tmp/scgi;
    server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
CONF
    "$nginx" -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" 2>>"$work/nginx-start.log" &
    nginx_pid=$!
    for _ in $(seq 100); do
      curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port/files/f.bin" 2>/dev/null && { up=1; break; }
      kill -0 "$nginx_pid" 2>/dev/null || break
      sleep 0.05
    done
    [[ -n $up ]] && break
    kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=
  done
  [[ -n $up ]] || { cat "$work/nginx-start.log"; echo "nginx did not start"; exit 1; }
  "$bench" media --server "http://127.0.0.1:$nginx_port" --server-pid "$nginx_pid" $(pgrep -P "$nginx_pid") \
    --label nginx --target /files/f.bin --connections 4 --duration 1 --warmup 0.3 --expect-bytes 262144 \
    --json "$work/nginx.json" --check
  grep -Eq '"requests":[1-9]' "$work/nginx.json"
  passed=4
else
  echo "nginx not installed: its half skipped"
fi
echo "bench.media_smoke: $passed passed, 0 failed"
