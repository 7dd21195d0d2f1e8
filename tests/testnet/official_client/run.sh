#!/bin/bash
# Official-client interop test: starts `purser testnet up`, installs the pinned official x402
# packages with npm (cached per package.json under WORK_DIR), and runs SCRIPT (pay_weather.mjs,
# pay_batch.mjs) against it with the testnet.env variables and the payer's published test key.
# The script checks its own results and exits non-zero on the first difference.
# Usage: run.sh PURSER_BIN WORK_DIR SCRIPT
set -euo pipefail
bin="$1"
work="$2"
script="$3"
here="$(cd "$(dirname "$0")" && pwd)"
tn="$(mktemp -d "${TMPDIR:-/tmp}/purser-oc-XXXXXX")"
cleanup() {
  "$bin" testnet down --dir "$tn" >/dev/null 2>&1 || true
  [ -n "${tn_pid:-}" ] && wait "$tn_pid" 2>/dev/null || true
  rm -rf "$tn" "$tn.log"
}
trap cleanup EXIT

"$here/npm_install.sh" "$work"
cp "$here/$script" "$work/$script"

"$bin" testnet up --dir "$tn" --base-port 0 >"$tn.log" 2>&1 &
tn_pid=$!
for _ in $(seq 1 600); do
  grep -q "testnet.env" "$tn.log" 2>/dev/null && break
  kill -0 "$tn_pid" 2>/dev/null || { echo "testnet exited:"; cat "$tn.log"; exit 1; }
  sleep 0.1
done
set -a
# shellcheck disable=SC1091
. "$tn/testnet.env"
set +a
export PAYER_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
# How pay_batch.mjs makes the merchant claim and settle its vouchers.
SETTLE_COMMAND="$(printf '["%s","testnet","settle","--dir","%s"]' "$bin" "$tn")"
export SETTLE_COMMAND
(cd "$work" && node "$script")
