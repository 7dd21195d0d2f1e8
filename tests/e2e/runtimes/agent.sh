#!/usr/bin/env bash
# The runtime matrix's scenario for curl and wget, configured only as a user would: the proxy from
# http_proxy/https_proxy; trust from CURL_CA_BUNDLE (curl) or `ca_certificate` in the wgetrc that
# WGETRC names (wget reads no CA variable).
#
# usage: agent.sh curl|wget HTTP_BASE HTTPS_BASE
# Prints one JSON line per step with what the client received.
set -uo pipefail
client=$1 http=$2 https=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%s' '{"task":"summarise","items":[1,2,3],"note":"paid retry must carry me"}' >"$work/json_body"
# 1,000,000 bytes: under the testnet's 1 MiB body limit.
yes 0123456789 | tr -d '\n' | head -c 1000000 >"$work/big_body"

sha() { sha256sum "$1" | cut -d' ' -f1; }
# The value of the last `name:` header line in a header dump (curl -D, or wget -S's indented lines).
header() { grep -i "^ *$2:" "$1" | tail -1 | sed -e 's/^[^:]*: *//' -e 's/\r$//'; }
status() { grep -E '^ *HTTP/[0-9.]+ [0-9]{3}' "$1" | tail -1 | awk '{print $2}'; }

# report NAME HEADERS BODY CONN [SENT]
report() {
  local name=$1 hdrs=$2 body=$3 conn=$4 sent=${5:-}
  local extra=""
  [[ -n "$conn" ]] && extra+=",\"conn\":\"$conn\""
  [[ -n "$sent" ]] && extra+=",\"sent_length\":$(stat -c %s "$sent"),\"sent_sha256\":\"$(sha "$sent")\""
  printf '{"step":"%s","status":%s,"decision":"%s","paid":"%s","length":%s,"sha256":"%s","events":%s%s}\n' \
    "$name" "$(status "$hdrs")" "$(header "$hdrs" purser-decision)" "$(header "$hdrs" purser-paid)" \
    "$(stat -c %s "$body")" "$(sha "$body")" "$(grep -c '^data:' "$body")" "$extra"
}

# curl: one invocation per step; the stream and the step after it share one invocation (--next),
# so curl keeps the connection; %{local_port} names it.
curl_args() { # NAME METHOD URL [BODY TYPE]
  local args=(-sS -o "$work/$1.body" -D "$work/$1.hdrs" -w "%{local_port}\n" "$3")
  [[ $2 == POST ]] && args+=(--data-binary "@$4" -H "Content-Type: $5")
  printf '%s\0' "${args[@]}"
}
curl_step() { # NAME METHOD URL [BODY TYPE]
  local args conn
  mapfile -d '' args < <(curl_args "$@")
  conn=$(curl "${args[@]}") || { echo "{\"step\":\"$1\",\"error\":\"curl exit $?\"}"; return; }
  report "$1" "$work/$1.hdrs" "$work/$1.body" "$conn" "${4:-}"
}
curl_pair() { # NAME1 URL1 NAME2 URL2
  local a b ports
  mapfile -d '' a < <(curl_args "$1" GET "$2")
  mapfile -d '' b < <(curl_args "$3" GET "$4")
  ports=$(curl "${a[@]}" --next "${b[@]}") || { echo "{\"step\":\"$1\",\"error\":\"curl exit $?\"}"; return; }
  report "$1" "$work/$1.hdrs" "$work/$1.body" "$(sed -n 1p <<<"$ports")"
  report "$3" "$work/$3.hdrs" "$work/$3.body" "$(sed -n 2p <<<"$ports")"
}

# wget: --content-on-error keeps a 402's body; -S prints the response heads to the log.
wget_step() { # NAME METHOD URL [BODY TYPE]
  local args=(-S --content-on-error -O "$work/$1.body" "$3")
  [[ $2 == POST ]] && args+=("--post-file=$4" "--header=Content-Type: $5")
  wget "${args[@]}" 2>"$work/$1.hdrs"
  local rc=$?
  # 8: the server answered with an error status (the declined 402): an answer, not a failure.
  if [[ $rc != 0 && $rc != 8 ]]; then echo "{\"step\":\"$1\",\"error\":\"wget exit $rc\"}"; return; fi
  report "$1" "$work/$1.hdrs" "$work/$1.body" "" "${4:-}"
}
wget_pair() { # NAME1 URL1 NAME2 URL2: one wget for both URLs, so it may keep the connection
  mkdir -p "$work/pair"
  (cd "$work/pair" && wget -S "$2" "$4" 2>"$work/pair.log") ||
    { echo "{\"step\":\"$1\",\"error\":\"wget exit $?\"}"; return; }
  # The log has one section per URL, each opening with "--DATE TIME--  URL".
  awk -v a="$work/$1.hdrs" -v b="$work/$3.hdrs" '/^--[0-9][0-9][0-9][0-9]-/ {n++} {print > (n == 1 ? a : b)}' "$work/pair.log"
  # wget does not name its socket; the proxy's access log shows whether it kept the connection.
  report "$1" "$work/$1.hdrs" "$work/pair/${2##*/}" ""
  report "$3" "$work/$3.hdrs" "$work/pair/${4##*/}" ""
}

"${client}_step" http_get GET "$http/weather"
"${client}_step" https_get GET "$https/weather"
"${client}_step" post_json POST "$https/echo" "$work/json_body" application/json
"${client}_step" post_1mb POST "$https/echo" "$work/big_body" application/octet-stream
"${client}_pair" stream "$https/stream" after_stream "$https/weather"
"${client}_step" free GET "$https/free"
"${client}_step" declined GET "$https/premium"
