#!/usr/bin/env bash
# Purser against real peers in one run (issue 12): an nginx origin on loopback, and Purser,
# squid, tinyproxy and mitmproxy in front of it, loaded by wrk (HTTP) and bench/tls_load (HTTPS
# through each proxy's CONNECT, which wrk cannot send). Targets are interleaved in
# rounds (round 1: A B C D, round 2: A B C D, ...) because the machine is shared and noisy;
# bench/peers/report.py takes the median of the rounds and writes bench/results/<date>.md.
#
# usage: bench/peers/run.sh BUILD_DIR [--quick]
# Needs the peers installed (PURSER_WITH_BENCH=1 scripts/install-deps.sh, which `./run bench`
# does). Every process it starts is in a process group of its own and is ended on exit.
# PURSER_PEERS_KEEP=1 keeps the work directory (wrk outputs, configs, logs) after a success too.
set -euo pipefail

BUILD_DIR=$(cd "${1:?usage: bench/peers/run.sh BUILD_DIR [--quick]}" && pwd)
shift
QUICK=0
for arg in "$@"; do
  [[ "$arg" == --quick ]] && QUICK=1
done
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PURSER=$BUILD_DIR/cli/purser
[[ -x "$PURSER" ]] || { echo "peers: no $PURSER (build first)" >&2; exit 1; }
TLS_LOAD=$BUILD_DIR/bench/tls_load
[[ -x "$TLS_LOAD" ]] || { echo "peers: no $TLS_LOAD (build with -DPURSER_BENCH=ON)" >&2; exit 1; }
for tool in wrk nginx squid tinyproxy mitmdump openssl python3; do
  command -v "$tool" >/dev/null || { echo "peers: $tool missing (PURSER_WITH_BENCH=1 scripts/install-deps.sh)" >&2; exit 1; }
done

if ((QUICK)); then
  DURATION=2 ROUNDS=3 HTTP_CONNS=(64) IDLE_COUNTS=(1000)
else
  DURATION=5 ROUNDS=3 HTTP_CONNS=(1 64) IDLE_COUNTS=(1000 10000)
fi
LOAD_CONNS=64  # the HTTPS scenarios' connections

WORK=$(mktemp -d /tmp/purser-peers.XXXXXX)
chmod 755 "$WORK"  # nginx's and squid's unprivileged processes read and write under it
RAW=$WORK/raw.tsv
: >"$RAW"
STARTED=()  # process group ids (each started process leads its own group)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

stop_group() {
  local pgid=$1 i
  kill -TERM -- "-$pgid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
}

cleanup() {
  local status=$? pgid
  for pgid in "${STARTED[@]}"; do stop_group "$pgid"; done
  if ((status == 0)) && [[ "${PURSER_PEERS_KEEP:-0}" != 1 ]]; then
    rm -rf "$WORK"
  else
    echo "peers: logs kept in $WORK" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts "$@" in a process group of its own with output to $WORK/logs/NAME.log; sets STARTED_PID.
start() {
  local name=$1
  shift
  mkdir -p "$WORK/logs"
  # Emptied here, not only by the child's redirection, which may come later: a caller that
  # polls the log (the port Purser prints, the idle client's "ready") must not read the
  # previous run's lines.
  : >"$WORK/logs/$name.log"
  setsid "$@" >>"$WORK/logs/$name.log" 2>&1 </dev/null &
  STARTED_PID=$!
  STARTED+=("$STARTED_PID")
}

stop() {
  local pid=$1 kept=() p
  stop_group "$pid"
  wait "$pid" 2>/dev/null || true
  for p in "${STARTED[@]}"; do [[ "$p" == "$pid" ]] || kept+=("$p"); done
  STARTED=("${kept[@]}")
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
  local port=$1 pid=$2 name=$3 i
  for ((i = 0; i < 200; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "peers: $name exited; its log:" >&2; cat "$WORK/logs/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "peers: $name did not listen on $port" >&2
  exit 1
}

fill() {  # fill TEMPLATE OUT NAME=VALUE...
  local template=$1 out=$2 expr=() kv
  shift 2
  for kv in "$@"; do expr+=(-e "s#@${kv%%=*}@#${kv#*=}#g"); done
  sed "${expr[@]}" "$template" >"$out"
}

cpu_ticks() {  # "utime stime" of a whole process (all threads), in clock ticks
  local stat
  stat=$(<"/proc/$1/stat")
  stat=${stat##*) }  # fields after the command name, which may hold spaces
  local -a f
  read -r -a f <<<"$stat"
  echo "${f[11]} ${f[12]}"
}

machine_ticks() {  # "busy total" clock ticks of every core since boot (/proc/stat)
  local -a f
  read -r -a f </proc/stat
  # user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  echo "$((f[1] + f[2] + f[3] + f[6] + f[7] + f[8])) $((f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7] + f[8]))"
}

# Sets CHILD_TICKS to the user+system clock ticks of this shell's finished children. Not in a
# $(...): `times` must run in this shell, since a subshell has children of its own. Its second
# line is the children's: "0m1.250s 0m0.340s".
children_ticks() {
  times >"$WORK/times.txt"
  CHILD_TICKS=$(awk -v hz="$CLK_TCK" 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
    printf "%d\n", t * hz + 0.5
  }' "$WORK/times.txt")
}
CLK_TCK=$(getconf CLK_TCK)

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

USER_NAME=$(id -un)
SQUID_USER=$USER_NAME
if [[ $(id -u) -eq 0 ]]; then SQUID_USER=proxy; fi  # squid will not work as root

# --- certificates: the origin's (trusted by every proxy), squid's CA -------------------------
log "peers: certificates and origin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=purser bench origin CA" -keyout "$WORK/origin-ca.key" -out "$WORK/origin-ca.pem" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$WORK/origin.key" -out "$WORK/origin.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
  >"$WORK/origin.ext"
openssl x509 -req -in "$WORK/origin.csr" -CA "$WORK/origin-ca.pem" -CAkey "$WORK/origin-ca.key" \
  -CAcreateserial -days 2 -extfile "$WORK/origin.ext" -out "$WORK/origin.pem" 2>/dev/null
# squid signs its minted certificates with this CA (and reuses its P-256 key for them).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=purser bench squid CA" -keyout "$WORK/squid-ca.key" -out "$WORK/squid-ca.crt" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
cat "$WORK/squid-ca.crt" "$WORK/squid-ca.key" >"$WORK/squid-ca.pem"

# --- origin ----------------------------------------------------------------------------------
mkdir -p "$WORK/www" "$WORK/nginx-tmp"
head -c 1024 /dev/zero | tr '\0' 'x' >"$WORK/www/1k.bin"
HTTP_PORT=$(free_port) TLS_PORT=$(free_port) CLOSE_PORT=$(free_port)
fill "$HERE/nginx.conf.in" "$WORK/nginx.conf" WORK="$WORK" USER="$USER_NAME" \
  HTTP_PORT="$HTTP_PORT" TLS_PORT="$TLS_PORT" CLOSE_PORT="$CLOSE_PORT"
start nginx nginx -e "$WORK/nginx-error.log" -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon off;'
NGINX_PID=$STARTED_PID
wait_port "$HTTP_PORT" "$NGINX_PID" nginx
wait_port "$TLS_PORT" "$NGINX_PID" nginx
# The one worker process does the origin's work; its CPU is reported next to each proxy's.
ORIGIN_PID=$(pgrep -P "$NGINX_PID" | head -n 1)
[[ -n "$ORIGIN_PID" ]] || { echo "peers: nginx started no worker" >&2; exit 1; }
ORIGIN_HTTP=http://127.0.0.1:$HTTP_PORT/1k.bin
ORIGIN_CLOSE=http://127.0.0.1:$CLOSE_PORT/1k.bin

# --- proxies ---------------------------------------------------------------------------------
# Each start_* sets <NAME>_PORT and <NAME>_PID. The proxies are restarted for the idle-connection
# scenario (a fresh process per measurement), so starting is a function.
start_purser() {
  local home=$WORK/purser-home i
  if [[ ! -d "$home" ]]; then
    # The sidecar set-up: one agent, used for requests without proxy credentials. Without a
    # wallet and with --no-payments nothing is ever paid; every request is forwarded.
    mkdir -p "$home"
    PURSER_HOME="$home" "$PURSER" agent add bench --unlimited >/dev/null
  fi
  start purser env PURSER_HOME="$home" "$PURSER" proxy --listen 127.0.0.1:0 --admin-listen off --log /dev/null \
    --default-agent bench --no-payments --upstream-ca "$WORK/origin-ca.pem" --idle-timeout-ms 600000 --max-connections 20000
  PURSER_PID=$STARTED_PID
  for ((i = 0; i < 200; i++)); do
    PURSER_PORT=$(sed -n 's/^purser proxy listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/logs/purser.log")
    [[ -n "$PURSER_PORT" ]] && break
    kill -0 "$PURSER_PID" 2>/dev/null || { cat "$WORK/logs/purser.log" >&2; exit 1; }
    sleep 0.1
  done
  wait_port "$PURSER_PORT" "$PURSER_PID" purser
}

start_squid() {
  SQUID_PORT=$(free_port)
  rm -rf "$WORK/squid"
  mkdir -p "$WORK/squid"
  /usr/lib/squid/security_file_certgen -c -s "$WORK/squid/ssl-db" -M 16MB >/dev/null
  chown -R "$SQUID_USER" "$WORK/squid"
  fill "$HERE/squid.conf.in" "$WORK/squid.conf" WORK="$WORK" PORT="$SQUID_PORT" SQUID_USER="$SQUID_USER"
  # -N: one process in the foreground that is also the worker, so its /proc entry is the proxy.
  start squid squid -N -f "$WORK/squid.conf"
  SQUID_PID=$STARTED_PID
  wait_port "$SQUID_PORT" "$SQUID_PID" squid
}

start_tinyproxy() {
  TINYPROXY_PORT=$(free_port)
  fill "$HERE/tinyproxy.conf.in" "$WORK/tinyproxy.conf" WORK="$WORK" PORT="$TINYPROXY_PORT"
  start tinyproxy tinyproxy -d -c "$WORK/tinyproxy.conf"
  TINYPROXY_PID=$STARTED_PID
  wait_port "$TINYPROXY_PORT" "$TINYPROXY_PID" tinyproxy
}

start_mitmproxy() {
  MITMPROXY_PORT=$(free_port)
  mkdir -p "$WORK/mitmproxy"
  # -q: no flow printed per request; the origin's certificate is checked against its CA.
  start mitmproxy mitmdump -q --listen-host 127.0.0.1 --listen-port "$MITMPROXY_PORT" \
    --set confdir="$WORK/mitmproxy" --set ssl_verify_upstream_trusted_ca="$WORK/origin-ca.pem"
  MITMPROXY_PID=$STARTED_PID
  wait_port "$MITMPROXY_PORT" "$MITMPROXY_PID" mitmproxy
}

# The Lua that turns wrk into a proxy client: absolute-form request target, the origin's Host.
printf 'wrk.path = "%s"\nwrk.headers["Host"] = "127.0.0.1:%s"\n' "$ORIGIN_HTTP" "$HTTP_PORT" >"$WORK/proxy.lua"

# "a b" minus "c d", pairwise (two readings of cpu_ticks or machine_ticks).
ticks_delta() {
  local a b c d
  read -r a b <<<"$1"
  read -r c d <<<"$2"
  echo "$((a - c)) $((b - d))"
}

# run_load TOOL SCENARIO TARGET ROUND CONNS PID|- args...: one load run (TOOL wrk or tls_load,
# both print wrk's summary), with what it cost: the proxy's user and system time, the origin's
# CPU, the load client's, and the machine's busy and total ticks.
run_load() {
  local tool=$1 scenario=$2 target=$3 round=$4 conns=$5 pid=$6 threads=2 out
  shift 6
  ((conns == 1)) && threads=1
  out=$WORK/load-$scenario-$target-$conns-$round.txt
  local proxy_before proxy="- -" origin_before origin machine_before machine client_before
  [[ "$pid" == - ]] || proxy_before=$(cpu_ticks "$pid")
  origin_before=$(cpu_ticks "$ORIGIN_PID")
  machine_before=$(machine_ticks)
  children_ticks
  client_before=$CHILD_TICKS
  if [[ "$tool" == wrk ]]; then
    wrk -t "$threads" -c "$conns" -d "${DURATION}s" --latency "$@" >"$out" 2>&1
  else
    "$TLS_LOAD" --threads "$threads" --connections "$conns" --duration "$DURATION" "$@" >"$out" 2>&1
  fi || echo "peers: $tool failed for $target ($scenario)" >&2
  children_ticks
  machine=$(ticks_delta "$(machine_ticks)" "$machine_before")
  origin=$(ticks_delta "$(cpu_ticks "$ORIGIN_PID")" "$origin_before")
  # "-" where the target has no process of its own (direct).
  [[ "$pid" == - ]] || proxy=$(ticks_delta "$(cpu_ticks "$pid")" "$proxy_before")
  local proxy_user proxy_sys origin_user origin_sys busy total
  read -r proxy_user proxy_sys <<<"$proxy"
  read -r origin_user origin_sys <<<"$origin"
  read -r busy total <<<"$machine"
  printf 'load\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$target" "$round" \
    "$conns" "$proxy_user" "$proxy_sys" "$((origin_user + origin_sys))" \
    "$((CHILD_TICKS - client_before))" "$busy" "$total" "$out" >>"$RAW"
  printf '  %-15s %-10s c=%-3s round %s: %s\n' "$scenario" "$target" "$conns" "$round" \
    "$(awk '/^Requests\/sec/ { print $2 " req/s" }' "$out")" >&2
}
measure() { run_load wrk "$@"; }

log "peers: starting Purser, squid, tinyproxy, mitmproxy"
start_purser
start_squid
start_tinyproxy
start_mitmproxy

# One request through each path first: a peer that cannot serve stops the run here, not in a
# table of zeros.
check() {
  local name=$1
  shift
  curl -sS -o /dev/null --max-time 10 -w '%{http_code}' "$@" | grep -qx 200 ||
    { echo "peers: $name does not serve the origin" >&2; exit 1; }
}
check direct "$ORIGIN_HTTP"
check purser --proxy "http://127.0.0.1:$PURSER_PORT" "$ORIGIN_HTTP"
check squid --proxy "http://127.0.0.1:$SQUID_PORT" "$ORIGIN_HTTP"
check tinyproxy --proxy "http://127.0.0.1:$TINYPROXY_PORT" "$ORIGIN_HTTP"
TLS_URL=https://127.0.0.1:$TLS_PORT/1k.bin
check direct-tls --cacert "$WORK/origin-ca.pem" "$TLS_URL"
check purser-tls --proxy "http://127.0.0.1:$PURSER_PORT" --cacert "$WORK/purser-home/ca/ca.crt" "$TLS_URL"
check squid-tls --proxy "http://127.0.0.1:$SQUID_PORT" --cacert "$WORK/squid-ca.crt" "$TLS_URL"
check mitmproxy-tls --proxy "http://127.0.0.1:$MITMPROXY_PORT" --cacert "$WORK/mitmproxy/mitmproxy-ca-cert.pem" "$TLS_URL"

# --- (1) HTTP forwarding ---------------------------------------------------------------------
for conns in "${HTTP_CONNS[@]}"; do
  log "peers: HTTP forwarding, $conns connection(s), $ROUNDS rounds of ${DURATION}s"
  for ((round = 1; round <= ROUNDS; round++)); do
    measure http direct "$round" "$conns" - "$ORIGIN_HTTP"
    measure http purser "$round" "$conns" "$PURSER_PID" -s "$WORK/proxy.lua" "http://127.0.0.1:$PURSER_PORT/"
    measure http squid "$round" "$conns" "$SQUID_PID" -s "$WORK/proxy.lua" "http://127.0.0.1:$SQUID_PORT/"
    measure http tinyproxy "$round" "$conns" "$TINYPROXY_PID" -s "$WORK/proxy.lua" "http://127.0.0.1:$TINYPROXY_PORT/"
  done
done

# --- (2) HTTPS interception, keep-alive; (3) a new connection and handshake per request ------
# tls_load opens each tunnel with CONNECT and does a full TLS handshake through it (the proxy's
# minted certificate is not verified); `direct` is the same client straight to nginx's TLS port.
for scenario in https-keepalive https-close; do
  extra=()
  [[ "$scenario" == https-close ]] && extra=(--close)
  log "peers: $scenario, $LOAD_CONNS connections, $ROUNDS rounds of ${DURATION}s"
  for ((round = 1; round <= ROUNDS; round++)); do
    run_load tls_load "$scenario" direct "$round" "$LOAD_CONNS" - --origin "$TLS_PORT" "${extra[@]}"
    run_load tls_load "$scenario" purser "$round" "$LOAD_CONNS" "$PURSER_PID" --origin "$TLS_PORT" \
      --proxy "$PURSER_PORT" "${extra[@]}"
    run_load tls_load "$scenario" squid "$round" "$LOAD_CONNS" "$SQUID_PID" --origin "$TLS_PORT" \
      --proxy "$SQUID_PORT" "${extra[@]}"
    run_load tls_load "$scenario" mitmproxy "$round" "$LOAD_CONNS" "$MITMPROXY_PID" --origin "$TLS_PORT" \
      --proxy "$MITMPROXY_PORT" "${extra[@]}"
  done
done

# --- (4) memory per idle keep-alive connection -----------------------------------------------
# A fresh proxy per measurement: one warm-up request, RSS, N connections that each had one
# request (the origin port that closes after each response, so the proxy holds only the client
# side), RSS again.
idle_rss() {  # idle_rss TARGET N ROUND
  local target=$1 n=$2 round=$3 pid port before after client i
  case "$target" in
    purser) start_purser; pid=$PURSER_PID port=$PURSER_PORT ;;
    squid) start_squid; pid=$SQUID_PID port=$SQUID_PORT ;;
  esac
  check "$target" --proxy "http://127.0.0.1:$port" "$ORIGIN_CLOSE"
  sleep 0.5
  before=$(rss_kib "$pid")
  start "idle-$target" python3 "$HERE/idle_clients.py" "$port" "$ORIGIN_CLOSE" "$n"
  client=$STARTED_PID
  for ((i = 0; i < 3000; i++)); do
    grep -q '^ready' "$WORK/logs/idle-$target.log" && break
    kill -0 "$client" 2>/dev/null || { cat "$WORK/logs/idle-$target.log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q '^ready' "$WORK/logs/idle-$target.log" || { echo "peers: idle client did not finish" >&2; exit 1; }
  sleep 1
  after=$(rss_kib "$pid")
  stop "$client"
  printf 'rss\t%s\t%s\t%s\t%s\t%s\n' "$target" "$round" "$n" "$before" "$after" >>"$RAW"
  printf '  rss %-7s n=%-6s round %s: %s KiB -> %s KiB\n' "$target" "$n" "$round" "$before" "$after" >&2
  stop "$pid"
}

log "peers: memory per idle connection (${IDLE_COUNTS[*]}), Purser and squid, $ROUNDS rounds"
stop "$PURSER_PID"
stop "$SQUID_PID"
for n in "${IDLE_COUNTS[@]}"; do
  for ((round = 1; round <= ROUNDS; round++)); do
    idle_rss purser "$n" "$round"
    idle_rss squid "$n" "$round"
  done
done

# --- the results file ------------------------------------------------------------------------
{
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'nproc\t%s\n' "$(nproc)"
  printf 'cpu\t%s\n' "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  printf 'kernel\t%s\n' "$(uname -r)"
  printf 'load\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'clk_tck\t%s\n' "$(getconf CLK_TCK)"
  printf 'duration\t%s\n' "$DURATION"
  printf 'rounds\t%s\n' "$ROUNDS"
  printf 'quick\t%s\n' "$QUICK"
  printf 'purser\t%s\n' "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  for pkg in wrk nginx squid-openssl tinyproxy mitmproxy; do
    printf 'package\t%s\t%s\n' "$pkg" "$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo '?')"
  done
} >"$WORK/meta.tsv"
suffix=
((QUICK)) && suffix=-quick  # a quick run does not replace the day's full results
out=$REPO/bench/results/$(date -u +%Y-%m-%d)$suffix.md
mkdir -p "$REPO/bench/results"
python3 "$HERE/report.py" "$WORK/meta.tsv" "$RAW" >"$out"
log "peers: wrote ${out#"$REPO"/}"
cat "$out"
