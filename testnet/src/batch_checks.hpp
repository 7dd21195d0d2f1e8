// The batch-settlement checks the facilitator's /verify and the merchant's own voucher
// verification share (EVM binding: a channel config against the offer, a voucher's signature),
// so both judge a voucher by one rule.
#pragma once

#include <optional>
#include <string>

#include "purser/protocol/address.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/uint256.hpp"
#include "purser/protocol/x402_types.hpp"

namespace purser::testnet::detail {

/// What an offer asks of a channel; a field the offer lacks or garbles is empty.
struct channel_terms {
    std::optional<protocol::address> token;
    std::optional<protocol::address> receiver;
    std::optional<protocol::address> receiver_authorizer;
    std::optional<protocol::uint256> withdraw_delay;
};

/// Why `cfg`, sent as channel `id`, does not fit `terms`: the tail of an
/// `invalid_batch_settlement_evm_*` code (channel_id_mismatch, token_mismatch, receiver_mismatch,
/// receiver_authorizer_mismatch, withdraw_delay_mismatch, withdraw_delay_out_of_range);
/// nullopt when it fits.
[[nodiscard]] std::optional<std::string> channel_config_mismatch(std::uint64_t chain_id,
                                                                 const protocol::channel_config& cfg,
                                                                 const protocol::bytes32& id,
                                                                 const channel_terms& terms);

/// channel_config_mismatch without the channel id check (the caller has proven the id): the
/// config's terms against the offer's.
[[nodiscard]] std::optional<std::string> channel_terms_mismatch(const protocol::channel_config& cfg,
                                                                const channel_terms& terms);

/// Whether `signature` over Voucher(id, max) recovers to the channel's payer authorizer (the
/// payer itself when the authorizer is zero). False for an amount above uint128.
[[nodiscard]] bool voucher_signed_by_payer(std::uint64_t chain_id, const protocol::channel_config& cfg,
                                           const protocol::bytes32& id, const protocol::uint256& max,
                                           protocol::byte_view signature);

}  // namespace purser::testnet::detail
