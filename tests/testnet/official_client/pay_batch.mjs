// Pays the testnet's v2 merchant with the official x402 batch-settlement client
// (@x402/evm/batch-settlement/client 2.27.0 behind @x402/fetch): one deposit, then vouchers, then
// a client without local state resyncs through the corrective 402, then the merchant claims and
// settles, then the official cooperative refund. Checks every step on the testnet chain and exits
// non-zero on the first difference.
// Env: PURSER_TESTNET_MERCHANT_HTTP, PURSER_TESTNET_RPC, PURSER_TESTNET_ASSET,
// PURSER_TESTNET_NETWORK, PURSER_TESTNET_PAYER, PURSER_TESTNET_PAYEE, PAYER_PRIVATE_KEY (the
// published Hardhat #0 test key), SETTLE_COMMAND (argv as JSON: makes the merchant claim and
// settle its vouchers), CALLS (voucher calls after the deposit, default 20).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { BatchSettlementEvmScheme, computeChannelId } from "@x402/evm/batch-settlement/client";
import { toClientEvmSigner } from "@x402/evm";
import { createPublicClient, http, parseAbi } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const env = (k) => {
  const v = process.env[k];
  if (!v) {
    console.error(`need ${k}`);
    process.exit(2);
  }
  return v;
};
const base = env("PURSER_TESTNET_MERCHANT_HTTP");
const rpc = env("PURSER_TESTNET_RPC");
const asset = env("PURSER_TESTNET_ASSET");
const network = env("PURSER_TESTNET_NETWORK");
const payer = env("PURSER_TESTNET_PAYER");
const payee = env("PURSER_TESTNET_PAYEE");
const key = env("PAYER_PRIVATE_KEY");
const settleCommand = JSON.parse(env("SETTLE_COMMAND"));
const calls = Number(process.env.CALLS ?? "20");
const url = `${base}/metered`;
const escrow = "0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003";
const deposit = 100000n; // 0.10 USDC: room for 200 calls at 0.0005

const chain = createPublicClient({ transport: http(rpc) });
const abi = parseAbi([
  "function balanceOf(address) view returns (uint256)",
  // The official ABI (@x402/evm batch-settlement/abi.ts).
  "function channels(bytes32) view returns (uint128 balance, uint128 totalClaimed)",
]);
const balanceOf = (who) => chain.readContract({ address: asset, abi, functionName: "balanceOf", args: [who] });
const channel = (id) => chain.readContract({ address: escrow, abi, functionName: "channels", args: [id] });

// Every exchange on the wire: the payload type the client sent and what came back.
const wire = [];
const recordingFetch = async (input, init) => {
  const req = new Request(input, init);
  const sig = req.headers.get("PAYMENT-SIGNATURE");
  const res = await fetch(req);
  const pr = res.headers.get("PAYMENT-RESPONSE");
  const required = res.headers.get("PAYMENT-REQUIRED");
  wire.push({
    sent: sig ? JSON.parse(Buffer.from(sig, "base64").toString()).payload.type : null,
    status: res.status,
    response: pr ? decodePaymentResponseHeader(pr) : null,
    error: required ? JSON.parse(Buffer.from(required, "base64").toString()).error : null,
  });
  return res;
};

const signer = toClientEvmSigner(privateKeyToAccount(key), chain);
let depositsAsked = 0;
const batch = new BatchSettlementEvmScheme(signer, {
  depositStrategy: ({ minimumDepositAmount }) => {
    depositsAsked += 1;
    return BigInt(minimumDepositAmount) > deposit ? BigInt(minimumDepositAmount) : deposit;
  },
});
const client = new x402Client();
registerExactEvmScheme(client, { signer });
client.register(network, batch);
// /metered offers exact first; pay it with batch-settlement.
client.registerPolicy((_, reqs) => reqs.filter((r) => r.scheme === "batch-settlement"));
// The testnet USDC is not in the official default-asset table, so spend controls must allow it.
client.setSpendControls({ allowedAssets: [{ network, asset }] });
const pay = wrapFetchWithPayment(recordingFetch, client);

const payerBefore = await balanceOf(payer);
const payeeBefore = await balanceOf(payee);

// The offer the client will pay, and the channel it implies.
const probe = await fetch(url);
assert.equal(probe.status, 402);
const offered = JSON.parse(Buffer.from(probe.headers.get("PAYMENT-REQUIRED"), "base64").toString());
const offer = offered.accepts.find((a) => a.scheme === "batch-settlement");
assert.ok(offer, "the 402 offers batch-settlement");
const price = BigInt(offer.amount);
// The official server's deposit hint: 10 x the price.
assert.equal(offer.extra.minDeposit, (price * 10n).toString());
const channelId = computeChannelId(batch.buildChannelConfig(offer), network);

for (let i = 0; i <= calls; i += 1) {
  wire.length = 0;
  const res = await pay(url);
  const body = await res.text();
  assert.equal(res.status, 200, `call ${i}: ${res.status} ${body} ${JSON.stringify(wire)}`);
  assert.equal(JSON.parse(body).metered, true);
  // One unpaid request for the terms, one paid: no corrective 402, no retry.
  assert.equal(wire.length, 2, `call ${i}: ${JSON.stringify(wire)}`);
  assert.equal(wire[1].sent, i === 0 ? "deposit" : "voucher", `call ${i}`);
  const r = wire[1].response;
  assert.equal(r.success, true, JSON.stringify(r));
  assert.equal(r.network, network);
  assert.equal(r.payer.toLowerCase(), payer.toLowerCase());
  assert.equal(r.extra.chargedAmount, price.toString());
  assert.equal(r.extra.channelState.chargedCumulativeAmount, (price * BigInt(i + 1)).toString());
  if (i === 0) {
    assert.match(r.transaction, /^0x[0-9a-f]{64}$/);
    assert.equal(r.amount, deposit.toString());
  } else {
    // A voucher moves nothing: the official server's receipt has both empty.
    assert.equal(r.transaction, "");
    assert.equal(r.amount, "");
  }
}
assert.equal(depositsAsked, 1, "one deposit, then vouchers only");

// A client that lost its channel record starts from the chain (totalClaimed 0), so its voucher
// is behind the merchant's: the official corrective 402 carries the merchant's state and the
// client's own last signature, the client checks and adopts it, and retries once.
const fresh = new BatchSettlementEvmScheme(signer);
const freshClient = new x402Client();
freshClient.register(network, fresh);
freshClient.setSpendControls({ allowedAssets: [{ network, asset }] });
wire.length = 0;
const resynced = await wrapFetchWithPayment(recordingFetch, freshClient)(url);
assert.equal(resynced.status, 200, JSON.stringify(wire));
assert.deepEqual(wire.map((w) => [w.sent, w.status, w.error]), [
  [null, 402, "Payment required"],
  ["voucher", 402, "invalid_batch_settlement_evm_cumulative_amount_mismatch"],
  ["voucher", 200, null],
]);
const charged = price * BigInt(calls + 2);
assert.equal(wire[2].response.extra.channelState.chargedCumulativeAmount, charged.toString());

// The deposit sits in escrow; vouchers moved nothing on chain yet.
let [balance, claimed] = await channel(channelId);
assert.equal(balance, deposit);
assert.equal(claimed, 0n);
assert.equal(await balanceOf(payer), payerBefore - deposit);

// The merchant claims its vouchers and settles to the payee.
execFileSync(settleCommand[0], settleCommand.slice(1), { stdio: "inherit" });
[balance, claimed] = await channel(channelId);
assert.equal(claimed, charged, "claimed on chain = calls x price");
assert.equal(await balanceOf(payee), payeeBefore + charged, "payee received exactly what was charged");

// The official cooperative refund returns the rest (from the client that is in step).
wire.length = 0;
const refund = await fresh.refund(url, { fetch: recordingFetch });
assert.equal(refund.success, true, JSON.stringify(refund));
assert.match(refund.transaction, /^0x[0-9a-f]{64}$/);
assert.equal(refund.amount, (deposit - charged).toString());
assert.equal(refund.extra.channelState.chargedCumulativeAmount, charged.toString());
assert.equal(wire.filter((w) => w.sent === "refund").length, 1, JSON.stringify(wire));
[balance, claimed] = await channel(channelId);
assert.equal(balance - claimed, 0n, "nothing left in the channel");
assert.equal(await balanceOf(payer), payerBefore - charged, "the payer paid exactly the charges");

console.log(JSON.stringify({
  channelId,
  deposit: deposit.toString(),
  calls: calls + 2,
  charged: charged.toString(),
  refunded: (deposit - charged).toString(),
  refund,
}));
