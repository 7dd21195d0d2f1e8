// The x402 `batch-settlement` scheme on EVM (x402.md §5.2): channel config and id, cumulative
// vouchers, the ERC-3009 deposit authorization, refunds, and the payload objects carrying them.
#pragma once

#include <cstdint>
#include <optional>

#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/wallet/keys.hpp"
#include "purser/wallet/signer.hpp"

namespace purser::wallet {

/// Bounds the escrow contract enforces on withdrawDelay (seconds).
inline constexpr std::uint64_t min_withdraw_delay = 900;
inline constexpr std::uint64_t max_withdraw_delay = 2592000;

/// A batch-settlement offer resolved for signing.
struct batch_channel {
    std::uint64_t chain_id = 0;
    protocol::channel_config config;
    protocol::bytes32 id{};                ///< channelId = EIP-712 hash of config.
    protocol::eip712_domain token_domain;  ///< extra.name/version, chain id, asset (for deposits).
};

/// The channel an offer describes for payer `payer` (payer = payerAuthorizer = the signer),
/// receiver = payTo, receiverAuthorizer = extra.receiverAuthorizer (non-zero), token = asset,
/// withdrawDelay = extra.withdrawDelay (900..2592000; number or decimal string), salt `salt`
/// (default 0, the official client's default channel).
/// Errors: unsupported_offer (scheme not batch-settlement, unknown network, missing or bad
/// extra fields; the detail names the field).
[[nodiscard]] result<batch_channel> make_batch_channel(const protocol::address& payer,
                                                       const protocol::payment_requirements& offer,
                                                       const protocol::network_registry& registry,
                                                       const protocol::bytes32& salt = {});

/// The salt of the `index`-th channel a payer keeps with one receiver and token: the index as a
/// big-endian integer. Channel 0 is the official client's default (salt 0), and every channel
/// can be found again on chain from the offer alone after local state is lost.
[[nodiscard]] protocol::bytes32 indexed_salt(std::uint32_t index);

/// `channel` with salt `salt`, its id recomputed.
[[nodiscard]] batch_channel with_salt(batch_channel channel, const protocol::bytes32& salt);

/// A signed cumulative voucher.
struct signed_voucher {
    protocol::bytes32 channel_id{};
    protocol::uint256 max_claimable;  ///< Cumulative, fits uint128.
    signature sig;
};

/// Signs Voucher(channelId, maxClaimableAmount) in the batch domain of `chain_id`.
/// Errors: unsupported_offer (amount above uint128), the signer's errors.
[[nodiscard]] result<signed_voucher> sign_voucher(signer& s, std::uint64_t chain_id,
                                                  const protocol::bytes32& channel_id,
                                                  const protocol::uint256& max_claimable);

/// Signs Refund(channelId, nonce, amount) in the batch domain (the receiver authorizer signs
/// these). Errors: unsupported_offer (amount above uint128), the signer's errors.
[[nodiscard]] result<signature> sign_refund(signer& s, std::uint64_t chain_id,
                                            const protocol::bytes32& channel_id,
                                            const protocol::uint256& nonce,
                                            const protocol::uint256& amount);

/// A signed ReceiveWithAuthorization moving `amount` from the payer to the ERC-3009 deposit
/// collector, nonce = keccak256(abi.encode(channelId, salt)).
struct signed_deposit {
    protocol::uint256 amount;
    protocol::bytes32 salt{};
    std::uint64_t valid_after = 0;
    std::uint64_t valid_before = 0;
    protocol::transfer_authorization authorization;
    signature sig;
};

struct deposit_options {
    std::optional<protocol::bytes32> salt;  ///< Default: 32 bytes from the CSPRNG.
    std::uint64_t valid_before = 0;         ///< Unix seconds; must be > 0.
};

/// Signs the deposit authorization for `channel` on the token's own domain.
/// Errors: unsupported_offer (zero amount or valid_before), rng_failed, the signer's errors.
[[nodiscard]] result<signed_deposit> sign_deposit(signer& s, const batch_channel& channel,
                                                  const protocol::uint256& amount,
                                                  const deposit_options& options);

/// {type:"voucher", channelConfig, voucher:{channelId, maxClaimableAmount, signature}}
[[nodiscard]] protocol::ojson voucher_payload(const batch_channel& channel,
                                              const signed_voucher& voucher);

/// The voucher payload with type "deposit" plus
/// deposit:{amount, authorization:{erc3009Authorization:{validAfter, validBefore, salt,
/// signature}}}.
[[nodiscard]] protocol::ojson deposit_payload(const batch_channel& channel,
                                              const signed_voucher& voucher,
                                              const signed_deposit& deposit);

}  // namespace purser::wallet
