// Why a payment was declined: the reason codes of DESIGN.md, as one enum with one spelling each.
#pragma once

#include <optional>
#include <string_view>

namespace purser::store {

/// Every decline carries exactly one of these, in the ledger and in `Purser-Decision`. The store
/// produces the policy codes itself; the proxy produces the others and records them through
/// `store::record_decline`, so every decision leaves a ledger row (invariant 7).
enum class reason {
    agent_unknown = 1,           ///< No agent by that name.
    agent_frozen,                ///< The agent exists but is frozen.
    per_request_limit_exceeded,  ///< One payment above the agent's per-request maximum.
    daily_limit_exceeded,        ///< Today's (UTC) spend plus this payment is above the daily cap.
    monthly_limit_exceeded,      ///< This UTC calendar month's spend would pass the monthly cap.
    lifetime_limit_exceeded,     ///< The agent's spend ever would pass its lifetime cap.
    insufficient_allowance,      ///< The prepaid allowance left is below this payment.
    in_flight_limit_exceeded,    ///< Signed-but-unsettled value would pass the in-flight limit.
    rate_limited,                ///< Too many payments in the last 60 seconds.
    host_not_allowed,            ///< The host matches a deny pattern or no allow pattern, or
                                 ///< is not one host (numeric text that is no single address).
    network_not_allowed,         ///< The offer's network is not on the agent's allow-list.
    asset_not_allowed,           ///< Asset not on the allow-list, or without a known USD peg.
    no_supported_offer,          ///< (proxy) No offer in the 402 can be paid by this wallet.
    price_changed,               ///< (proxy) The retried request asked for a different price.
    body_too_large_to_replay,    ///< (proxy) The request body is over the replay buffer limit.
    wallet_locked,               ///< (proxy) No unlocked key to sign with.
    iou_insufficient,            ///< (proxy/iou) The channel's deposit does not cover the voucher.
    store_unavailable,           ///< (proxy) The store could not decide or record: fail closed.
    iou_quarantined,             ///< (iou) The merchant broke the channel's rules (a charge above
                                 ///< the offer, a state that does not continue what was signed):
                                 ///< no further vouchers go to that channel.
    budget_unavailable,          ///< A fleet budget the agent draws from has no local lease
                                 ///< headroom for this payment (spent, not yet refilled, or the
                                 ///< fleet database is out of reach): fail closed.
};

/// All codes, in declaration order (for tests and help text).
inline constexpr reason all_reasons[] = {
    reason::agent_unknown,          reason::agent_frozen,
    reason::per_request_limit_exceeded, reason::daily_limit_exceeded,
    reason::monthly_limit_exceeded, reason::lifetime_limit_exceeded,
    reason::insufficient_allowance, reason::in_flight_limit_exceeded,
    reason::rate_limited,           reason::host_not_allowed,
    reason::network_not_allowed,    reason::asset_not_allowed,
    reason::no_supported_offer,     reason::price_changed,
    reason::body_too_large_to_replay, reason::wallet_locked,
    reason::iou_insufficient,       reason::store_unavailable,
    reason::iou_quarantined,        reason::budget_unavailable,
};

/// The snake_case code as DESIGN.md spells it ("daily_limit_exceeded").
[[nodiscard]] std::string_view to_string(reason r) noexcept;
/// The inverse of to_string; nullopt for anything else (case-sensitive).
[[nodiscard]] std::optional<reason> reason_from_string(std::string_view text) noexcept;

}  // namespace purser::store
