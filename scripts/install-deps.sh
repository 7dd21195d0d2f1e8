#!/usr/bin/env bash
# Installs the Debian 12 packages Purser builds, tests and demos with.
# Idempotent: when everything is present it prints nothing and returns at once.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libboost-dev libssl-dev libsecp256k1-dev nlohmann-json3-dev liblmdb-dev
  nettle-dev libexpected-dev catch2 libgoogle-perftools-dev
  libpq-dev postgresql-15 libqrencode-dev zbar-tools
  curl ca-certificates openssl python3 python3-requests python3-yaml
)
if [[ "${PURSER_WITH_FUZZ:-0}" == 1 ]]; then
  packages+=(clang libclang-rt-14-dev)
fi
if [[ "${PURSER_WITH_NODE:-0}" == 1 ]]; then
  # The runtime matrix (tests/e2e/runtime_matrix_test.cpp): every client runtime the README's
  # table names, from Debian; undici and axios come from npm into the build tree.
  packages+=(nodejs npm wget python3-httpx python3-aiohttp golang-go openjdk-17-jdk-headless)
fi
if [[ "${PURSER_WITH_BROWSER:-0}" == 1 ]]; then
  # The spend dashboard's test (tests/e2e/dashboard_test.cpp) loads it in a real headless
  # browser; playwright-core, which drives it, comes from npm into the build tree.
  packages+=(chromium)
fi
if [[ "${PURSER_WITH_IMAGE:-0}" == 1 ]]; then
  # `./run image` and its test (tests/image/): buildah assembles the OCI image from files.
  packages+=(buildah)
fi
if [[ "${PURSER_WITH_BENCH:-0}" == 1 ]]; then
  # The peers `./run bench` measures Purser against in the same run (bench/peers/run.sh): the
  # HTTP load generator, the origin and the other proxies (HTTPS load is bench/tls_load). The
  # driver starts each on loopback ports of its own; the packages' system services are not used.
  packages+=(wrk nginx squid-openssl tinyproxy mitmproxy)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# Node may come from outside Debian's packages; a working node+npm is enough.
if [[ "${PURSER_WITH_NODE:-0}" == 1 ]] && command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
(( ${#missing[@]} == 0 )) && exit 0

echo "purser: installing ${missing[*]}" >&2
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
