#!/usr/bin/env bash
# Measures the web app's budgets (docs/benchmarks.md, "Web app budgets"):
# builds parleyd (debug, or PARLEYD) and the web app when missing, installs
# this folder's tools (Lighthouse, playwright-core) from its lock, then runs
# budgets.mjs, which starts parleyd, seeds data and measures in Debian's
# Chromium. Results: build/web-budgets/results.json (BENCH_OUT) and stdout.
#
#   bench/web/run.sh                      # everything, 50,000 messages
#   BENCH_BIG_MESSAGES=5000 bench/web/run.sh   # a quicker try
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

scripts/install-deps.sh

if [[ -z ${PARLEYD:-} ]]; then
  cmake --preset debug >/dev/null
  cmake --build --preset debug -j2 --target parleyd
  export PARLEYD=$root/build/debug/server/parleyd
fi

# npm ci again only when a lock changed since the last install.
install() {
  local dir=$1 stamp=$1/node_modules/.parley-lock
  if [[ ! -f $stamp ]] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
}
install web
install bench/web

if [[ ! -f web/dist/index.html ]] || [[ -n $(find web/src web/index.html web/package-lock.json -newer web/dist/index.html -print -quit 2>/dev/null) ]]; then
  (cd web && npm run build)
fi

cd bench/web
exec node budgets.mjs
