#!/usr/bin/env bash
# Runs every benchmark built in BUILD_DIR and prints its results. Benchmarks report; they do not
# pass or fail on time, so this exits 0 unless a benchmark could not run at all.
set -uo pipefail
BUILD_DIR=${1:?usage: bench/run-all.sh BUILD_DIR}
shift || true
status=0
for bench in "$BUILD_DIR"/bench/*_bench; do
  [[ -x "$bench" ]] || continue
  printf '\033[1m==> %s\033[0m\n' "$(basename "$bench")"
  if ! "$bench" "$@"; then
    echo "benchmark $(basename "$bench") could not complete" >&2
    status=1
  fi
done
exit $status
