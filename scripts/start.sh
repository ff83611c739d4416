#!/usr/bin/env bash
# Installs what is missing, builds parleyd, the web app and the terminal
# client parley (release; build/release/apps/parley/parley), and runs parleyd
# in the foreground on http://127.0.0.1:8080 with its data in ./data, serving
# the web app at /.
# Extra arguments go to parleyd (e.g. --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target parleyd parley
(cd web && npm run --silent build)
exec build/release/server/parleyd --listen "${PARLEY_LISTEN:-127.0.0.1:8080}" --data-dir "${PARLEY_DATA_DIR:-data}" \
  --web-root web/dist "$@"
