// Call data for the payer's own transactions to the batch-settlement escrow (the official ABI of
// x402BatchSettlement, @x402/evm batch-settlement/abi.ts): deposit, initiateWithdraw and
// finalizeWithdraw. The CLI encodes them; the testnet chain decodes them from signed
// transactions, so decoding is strict (exact lengths, clean padding, canonical offsets).
#pragma once

#include <string_view>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/result.hpp"
#include "purser/protocol/uint256.hpp"
#include "purser/protocol/x402_types.hpp"

namespace purser::protocol::escrow {

/// The ERC-3009 deposit collector's data: abi.encode(uint256 validAfter, uint256 validBefore,
/// uint256 salt, bytes signature).
struct erc3009_collector_data {
    uint256 valid_after;
    uint256 valid_before;
    uint256 salt;
    bytes signature;
};

enum class call_kind { deposit, initiate_withdraw, finalize_withdraw };

struct call {
    call_kind kind = call_kind::deposit;
    channel_config config;
    uint256 amount;        ///< deposit and initiateWithdraw (uint128).
    address collector;     ///< deposit only.
    bytes collector_data;  ///< deposit only.
};

/// deposit(ChannelConfig config, uint128 amount, address collector, bytes collectorData).
/// Precondition: amount fits 128 bits (checked by the caller, as the contract would revert).
[[nodiscard]] bytes encode_deposit(const channel_config& config, const uint256& amount,
                                   const address& collector, byte_view collector_data);
/// initiateWithdraw(ChannelConfig config, uint128 amount).
[[nodiscard]] bytes encode_initiate_withdraw(const channel_config& config, const uint256& amount);
/// finalizeWithdraw(ChannelConfig config).
[[nodiscard]] bytes encode_finalize_withdraw(const channel_config& config);
[[nodiscard]] bytes encode_collector_data(const erc3009_collector_data& d);

/// Reads call data for one of the three functions above.
/// Errors: invalid_value (unknown selector, wrong length, dirty padding, a value above its type,
/// a non-canonical offset).
[[nodiscard]] result<call> decode_call(byte_view data);
/// Errors: as decode_call.
[[nodiscard]] result<erc3009_collector_data> decode_collector_data(byte_view data);

}  // namespace purser::protocol::escrow
