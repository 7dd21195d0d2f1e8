#!/bin/bash
# Official-client interop test: starts `purser testnet up`, installs the pinned official x402
# packages with npm (cached under $PURSER_NPM_CACHE_DIR or the build dir), pays /weather with
# them, and checks for 200 plus a successful PAYMENT-RESPONSE. Usage: run.sh PURSER_BIN WORK_DIR
set -euo pipefail
bin="$1"
work="$2"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$work"
tn="$(mktemp -d "${TMPDIR:-/tmp}/purser-oc-XXXXXX")"
cleanup() {
  "$bin" testnet down --dir "$tn" >/dev/null 2>&1 || true
  [ -n "${tn_pid:-}" ] && wait "$tn_pid" 2>/dev/null || true
  rm -rf "$tn"
}
trap cleanup EXIT

# npm install once per package.json content.
stamp="$work/node_modules/.purser-stamp"
if ! cmp -s "$here/package.json" "$stamp" 2>/dev/null; then
  cp "$here/package.json" "$work/package.json"
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) || {
    echo "npm install failed:"; cat "$work/npm.log"; exit 1; }
  cp "$here/package.json" "$stamp"
fi
cp "$here/pay_weather.mjs" "$work/pay_weather.mjs"

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
out="$(cd "$work" && node pay_weather.mjs)"
echo "$out"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1].strip().splitlines()[-1])
assert r["status"] == 200, f"status {r['status']}: {r}"
pr = r["paymentResponse"]
assert pr and pr["success"] is True, f"PAYMENT-RESPONSE not successful: {pr}"
assert pr["transaction"].startswith("0x") and len(pr["transaction"]) == 66, pr
assert json.loads(r["body"])["location"] == "Testnet City", r["body"]
print("official client paid /weather: tx", pr["transaction"])
PY
rm -f "$tn.log"
