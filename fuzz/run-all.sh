#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each: fuzz/run-all.sh BUILD_DIR SECONDS
# Seeds come from fuzz/corpus/<target>/ (read only) and fuzz/crashers/<target>/ (every input that
# ever crashed); new interesting inputs go to BUILD_DIR/fuzz-corpus/<target>/. A crash, leak,
# timeout or broken invariant saves the input to fuzz/crashers/<target>/ (commit it: the Catch2
# test tests/protocol/fuzz_replay_test.cpp replays that folder) and makes this script exit 1.
set -uo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:?usage: fuzz/run-all.sh BUILD_DIR SECONDS}
seconds=${2:?usage: fuzz/run-all.sh BUILD_DIR SECONDS}
targets=(payment_required payment_header settle_response url framing chain_bytes heads)

failed=()
for t in "${targets[@]}"; do
  bin="$build_dir/fuzz/fuzz_$t"
  if [[ ! -x "$bin" ]]; then
    echo "fuzz: $bin is missing (configure with CXX=clang++ -DPURSER_FUZZ=ON)" >&2
    exit 2
  fi
  work="$build_dir/fuzz-corpus/$t"
  crashers="fuzz/crashers/$t"
  mkdir -p "$work" "$crashers"
  echo "==> fuzz $t for ${seconds}s" >&2
  # -max_len covers several-KB headers; -timeout flags inputs that take over 10 s.
  if ! "$bin" "$work" "fuzz/corpus/$t" "$crashers" \
      -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$crashers/" -print_final_stats=1 2> "$build_dir/fuzz-$t.log"; then
    echo "fuzz: $t FAILED; see $build_dir/fuzz-$t.log and $crashers/" >&2
    tail -n 40 "$build_dir/fuzz-$t.log" >&2
    failed+=("$t")
  else
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$build_dir/fuzz-$t.log" >&2 || true
  fi
done

if (( ${#failed[@]} > 0 )); then
  echo "fuzz: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a crash" >&2
