// The official x402 client as a load peer for paid_path_bench: CLIENTS loops, each paying GET URL
// PER_CLIENT times in a row with @x402/fetch (2.27, exact only, as the official fetch client pays
// a route that offers exact), all at once. Prints one JSON line:
// {requests, failures, seconds, requests_per_second, p50_us, p99_us}; the clock starts after the
// packages are loaded and the client is built, as the proxy's load generator starts after its
// proxy is up. A loop stops at its first answer that is not a paid 200.
// Env: URL, CLIENTS, PER_CLIENT, PURSER_TESTNET_ASSET, PURSER_TESTNET_NETWORK, PAYER_PRIVATE_KEY.
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { toClientEvmSigner } from "@x402/evm";
import { privateKeyToAccount } from "viem/accounts";

const url = process.env.URL;
const clients = Number(process.env.CLIENTS ?? "1");
const perClient = Number(process.env.PER_CLIENT ?? "10");
const asset = process.env.PURSER_TESTNET_ASSET;
const network = process.env.PURSER_TESTNET_NETWORK ?? "eip155:31337";
const key = process.env.PAYER_PRIVATE_KEY;
if (!url || !asset || !key || !(clients > 0) || !(perClient > 0)) {
  console.error("need URL, CLIENTS, PER_CLIENT, PURSER_TESTNET_ASSET, PAYER_PRIVATE_KEY");
  process.exit(2);
}

const client = new x402Client();
registerExactEvmScheme(client, { signer: toClientEvmSigner(privateKeyToAccount(key)) });
// The testnet USDC is not in the official default-asset table, so spend controls must allow it.
client.setSpendControls({ allowedAssets: [{ network, asset }] });
const pay = wrapFetchWithPayment(fetch, client);

const latencies = [];
let failures = 0;
let firstFailure = "";
async function loop() {
  for (let i = 0; i < perClient; ++i) {
    const start = process.hrtime.bigint();
    try {
      const res = await pay(url);
      await res.arrayBuffer();
      const header = res.headers.get("PAYMENT-RESPONSE");
      if (res.status !== 200 || !header || !decodePaymentResponseHeader(header).success) {
        throw new Error(`status ${res.status}`);
      }
    } catch (e) {
      ++failures;
      firstFailure ||= String(e?.message ?? e);
      return;
    }
    latencies.push(Number(process.hrtime.bigint() - start) / 1000);
  }
}

const started = process.hrtime.bigint();
await Promise.all(Array.from({ length: clients }, loop));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
latencies.sort((a, b) => a - b);
const at = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0);
console.log(JSON.stringify({
  requests: latencies.length,
  failures,
  first_failure: firstFailure,
  seconds,
  requests_per_second: seconds > 0 ? latencies.length / seconds : 0,
  p50_us: at(0.5),
  p99_us: at(0.99),
}));
