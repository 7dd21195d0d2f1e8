// Chain reads over JSON-RPC that more than one user needs: eth_chainId, uint256-returning
// eth_calls, and EIP-3009's authorizationState (how `ledger reconcile` finds settlement evidence,
// and how the proxy may release a signed payment only on proof from the chain).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "purser/chain/json_rpc.hpp"
#include "purser/protocol/address.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/uint256.hpp"

namespace purser::chain {

/// A JSON-RPC quantity or word ("0x1a", "0x00..01") as a uint256. Errors: wrong_type,
/// invalid_hex, overflow; `what` names the value.
[[nodiscard]] result<protocol::uint256> hex_quantity(const nlohmann::json& j, std::string_view what);

/// An address as one 32-byte ABI argument word in hex (no 0x): 24 zero digits, then its 40.
[[nodiscard]] std::string abi_address(const protocol::address& a);

/// eth_call at "latest" whose answer is one uint256 word. An empty answer ("0x": no contract
/// there) is an error that says so. Errors: as json_rpc_client::call(), and as hex_quantity().
[[nodiscard]] result<protocol::uint256> eth_call_uint(const json_rpc_client& rpc,
                                                      const protocol::address& to,
                                                      const std::string& data,
                                                      std::string_view what);

/// eth_chainId as an integer. Errors: as call(), or overflow past 64 bits.
[[nodiscard]] result<std::uint64_t> rpc_chain_id(const json_rpc_client& rpc);

/// EIP-3009 authorizationState(authorizer, nonce) on `token`: true once the nonce has been used
/// by a transfer (or canceled, which Purser never does). Errors: as eth_call_uint(), or
/// invalid_value when the answer is not 0 or 1.
[[nodiscard]] result<bool> authorization_used(const json_rpc_client& rpc,
                                              const protocol::address& token,
                                              const protocol::address& authorizer,
                                              const protocol::bytes32& nonce);

/// What the batch-settlement escrow holds for one channel (x402BatchSettlement.channels).
struct escrow_channel {
    protocol::uint256 balance;        ///< Deposited and not withdrawn or refunded.
    protocol::uint256 total_claimed;  ///< Claimed by the receiver so far.
};

/// channels(channelId) on the escrow at `escrow`. Errors: as json_rpc_client::call(), and
/// invalid_value for an answer that is not two words.
[[nodiscard]] result<escrow_channel> read_escrow_channel(const json_rpc_client& rpc,
                                                         const protocol::address& escrow,
                                                         const protocol::bytes32& channel_id);

/// A timed withdrawal the payer started (x402BatchSettlement.pendingWithdrawals).
struct pending_withdrawal {
    protocol::uint256 amount;           ///< 0: none pending.
    std::uint64_t requested_at = 0;     ///< Block time it was started, unix seconds.
};

/// pendingWithdrawals(channelId) on the escrow at `escrow`. Errors: as read_escrow_channel.
[[nodiscard]] result<pending_withdrawal> read_pending_withdrawal(const json_rpc_client& rpc,
                                                                 const protocol::address& escrow,
                                                                 const protocol::bytes32& channel_id);

/// The latest block's timestamp: the clock a withdrawal delay is measured by.
/// Errors: as call(), missing_field when the block has no timestamp.
[[nodiscard]] result<std::uint64_t> latest_block_time(const json_rpc_client& rpc);

}  // namespace purser::chain
