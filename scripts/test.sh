#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the debug preset and runs
# the whole suite (unit, black-box integration, API spec), then the web app's
# type check, unit tests and build, and its end-to-end tests in Chromium
# against the debug parleyd, then builds the asan preset (AddressSanitizer + UndefinedBehaviorSanitizer) and runs the
# C++ suites again under it, and last runs every fuzz target for a bounded
# time (scripts/fuzz.sh; FUZZ_SECONDS per target, 30 by default).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
export CTEST_PARALLEL_LEVEL=$jobs

echo "== debug build"
cmake --preset debug >/dev/null
cmake --build --preset debug
echo "== debug tests"
ctest --preset debug -j "$jobs"

echo "== web app: type check, unit tests, build"
(cd web && npm run --silent check && npm test --silent && npm run --silent build)
echo "== web app: end-to-end tests in Chromium"
(cd web && PARLEYD="$PWD/../build/debug/server/parleyd" npm run --silent e2e)

echo "== asan+ubsan build"
cmake --preset asan >/dev/null
cmake --build --preset asan
echo "== asan+ubsan tests"
ctest --preset asan -j "$jobs" -E '^openapi\.'

echo "== fuzz (libFuzzer, ASan+UBSan)"
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
