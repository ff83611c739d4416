#!/usr/bin/env bash
# Builds the fuzz preset (clang, libFuzzer, ASan+UBSan) and runs every fuzz
# target it finds (executables named fuzz_* in build/fuzz/tests/fuzz) for a
# bounded time each. Fails on the first target that crashes, leaks, hits
# undefined behaviour or times out on an input.
#
#   scripts/fuzz.sh [SECONDS [LIBFUZZER_FLAG...]]
#
# SECONDS per target defaults to 30. Further arguments go to every target,
# e.g. `scripts/fuzz.sh 3600 -jobs=4 -workers=2`. FUZZ_TARGETS="fuzz_a fuzz_b"
# runs only those. Each target starts from its seed corpus in the repository
# (tests/fuzz/corpus/<target>/, read only) and from what earlier runs found
# (build/fuzz/corpus/<target>/, where new inputs are written). A failing input
# is written to build/fuzz/artifacts/<target>/ (crash-*, leak-*, timeout-*,
# oom-*); replay it with build/fuzz/tests/fuzz/<target> <file>. See
# tests/fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "fuzz: SECONDS must be a positive integer, not '$seconds'" >&2
  exit 2
fi

echo "== fuzz build"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

build=build/fuzz
mapfile -t targets < <(find "$build/tests/fuzz" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x -printf '%f\n' | sort)
if [[ -n ${FUZZ_TARGETS:-} ]]; then read -r -a targets <<<"$FUZZ_TARGETS"; fi
if ((${#targets[@]} == 0)); then
  echo "fuzz: no fuzz_* targets in $build/tests/fuzz" >&2
  exit 1
fi

# Stop at the first error of either sanitizer; report leaks; symbolize.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=()
for target in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/$target
  found=$build/corpus/$target
  artifacts=$build/artifacts/$target
  mkdir -p "$found" "$artifacts"
  flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
         -artifact_prefix="$artifacts/")
  [[ -f tests/fuzz/$target.dict ]] && flags+=(-dict="tests/fuzz/$target.dict")
  corpora=("$found")
  [[ -d $seeds ]] && corpora+=("$seeds")
  echo "== fuzz $target for ${seconds}s"
  log=$build/$target.log
  if "$build/tests/fuzz/$target" "${flags[@]}" "$@" "${corpora[@]}" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done ' "$log" || true
  else
    echo "fuzz: $target FAILED; its output is in $log, the input in $artifacts/" >&2
    grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" >&2 || tail -20 "$log" >&2
    failed+=("$target")
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a finding"
