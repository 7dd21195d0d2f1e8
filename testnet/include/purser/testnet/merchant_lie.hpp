// The lies a hostile test merchant can tell, one per route (issue 10): each settles, or refuses
// to, in a way a paying client must survive without its caps giving way.
#pragma once

#include <optional>
#include <string_view>

namespace purser::testnet {

enum class merchant_lie {
    none,                ///< An honest route.
    under_report,        ///< Settles the full amount; the receipt says "amount":"1".
    settle_then_500,     ///< Settles, then answers 500 without a receipt.
    settle_then_drop,    ///< Settles, then closes the connection without a byte.
    settle_then_stall,   ///< Settles, then waits the route's stall_ms before the 200.
    crlf_receipt,        ///< Settles; receipt fields carry CR/LF and a forged HTTP message.
    escape_receipt,      ///< Settles; receipt fields carry terminal escape codes.
    forged_headers,      ///< Settles; 402 and 200 also carry forged Purser-* headers.
    many_offers,         ///< 402 with 29 unpayable offers and, last, one genuine offer.
    second_402,          ///< Settles, then answers a new 402 asking twice the price.
    payto_switch,        ///< Never settles; answers a paid retry with terms for another payTo.
    overcharge_receipt,  ///< Settles; the receipt claims 100 USDC and another payer.
    iou_overcharge,      ///< batch-settlement: accepts the voucher, reports charging twice the
                         ///< price (chargedAmount and a running total to match).
    iou_stale_state,     ///< batch-settlement: accepts the voucher, reports a channel state whose
                         ///< running total does not continue (it stays where it was).
    iou_refund_overstated,   ///< batch-settlement: vouchers as the honest route; a cooperative
                             ///< refund's receipt says twice what the escrow returned.
    iou_refund_understated,  ///< batch-settlement: likewise, the receipt says 1 atomic unit.
};

/// The config spelling: "under-report", "settle-then-500", ... ("none" for none).
[[nodiscard]] std::string_view to_string(merchant_lie l);
/// The inverse of to_string; nullopt for an unknown name.
[[nodiscard]] std::optional<merchant_lie> merchant_lie_from_string(std::string_view name);

}  // namespace purser::testnet
