#!/usr/bin/env bash
# The media server's benchmark: downloads of one 10 MiB file over 50
# keep-alive connections, and uploads of 10 MiB bodies, against parleyd and
# against Debian's nginx serving the same bytes from a file on the same disk,
# in the same run, with the same client (`parley-bench media`). Prints
# medians of the rounds side by side with ratios.
#
# usage: bench/run-media.sh
#
# Environment:
#   BENCH_REPEAT=N      rounds (default 3); each round runs every measurement once
#   BENCH_DURATION=S    measured seconds per measurement (default 10; 2 s warmup before)
#   BENCH_CONNECTIONS=N download connections (default 50)
#   BENCH_UPLOADS=K     upload connections (default 4)
#   BENCH_FILE_MIB=M    size of the file and of each upload (default 10)
#   BENCH_TOOL_THREADS=T  the client's I/O threads (default 1)
#   BENCH_ONLY=parleyd  skip nginx (it is also skipped, with a note, when not installed)
#   BENCH_OUT=DIR       reports and logs (default build/bench-results/TIME-media)
#   SKIP_BUILD=1        use the binaries in build/release as they are
#   PARLEYD_THREADS=N   parleyd's I/O threads (default: one per core); nginx gets as many workers
#
# Needs: curl, sha256sum, python3 (medians); nginx for the comparison
# (`apt-get install nginx`).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
repeat=${BENCH_REPEAT:-3}
duration=${BENCH_DURATION:-10}
connections=${BENCH_CONNECTIONS:-50}
uploaders=${BENCH_UPLOADS:-4}
file_mib=${BENCH_FILE_MIB:-10}
tool_threads=${BENCH_TOOL_THREADS:-1}
out=${BENCH_OUT:-$root/build/bench-results/$(date +%Y%m%d-%H%M%S)-media}
workers=${PARLEYD_THREADS:-$(nproc)}

missing=()
for tool in curl sha256sum python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "run-media.sh: missing ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 2
fi
use_nginx=1
nginx_bin=$(command -v nginx || true)
[[ -z $nginx_bin && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
if [[ ${BENCH_ONLY:-} == parleyd ]]; then
  use_nginx=
elif [[ -z $nginx_bin ]]; then
  echo "run-media.sh: nginx is not installed (apt-get install nginx): measuring parleyd alone" >&2
  use_nginx=
fi

source "$root/bench/lib.sh"
bench_binaries "$root"
mkdir -p "$out"
echo "results in $out"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/load.txt"

nginx_pid=
cleanup() {
  bench_stop
  if [[ -n $nginx_pid ]]; then
    kill -TERM "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  # Uploads are gigabytes; the reports stay.
  rm -rf "$out/parleyd-data" "$out/nginx/www/up" "$out/nginx/tmp"
}
trap cleanup EXIT

# parleyd: the bench configuration, plus no per-user quota (the uploads of
# one run are gigabytes from one account).
config=$out/parleyd.toml
cat "$root/bench/parleyd-bench.toml" >"$config"
cat >>"$config" <<'EOF'

[media]
# One account uploads gigabytes during a run.
quota_bytes = 0
EOF
args=(--config "$config" --listen 127.0.0.1:0 --data-dir "$out/parleyd-data" --threads "$workers")
bench_start "$out/parleyd.log" "$parleyd" "${args[@]}"
parleyd_pid=$server_pid
parleyd_url=http://127.0.0.1:$port

# An account, a session and the file.
user=media$RANDOM$RANDOM
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"username\":\"$user\",\"password\":\"bench-password-1\",\"display_name\":\"Bench\"}" "$parleyd_url/api/v1/accounts"
token=$(curl -fsS -H 'Content-Type: application/json' \
  -d "{\"username\":\"$user\",\"password\":\"bench-password-1\",\"device_name\":\"run-media\"}" \
  "$parleyd_url/api/v1/sessions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
mkdir -p "$out/nginx/www/files" "$out/nginx/www/up" "$out/nginx/tmp"
file=$out/nginx/www/files/bench.bin
head -c "$((file_mib * 1024 * 1024))" /dev/urandom >"$file"
size=$(stat -c %s "$file")
digest=$(sha256sum "$file" | cut -d' ' -f1)
media_id=$(curl -fsS -H "Authorization: Bearer $token" --data-binary "@$file" \
  -H 'Content-Type: application/octet-stream' "$parleyd_url/api/v1/media?name=bench.bin" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["media"]["id"])')
parleyd_target=/api/v1/media/$media_id

# Byte-exactness, once per run: a benchmark of error pages would be fast.
got=$(curl -fsS -H "Authorization: Bearer $token" "$parleyd_url$parleyd_target" | sha256sum | cut -d' ' -f1)
[[ $got == "$digest" ]] || { echo "parleyd served other bytes ($got, not $digest)" >&2; exit 1; }

if [[ -n $use_nginx ]]; then
  # nginx as a static file server is meant to be: sendfile, tcp_nopush (the
  # header and the file's first bytes in full packets), keep-alive without a
  # request limit, no access log (parleyd logs no request either at info),
  # and as many workers as parleyd has I/O threads. /up/ takes uploads with
  # the DAV module's PUT: the body is written to a temporary file and renamed
  # into place, the nearest thing nginx has to parleyd's upload (which in
  # addition hashes the content, fsyncs and records it in SQLite).
  nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$out/nginx/nginx.conf" <<EOF
user root;
worker_processes $workers;
daemon off;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path $out/nginx/tmp/body;
  proxy_temp_path $out/nginx/tmp/proxy;
  fastcgi_temp_path $out/nginx/tmp/fastcgi;
  uwsgi_temp_path $out/nginx/tmp/uwsgi;
  scgi_temp_path $out/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $out/nginx/www;
    location /files/ { }
    location /up/ {
      dav_methods PUT;
      client_max_body_size 200m;
      client_body_buffer_size 1m;
    }
  }
}
EOF
  "$nginx_bin" -p "$out/nginx" -c "$out/nginx/nginx.conf" -e "$out/nginx/error.log" &
  nginx_pid=$!
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port/files/bench.bin" 2>/dev/null && break
    kill -0 "$nginx_pid" 2>/dev/null || { cat "$out/nginx/error.log" >&2; echo "nginx did not start" >&2; exit 1; }
    sleep 0.05
  done
  got=$(curl -fsS "http://127.0.0.1:$nginx_port/files/bench.bin" | sha256sum | cut -d' ' -f1)
  [[ $got == "$digest" ]] || { echo "nginx served other bytes" >&2; exit 1; }
  nginx_pids=("$nginx_pid" $(pgrep -P "$nginx_pid"))
  echo "nginx: master $nginx_pid, workers $(pgrep -P "$nginx_pid" | tr '\n' ' ')"
fi
echo "parleyd: pid $parleyd_pid, $workers I/O threads; file $size bytes, sha256 $digest"

measure() {  # label mode round [parley-bench media options...]
  local label=$1 mode=$2 i=$3
  shift 3
  echo "== round $i: $label $mode"
  "$bench" media --label "$label" --duration "$duration" --warmup 2 --threads "$tool_threads" \
    --json "$out/$label-$mode-$i.json" --check "$@"
}

upload_bytes=$((file_mib * 1024 * 1024))
for i in $(seq "$repeat"); do
  measure parleyd download "$i" --server "$parleyd_url" --server-pid "$parleyd_pid" --target "$parleyd_target" \
    --token "$token" --connections "$connections" --expect-bytes "$size"
  if [[ -n $use_nginx ]]; then
    measure nginx download "$i" --server "http://127.0.0.1:$nginx_port" --server-pid "${nginx_pids[@]}" \
      --target /files/bench.bin --connections "$connections" --expect-bytes "$size"
  fi
  measure parleyd upload "$i" --server "$parleyd_url" --server-pid "$parleyd_pid" --method POST \
    --target "/api/v1/media?name=upload.bin" --token "$token" --connections "$uploaders" --body-bytes "$upload_bytes"
  if [[ -n $use_nginx ]]; then
    measure nginx upload "$i" --server "http://127.0.0.1:$nginx_port" --server-pid "${nginx_pids[@]}" --method PUT \
      --target "/up/c{c}.bin" --connections "$uploaders" --body-bytes "$upload_bytes"
  fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt"

# Medians of the rounds, side by side.
python3 - "$out" <<'EOF' | tee "$out/summary.md"
import json, glob, os, statistics, sys
out = sys.argv[1]
def load(label, mode):
    return [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, f"{label}-{mode}-*.json")))]
def med(reports, *path):
    values = []
    for r in reports:
        v = r
        for p in path:
            v = v[p]
        values.append(v)
    return statistics.median(values) if values else None
rows = [("MiB/s", ("throughput", "mib_per_s"), "{:.0f}"),
        ("requests/s", ("throughput", "requests_per_s"), "{:.1f}"),
        ("latency p50 ms", ("latency_us", "p50"), None),
        ("latency p99 ms", ("latency_us", "p99"), None),
        ("server CPU cores", ("server_process", "cpu_cores"), "{:.2f}"),
        ("server CPU ms/MiB", ("server_process", "cpu_ms_per_mib"), "{:.2f}"),
        ("server RSS max MiB", ("server_process", "rss_max_kib"), None),
        ("client CPU cores", ("tool_process", "cpu_cores"), "{:.2f}"),
        ("client CPU ms/MiB", ("tool_process", "cpu_ms_per_mib"), "{:.2f}"),
        ("errors (all rounds)", ("errors", "total"), None)]
for mode in ("download", "upload"):
    a, b = load("parleyd", mode), load("nginx", mode)
    print(f"\n### {mode}: median of {len(a)} rounds\n")
    print("| | parleyd | nginx | parleyd / nginx |\n| --- | ---: | ---: | ---: |")
    for name, path, fmt in rows:
        def show(reports):
            if not reports:
                return None, "-"
            if name.startswith("errors"):
                v = sum(r["errors"]["total"] for r in reports)
                return v, str(v)
            v = med(reports, *path)
            if name.startswith("latency"):
                v = v / 1000
                return v, f"{v:.1f}"
            if name.startswith("server RSS"):
                v = v / 1024
                return v, f"{v:.1f}"
            return v, fmt.format(v)
        va, sa = show(a)
        vb, sb = show(b)
        ratio = f"{va / vb:.2f}" if va is not None and vb and not name.startswith("errors") else "-"
        print(f"| {name} | {sa} | {sb} | {ratio} |")
EOF
