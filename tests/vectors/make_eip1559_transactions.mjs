// Regenerates eip1559_transactions.json with viem (the reference Ethereum library the official
// x402 packages use): run `node make_eip1559_transactions.mjs > eip1559_transactions.json` in a
// folder where `npm install viem@2` has run. The key is Hardhat's published account #0, a test
// key known to everyone: never fund it on a real network.
import { privateKeyToAccount } from "viem/accounts";
import { keccak256, encodeFunctionData, encodeAbiParameters } from "viem";

const key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const account = privateKeyToAccount(key);
const cases = [
  { chainId: 31337, nonce: 0, maxPriorityFeePerGas: 0n, maxFeePerGas: 0n, gas: 200000n,
    to: "0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003", value: 0n, data: "0x" },
  { chainId: 84532, nonce: 7, maxPriorityFeePerGas: 1000000n, maxFeePerGas: 2000000000n, gas: 21000n,
    to: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", value: 1n, data: "0xdeadbeef" },
  { chainId: 8453, nonce: 1023, maxPriorityFeePerGas: 1500000000n, maxFeePerGas: 30000000000n,
    gas: 120000n, to: "0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003", value: 0n,
    data: "0x" + "ab".repeat(100) },
  { chainId: 1, nonce: 123456789, maxPriorityFeePerGas: 2n ** 64n, maxFeePerGas: 2n ** 100n,
    gas: 16777216n, to: "0x0000000000000000000000000000000000000001", value: 10n ** 18n,
    data: "0x00" },
];
const out = [];
for (const c of cases) {
  const raw = await account.signTransaction({ type: "eip1559", accessList: [], ...c });
  out.push({
    chainId: c.chainId, nonce: c.nonce, maxPriorityFeePerGas: c.maxPriorityFeePerGas.toString(),
    maxFeePerGas: c.maxFeePerGas.toString(), gas: c.gas.toString(), to: c.to,
    value: c.value.toString(), data: c.data, raw, hash: keccak256(raw),
  });
}
// The escrow calls a payer makes itself, with the official ABI's shapes (@x402/evm abi.ts).
const configComponents = [
  { name: "payer", type: "address" }, { name: "payerAuthorizer", type: "address" },
  { name: "receiver", type: "address" }, { name: "receiverAuthorizer", type: "address" },
  { name: "token", type: "address" }, { name: "withdrawDelay", type: "uint40" },
  { name: "salt", type: "bytes32" },
];
const abi = [
  { type: "function", name: "deposit", stateMutability: "nonpayable", outputs: [], inputs: [
    { name: "config", type: "tuple", components: configComponents }, { name: "amount", type: "uint128" },
    { name: "collector", type: "address" }, { name: "collectorData", type: "bytes" }] },
  { type: "function", name: "initiateWithdraw", stateMutability: "nonpayable", outputs: [], inputs: [
    { name: "config", type: "tuple", components: configComponents }, { name: "amount", type: "uint128" }] },
  { type: "function", name: "finalizeWithdraw", stateMutability: "nonpayable", outputs: [], inputs: [
    { name: "config", type: "tuple", components: configComponents }] },
];
const config = {
  payer: account.address, payerAuthorizer: account.address,
  receiver: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
  receiverAuthorizer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  token: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", withdrawDelay: 900,
  salt: "0x00000000000000000000000000000000000000000000000000000000000000a5",
};
const signature = "0x" + "11".repeat(32) + "22".repeat(32) + "1b";
const collectorData = encodeAbiParameters(
  [{ type: "uint256" }, { type: "uint256" }, { type: "uint256" }, { type: "bytes" }],
  [0n, 1900000000n, 42n, signature]);
const escrowCalls = {
  config, collector: "0x4020806089470a89826cB9fB1f4059150b550004",
  collectorData: { validAfter: "0", validBefore: "1900000000", salt: "42", signature, encoded: collectorData },
  deposit: { amount: "5000000", data: encodeFunctionData({ abi, functionName: "deposit",
    args: [config, 5000000n, "0x4020806089470a89826cB9fB1f4059150b550004", collectorData] }) },
  initiateWithdraw: { amount: "1234567", data: encodeFunctionData({ abi, functionName: "initiateWithdraw",
    args: [config, 1234567n] }) },
  finalizeWithdraw: { data: encodeFunctionData({ abi, functionName: "finalizeWithdraw", args: [config] }) },
};
console.log(JSON.stringify({ generator: "viem " + (await import("viem/package.json", { with: { type: "json" } })).default.version,
  key: "hardhat #0", sender: account.address, transactions: out, escrowCalls }, null, 2));
