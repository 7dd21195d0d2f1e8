// Pays /weather on the testnet's v2 merchant with the official x402 TypeScript client
// (@x402/fetch + @x402/evm 2.27.0). Prints one JSON line: {status, paymentResponse, body}, and
// exits non-zero unless it is a 200 with a successful PAYMENT-RESPONSE and the weather.
// Env: PURSER_TESTNET_MERCHANT_HTTP, PURSER_TESTNET_ASSET, PURSER_TESTNET_NETWORK,
// PAYER_PRIVATE_KEY (the published Hardhat #0 test key).
import assert from "node:assert/strict";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { toClientEvmSigner } from "@x402/evm";
import { privateKeyToAccount } from "viem/accounts";

const base = process.env.PURSER_TESTNET_MERCHANT_HTTP;
const asset = process.env.PURSER_TESTNET_ASSET;
const network = process.env.PURSER_TESTNET_NETWORK ?? "eip155:31337";
const key = process.env.PAYER_PRIVATE_KEY;
if (!base || !asset || !key) {
  console.error("need PURSER_TESTNET_MERCHANT_HTTP, PURSER_TESTNET_ASSET, PAYER_PRIVATE_KEY");
  process.exit(2);
}

const client = new x402Client();
registerExactEvmScheme(client, { signer: toClientEvmSigner(privateKeyToAccount(key)) });
// The testnet USDC is not in the official default-asset table, so spend controls must allow it.
client.setSpendControls({ allowedAssets: [{ network, asset }] });

const pay = wrapFetchWithPayment(fetch, client);
const res = await pay(`${base}/weather`);
const header = res.headers.get("PAYMENT-RESPONSE");
const out = {
  status: res.status,
  paymentResponse: header ? decodePaymentResponseHeader(header) : null,
  body: await res.text(),
};
console.log(JSON.stringify(out));
assert.equal(out.status, 200, `status ${out.status}`);
assert.equal(out.paymentResponse?.success, true, "PAYMENT-RESPONSE not successful");
assert.match(out.paymentResponse.transaction, /^0x[0-9a-fA-F]{64}$/);
assert.equal(JSON.parse(out.body).location, "Testnet City");
