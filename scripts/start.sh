#!/usr/bin/env bash
# Installs what is missing, builds parleyd and the terminal client parley
# (release; build/release/apps/parley/parley) and runs parleyd in the
# foreground on http://127.0.0.1:8080 with its data in ./data.
# Extra arguments go to parleyd (e.g. --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target parleyd parley
exec build/release/server/parleyd --listen "${PARLEY_LISTEN:-127.0.0.1:8080}" --data-dir "${PARLEY_DATA_DIR:-data}" "$@"
