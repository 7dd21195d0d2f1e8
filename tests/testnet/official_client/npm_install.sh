#!/bin/bash
# Installs the pinned official x402 packages (package.json beside this script) into WORK_DIR with
# npm, once per package.json content: the official-client tests and paid_path_bench share it.
# Two callers may ask at once, so the install runs under a lock.
# Usage: npm_install.sh WORK_DIR
set -euo pipefail
work="$1"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$work"
stamp="$work/node_modules/.purser-stamp"
exec 9>"$work/.npm.lock"
flock 9
if ! cmp -s "$here/package.json" "$stamp" 2>/dev/null; then
  cp "$here/package.json" "$work/package.json"
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) || {
    echo "npm install failed:"; cat "$work/npm.log"; exit 1; }
  cp "$here/package.json" "$stamp"
fi
