// IOU channels: the batch-settlement escrow channels (x402.md §5.2) this wallet pays into, as the
// store keeps them. A voucher lets the merchant claim up to its maxClaimableAmount whenever it
// likes, and a newer voucher does not take that back, so what a channel exposes is the highest
// amount ever signed on it: that, not what the merchant says it charged, is what agents' caps
// and the channel's balance are charged with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "purser/protocol/uint256.hpp"

namespace purser::store {

enum class channel_state : std::uint8_t {
    open = 1,     ///< Vouchers may be signed.
    withdrawing,  ///< A timed withdrawal was started: no further vouchers.
    closed,       ///< Refunded or withdrawn: nothing left in escrow.
    quarantined,  ///< The merchant broke the channel's rules: no further vouchers (note says why).
};

[[nodiscard]] std::string_view to_string(channel_state s) noexcept;

/// One channel. Amounts are atomic units of the channel's token.
struct channel {
    std::string id;                   ///< 0x + 64 lowercase hex: EIP-712 hash of the config.
    std::string network;              ///< CAIP-2.
    std::string token;                ///< Token address.
    unsigned decimals = 6;
    std::string payer;                ///< Also the payer authorizer (the wallet's address).
    std::string receiver;             ///< The merchant's payTo.
    std::string receiver_authorizer;
    std::uint64_t withdraw_delay = 0; ///< Seconds.
    std::string salt;                 ///< 0x + 64 hex.
    std::string merchant;             ///< Host of the first payment (what `--merchant` matches).
    protocol::uint256 deposited;      ///< Deposits known to have reached the escrow.
    protocol::uint256 deposit_pending;///< Deposits signed whose outcome is not known yet.
    protocol::uint256 claimed;        ///< The escrow's totalClaimed, as last seen.
    protocol::uint256 charged;        ///< The merchant's chargedCumulativeAmount, as last seen:
                                      ///< the next voucher is this plus the price.
    protocol::uint256 signed_max;     ///< Highest maxClaimableAmount ever signed: the exposure.
    std::string signature;            ///< The signature of signed_max (0x hex); "" before one
                                      ///< is confirmed sent.
    channel_state state = channel_state::open;
    std::string note;                 ///< Why it was quarantined (bounded merchant text quoted).
    std::uint64_t updated_ms = 0;
    std::uint64_t in_flight = 0;      ///< Ledger id of the voucher awaiting its answer, 0 = none.

    /// What the merchant may still claim beyond what it claimed: signed_max - claimed.
    [[nodiscard]] protocol::uint256 exposure() const;
    /// What new vouchers can still draw on: deposited - signed_max (0 when signed above it).
    [[nodiscard]] protocol::uint256 available() const;
};

/// What choosing among a merchant's channels needs of each (store::get_channel_funds): its
/// amounts and state, read without the text fields a full record carries.
struct channel_funds {
    protocol::uint256 deposited;        ///< as channel::deposited
    protocol::uint256 deposit_pending;  ///< as channel::deposit_pending
    protocol::uint256 charged;          ///< as channel::charged
    channel_state state = channel_state::open;
};

/// The IOU part of a reservation (reserve_request::voucher). The agent's row counts the increase
/// of the channel's highest signed amount, computed inside the reservation's transaction.
struct voucher_request {
    channel fresh;                    ///< The channel as created when the store has none yet
                                      ///< (config fields; amounts zero).
    protocol::uint256 max_claimable;  ///< The voucher about to be signed.
    protocol::uint256 deposit;        ///< Deposit signed with it; 0 = none.
    std::string deposit_nonce;        ///< The deposit authorization's nonce (hex).
    std::uint64_t deposit_expires_at = 0;  ///< Its validBefore, unix seconds.
    /// Caps on escrow: what one channel may hold, and all open channels together (their deposits
    /// less what was claimed). A deposit past either declines iou_insufficient.
    std::optional<protocol::uint256> channel_cap;
    std::optional<protocol::uint256> total_cap;
};

/// What the merchant's answer to a paid voucher said, checked by the payment flow first.
struct voucher_settlement {
    std::string signature;            ///< The voucher's signature (it left the process).
    protocol::uint256 max_claimable;  ///< The voucher signed.
    std::optional<protocol::uint256> charged;   ///< channelState.chargedCumulativeAmount.
    std::optional<protocol::uint256> claimed;   ///< channelState.totalClaimed.
    std::optional<protocol::uint256> charged_amount;  ///< extra.chargedAmount (recorded only).
    bool deposit_landed = false;      ///< The deposit settled (a transaction in the receipt).
    std::string deposit_tx;
    std::uint16_t merchant_status = 0;
    std::uint32_t latency_ms = 0;
};

}  // namespace purser::store
