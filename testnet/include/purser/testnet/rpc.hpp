// The Ethereum JSON-RPC subset real tools need, over the simulated chain:
// eth_chainId, eth_blockNumber, eth_call (balanceOf, authorizationState, totalSupply on the token;
// channels, pendingWithdrawals, refundNonce (bytes32) on the batch-settlement escrow),
// eth_getTransactionReceipt, and the testnet_mint faucet ([address, atomicAmountDecimalString] -> tx hash).
#pragma once

#include <nlohmann/json.hpp>

#include "purser/testnet/chain.hpp"
#include "purser/testnet/http.hpp"

namespace purser::testnet {

/// Function selectors (first 4 bytes of keccak256 of the signature), as hex without 0x.
inline constexpr const char* selector_balance_of = "70a08231";
inline constexpr const char* selector_authorization_state = "e94a0102";
inline constexpr const char* selector_total_supply = "18160ddd";
/// The escrow's views, as in the official ABI (each 32-byte ABI words):
/// channels(bytes32) -> (uint128 balance, uint128 totalClaimed);
/// pendingWithdrawals(bytes32) -> (uint128 amount, uint40 initiatedAt);
/// refundNonce(bytes32) -> uint256.
[[nodiscard]] std::string selector_channels();
[[nodiscard]] std::string selector_pending_withdrawals();
[[nodiscard]] std::string selector_refund_nonce();

/// Handles one JSON-RPC 2.0 request object (or a batch array). Errors come back as JSON-RPC
/// error objects: -32700 parse, -32600 invalid request, -32601 unknown method, -32602 bad
/// params, -32000 execution failure (with the chain's message).
[[nodiscard]] nlohmann::json handle_rpc(chain& c, const nlohmann::json& request);

/// POST / with a JSON body -> handle_rpc; anything else 404/405.
[[nodiscard]] http_handler rpc_http_handler(chain& c);

}  // namespace purser::testnet
