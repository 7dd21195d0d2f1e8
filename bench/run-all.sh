#!/usr/bin/env bash
# Runs every benchmark built in BUILD_DIR and prints its results. Benchmarks report; they do not
# pass or fail on time, so this exits 0 unless a benchmark could not run at all.
# --quick (from `./run bench --quick`) leaves out ledger_query_bench, whose 100,000 durable
# inserts alone can take minutes on a busy disk; the others run as always (they take no flag).
# paid_path_bench, given no scenario, runs all of them: commits, rate, iou, fleet (which
# starts its own PostgreSQL from postgresql-15, which scripts/install-deps.sh installs) and floor.
set -uo pipefail
BUILD_DIR=${1:?usage: bench/run-all.sh BUILD_DIR [--quick | ARGS...]}
shift || true
quick=0
if [[ "${1:-}" == --quick ]]; then
  quick=1
  shift
fi
status=0
for bench in "$BUILD_DIR"/bench/*_bench; do
  [[ -x "$bench" ]] || continue
  name=$(basename "$bench")
  if ((quick)) && [[ "$name" == ledger_query_bench ]]; then
    printf '\033[1m==> %s: left out by --quick\033[0m\n' "$name"
    continue
  fi
  printf '\033[1m==> %s\033[0m\n' "$name"
  if ! "$bench" "$@"; then
    echo "benchmark $name could not complete" >&2
    status=1
  fi
done
exit $status
