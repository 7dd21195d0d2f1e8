#!/usr/bin/env bash
# ./run demo: the whole product on one machine, no internet.
# Starts the local testnet (chain + facilitator + paid APIs), creates a wallet funded by the
# faucet and an agent with spending caps, starts the proxy, lets the agent pay for an HTTP and an
# HTTPS call with plain curl, pays three calls from an IOU channel, shows a call declined over
# the cap, prints the ledger, stops.
set -euo pipefail
purser=$(realpath "$1")
demo_dir=${PURSER_DEMO_DIR:-$(mktemp -d /tmp/purser-demo.XXXXXX)}
export PURSER_HOME="$demo_dir/home"
mkdir -p "$PURSER_HOME"

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
step() { printf '\n\033[1;34m$ %s\033[0m\n' "$*"; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_for_line() {  # file pattern seconds
  local file=$1 pattern=$2 limit=$3 i=0
  until grep -qE "$pattern" "$file" 2>/dev/null; do
    sleep 0.1; i=$((i + 1))
    if (( i > limit * 10 )); then echo "timed out waiting for '$pattern' in $file:" >&2; cat "$file" >&2; exit 1; fi
  done
}

bold "1. Start the local x402 testnet (chain, facilitator, paid demo APIs)"
step "purser testnet up --dir $demo_dir/testnet"
"$purser" testnet up --dir "$demo_dir/testnet" --base-port 0 >"$demo_dir/testnet.log" 2>&1 &
pids+=($!)
wait_for_line "$demo_dir/testnet.log" "testnet.env" 60
# shellcheck disable=SC1091
source "$demo_dir/testnet/testnet.env"
grep -E '^(export )?PURSER_TESTNET_(RPC|FACILITATOR|MERCHANT_HTTP|MERCHANT_HTTPS)=' "$demo_dir/testnet/testnet.env"

bold "2. Create the managed wallet and fund it from the testnet faucet"
printf 'demo-password-not-secret\n' >"$demo_dir/wallet-password"
chmod 600 "$demo_dir/wallet-password"
export PURSER_WALLET_PASSWORD_FILE="$demo_dir/wallet-password"
step "purser wallet new"
"$purser" wallet new --keystore "$PURSER_HOME/keystore.json"
step "purser wallet fund --amount 20"
"$purser" wallet fund --amount 20 --rpc "$PURSER_TESTNET_RPC"
step "purser wallet balance"
"$purser" wallet balance --keystore "$PURSER_HOME/keystore.json" --rpc "$PURSER_TESTNET_RPC"

bold "3. Add an agent with caps: \$0.10 per request, \$1 a day, \$5 prepaid allowance"
step "purser agent add demo-agent --per-request 0.10 --daily 1 --allowance 5"
agent_out=$("$purser" agent add demo-agent --per-request 0.10 --daily 1 --allowance 5)
echo "$agent_out" | sed -E 's/(demo-agent:)[A-Za-z0-9_-]+@/\1<token>@/'
proxy_auth=$(echo "$agent_out" | grep -oE 'demo-agent:[A-Za-z0-9_-]+' | head -n 1)

bold "4. Start the proxy (TLS interception with a local CA; upstream trusts the testnet CA)"
# IOU channels are funded 0.05 USDC at a time, at most 1 USDC per merchant.
printf '{"payment": {"iou": {"deposit": "0.05", "max_channel": "1"}}}\n' >"$demo_dir/proxy.json"
step "cat $demo_dir/proxy.json"
cat "$demo_dir/proxy.json"
step "purser proxy --config $demo_dir/proxy.json --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --upstream-ca \$PURSER_TESTNET_CA --testnet-env $demo_dir/testnet/testnet.env"
"$purser" proxy --config "$demo_dir/proxy.json" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --upstream-ca "$PURSER_TESTNET_CA" \
  --testnet-env "$demo_dir/testnet/testnet.env" \
  --keystore "$PURSER_HOME/keystore.json" --log "$demo_dir/proxy-requests.log" >"$demo_dir/proxy.log" 2>&1 &
pids+=($!)
wait_for_line "$demo_dir/proxy.log" "proxy listening on" 60
proxy_addr=$(grep -oE 'proxy listening on [0-9.]+:[0-9]+' "$demo_dir/proxy.log" | awk '{print $4}')
proxy="http://$proxy_auth@$proxy_addr"

bold "5. The agent calls a paid HTTP API through the proxy (plain curl, no x402 code)"
step "curl -x http://demo-agent:<token>@$proxy_addr $PURSER_TESTNET_MERCHANT_HTTP/weather"
curl -sS -i -x "$proxy" "$PURSER_TESTNET_MERCHANT_HTTP/weather" | grep -vE '^(Date|Payment-Response|Payment-Required):' ; echo

bold "6. ... and a paid HTTPS API (the proxy intercepts TLS with its own CA)"
step "curl --cacert \$PURSER_HOME/ca/ca.crt -x ... $PURSER_TESTNET_MERCHANT_HTTPS/weather"
curl -sS -i --cacert "$PURSER_HOME/ca/ca.crt" -x "$proxy" "$PURSER_TESTNET_MERCHANT_HTTPS/weather" | grep -vE '^(Date|Payment-Response|Payment-Required):' ; echo

bold "7. A call priced in fractions of a cent is paid from an IOU balance"
echo "The first call deposits 0.05 USDC into an escrow channel with the merchant; every call pays"
echo "with a signed cumulative voucher, no chain transaction: Purser-Paid names the voucher."
for i in 1 2 3; do
  step "curl -x ... $PURSER_TESTNET_MERCHANT_HTTP/metered"
  curl -sS -i -x "$proxy" "$PURSER_TESTNET_MERCHANT_HTTP/metered" | grep -iE '^(HTTP/|purser-paid)'
done
step "purser iou balance"
"$purser" iou balance

bold "8. A call priced above the per-request cap is declined: nothing is signed"
step "curl -x ... $PURSER_TESTNET_MERCHANT_HTTP/premium"
curl -sS -i -x "$proxy" "$PURSER_TESTNET_MERCHANT_HTTP/premium" | grep -iE '^(HTTP/|purser-decision)' ; echo

bold "9. The ledger: every decision, paid or declined, with its reason"
step "purser ledger"
"$purser" ledger
step "purser agent show demo-agent"
"$purser" agent show demo-agent
step "purser wallet balance"
"$purser" wallet balance --keystore "$PURSER_HOME/keystore.json" --rpc "$PURSER_TESTNET_RPC"

bold "Done. Everything ran on 127.0.0.1; state is in $demo_dir. Stopping the proxy and the testnet."
