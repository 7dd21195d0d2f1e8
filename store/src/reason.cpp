#include "purser/store/reason.hpp"

#include "purser/store/ledger.hpp"

namespace purser::store {

std::string_view to_string(reason r) noexcept {
    switch (r) {
        case reason::agent_unknown: return "agent_unknown";
        case reason::agent_frozen: return "agent_frozen";
        case reason::per_request_limit_exceeded: return "per_request_limit_exceeded";
        case reason::daily_limit_exceeded: return "daily_limit_exceeded";
        case reason::monthly_limit_exceeded: return "monthly_limit_exceeded";
        case reason::lifetime_limit_exceeded: return "lifetime_limit_exceeded";
        case reason::insufficient_allowance: return "insufficient_allowance";
        case reason::in_flight_limit_exceeded: return "in_flight_limit_exceeded";
        case reason::rate_limited: return "rate_limited";
        case reason::host_not_allowed: return "host_not_allowed";
        case reason::network_not_allowed: return "network_not_allowed";
        case reason::asset_not_allowed: return "asset_not_allowed";
        case reason::no_supported_offer: return "no_supported_offer";
        case reason::price_changed: return "price_changed";
        case reason::body_too_large_to_replay: return "body_too_large_to_replay";
        case reason::wallet_locked: return "wallet_locked";
        case reason::iou_insufficient: return "iou_insufficient";
        case reason::store_unavailable: return "store_unavailable";
        case reason::iou_quarantined: return "iou_quarantined";
        case reason::budget_unavailable: return "budget_unavailable";
    }
    return "unknown";
}

std::optional<reason> reason_from_string(std::string_view text) noexcept {
    for (reason r : all_reasons) {
        if (to_string(r) == text) return r;
    }
    return std::nullopt;
}

std::string_view to_string(status s) noexcept {
    switch (s) {
        case status::reserved: return "reserved";
        case status::paid: return "paid";
        case status::failed: return "failed";
        case status::in_doubt: return "in_doubt";
        case status::expired: return "expired";
        case status::declined: return "declined";
        case status::released: return "released";
    }
    return "unknown";
}

std::optional<status> status_from_string(std::string_view text) noexcept {
    for (status s : {status::reserved, status::paid, status::failed, status::in_doubt,
                     status::expired, status::declined, status::released}) {
        if (to_string(s) == text) return s;
    }
    return std::nullopt;
}

bool is_open(status s) noexcept {
    return s == status::reserved || s == status::failed || s == status::in_doubt;
}

usd_micros ledger_row::counted_usd() const noexcept {
    // A deposit moves wallet money into escrow; the agent is charged by the vouchers drawn on it.
    if (kind == row_kind::deposit) return 0;
    if (is_open(state)) return amount_usd;
    if (state == status::paid) return charged_usd;
    return 0;
}

}  // namespace purser::store
