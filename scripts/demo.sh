#!/usr/bin/env bash
# The demo grows into the full testnet + proxy walk-through (issue 6); for now it shows the build.
set -euo pipefail
purser=$1
"$purser" --version
