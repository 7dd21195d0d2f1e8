#!/bin/bash
# Installs pinned npm packages into WORK_DIR, once per package.json content: by default the
# official x402 packages (package.json beside this script, shared by the official-client tests
# and paid_path_bench); PACKAGE_DIR names another package.json (the dashboard's browser test).
# Two callers may ask at once, so the install runs under a lock.
# Usage: npm_install.sh WORK_DIR [PACKAGE_DIR]
set -euo pipefail
work="$1"
here="${2:-$(cd "$(dirname "$0")" && pwd)}"
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
