// What the payment flow's files share: small helpers over headers and receipts, and the state of
// one payment between its signature and its answer.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "purser/protocol/amount.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/proxy/payment_flow.hpp"
#include "purser/store/money.hpp"
#include "purser/store/text.hpp"

namespace purser::proxy {
namespace detail::flow {

using store::reason;

inline std::optional<std::string_view> find_header(const header_list& headers, std::string_view name) {
    for (const auto& [k, v] : headers) {
        if (k.size() != name.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < k.size() && same; ++i) {
            same = std::tolower(static_cast<unsigned char>(k[i])) ==
                   std::tolower(static_cast<unsigned char>(name[i]));
        }
        if (same) return std::string_view(v);
    }
    return std::nullopt;
}

// A 402 is "x402" when it carries PAYMENT-REQUIRED or its body is a JSON object naming an
// x402Version. Anything else (a plain paywall, another protocol) passes through untouched.
inline bool looks_like_x402(const upstream_response& response) {
    if (find_header(response.headers, "PAYMENT-REQUIRED")) return true;
    if (response.body.size() > protocol::max_body_bytes) return false;
    auto j = nlohmann::json::parse(response.body, nullptr, false);
    return !j.is_discarded() && j.is_object() && j.contains("x402Version");
}

inline std::string usd_text(store::usd_micros micros) {
    return protocol::format_units(protocol::uint256(micros), store::usd_decimals);
}

inline std::string remaining_text(const std::optional<store::usd_micros>& allowance) {
    return allowance ? usd_text(*allowance) + " USD" : "unlimited";
}

inline std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The URL the ledger keeps: API keys and tokens often travel in query strings, and the ledger
// is read by people who should not see them.
inline std::string without_query(std::string_view url) {
    return std::string(url.substr(0, url.find_first_of("?#")));
}

inline store::reserve_request facts_of(const request_info& request) {
    store::reserve_request facts;
    facts.agent = request.agent;
    facts.method = request.method;
    facts.url = without_query(request.url);
    facts.host = lower(request.host);
    return facts;
}

/// Token units as configured ("1.00"), in atomic units of a token with `decimals`.
inline result<std::optional<protocol::uint256>> configured_units(const std::string& text,
                                                                 unsigned decimals,
                                                                 std::string_view key) {
    if (text.empty()) return std::optional<protocol::uint256>{};
    auto v = protocol::parse_units(text, decimals);
    if (!v) {
        return fail(protocol::errc::invalid_value,
                    "payment.iou." + std::string(key) + ": " + v.error().message());
    }
    return std::optional<protocol::uint256>{*v};
}

inline std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) out += "; ";
        out += p;
    }
    return out;
}


// An EVM transaction hash: 0x and 64 hex digits. Anything else in a receipt is not one, whatever
// the merchant calls it, and never reaches a header or the ledger's tx column.
inline bool is_tx_hash(std::string_view text) {
    if (text.size() != 66 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return false;
    for (char c : text.substr(2)) {
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return false;
    }
    return true;
}

// The networks this flow pays on: the configured list, else every known network but the local
// testnet; the testnet only when configured.
inline std::set<std::string> payable_networks(const payment_flow_options& o,
                                       const protocol::network_registry& registry) {
    std::set<std::string> out = o.networks;
    if (out.empty()) {
        for (const auto& net : registry.all()) {
            if (net.chain_id == protocol::testnet_chain_id) continue;
            out.insert(net.caip2);
            if (!net.v1_name.empty()) out.insert(net.v1_name);
        }
    }
    if (o.testnet) {
        out.insert(std::string(protocol::testnet_caip2));
        out.insert(std::string(protocol::testnet_v1_name));
    } else {
        out.erase(std::string(protocol::testnet_caip2));
        out.erase(std::string(protocol::testnet_v1_name));
    }
    return out;
}

// What a receipt claims that disagrees with what was signed: recorded, never counted.
inline std::string receipt_disagreements(const protocol::settle_response& receipt,
                                  const protocol::uint256& signed_amount,
                                  const std::string& payer, const protocol::network_info* net) {
    // Each claim quoted short, so every disagreement fits in the row's bounded detail.
    auto quoted = [](const std::string& merchant_text) { return store::bounded_text(merchant_text, 40); };
    std::vector<std::string> notes;
    if (receipt.amount && *receipt.amount != signed_amount) {
        notes.push_back("receipt amount " + quoted(receipt.amount->to_decimal()) + " but " +
                        signed_amount.to_decimal() + " signed (counted)");
    }
    if (!receipt.payer.empty() && !payer.empty() &&
        lower(receipt.payer) != lower(payer)) {
        notes.push_back("receipt payer " + quoted(receipt.payer) + " is not the signer");
    }
    if (!receipt.network.empty() && net != nullptr && receipt.network != net->caip2 &&
        receipt.network != net->v1_name) {
        notes.push_back("receipt network " + quoted(receipt.network) + " is not " + net->caip2);
    }
    if (!is_tx_hash(receipt.transaction)) {
        notes.push_back("receipt transaction is not a 32-byte hash: " + quoted(receipt.transaction));
    }
    return join(notes);
}


/// The store could not decide (disk full, LMDB failure): declined, never paid without a record.
inline payment_plan store_error_plan(const error& e) {
    payment_plan plan;
    plan.what = payment_plan::action::decline;
    plan.add_response_headers.emplace_back("Purser-Decision", "declined; reason=store_unavailable");
    plan.log_fields.emplace_back("decision", "declined");
    plan.log_fields.emplace_back("reason", "store_unavailable");
    plan.log_fields.emplace_back("store_error", e.message());
    return plan;
}

/// The store's policy said no (its row is written): the agent learns the reason, the row and what
/// it has left. `more` is appended to Purser-Decision (e.g. "; channel=0x...").
/// The longest a rate-limited decline is held: long enough that retrying at once costs an agent
/// about one answer a second per connection, short enough that no client times out meanwhile.
inline constexpr std::chrono::milliseconds rate_limited_hold{1000};

inline payment_plan refusal_plan(const store::decision& verdict, const std::string& more = {}) {
    payment_plan plan;
    plan.what = payment_plan::action::decline;
    const std::string code(store::to_string(*verdict.why));
    plan.add_response_headers.emplace_back(
        "Purser-Decision",
        "declined; reason=" + code + "; ledger=" + std::to_string(verdict.ledger_id) + more);
    plan.add_response_headers.emplace_back("Purser-Remaining",
                                           remaining_text(verdict.allowance_remaining));
    plan.log_fields.emplace_back("decision", "declined");
    plan.log_fields.emplace_back("reason", code);
    plan.log_fields.emplace_back("ledger_id", std::to_string(verdict.ledger_id));
    if (verdict.retry_after_ms > 0) {
        plan.retry_after_s = (verdict.retry_after_ms + 999) / 1000;
        plan.hold = std::min(std::chrono::milliseconds(verdict.retry_after_ms), rate_limited_hold);
    }
    return plan;
}

/// Signing failed after the reservation (which the caller released): declined wallet_locked.
inline payment_plan signing_failed_plan(std::uint64_t reservation_id, const std::string& why) {
    payment_plan plan;
    plan.what = payment_plan::action::decline;
    plan.add_response_headers.emplace_back(
        "Purser-Decision", "declined; reason=wallet_locked; ledger=" + std::to_string(reservation_id));
    plan.log_fields.emplace_back("decision", "declined");
    plan.log_fields.emplace_back("reason", "wallet_locked");
    plan.log_fields.emplace_back("sign_error", why);
    return plan;
}

}  // namespace detail::flow

/// One signed payment waiting for the retry's answer.
struct payment_flow::pending {
    std::uint64_t reservation_id = 0;
    protocol::uint256 signed_amount;  ///< The authorization's value: what is counted.
    std::string amount_text;          ///< "0.001 USDC"
    std::string network;              ///< The offer's network, as the registry names it (CAIP-2).
    const protocol::network_info* net = nullptr;
    std::string payer;
    std::chrono::steady_clock::time_point sent_at;

    // batch-settlement only (voucher is true):
    bool voucher = false;
    std::uint64_t deposit_id = 0;       ///< The deposit's row, 0 = none sent.
    protocol::uint256 price;            ///< The offer's amount.
    protocol::uint256 base;             ///< The channel's charged cumulative the voucher built on.
    protocol::uint256 max_claimable;    ///< The voucher signed.
    std::string signature;              ///< Its signature (0x hex).
    std::string channel_id;
    protocol::address signer_address;
    /// Signs the next voucher for the same request on the same channel (the gate still held):
    /// what a recovered corrective 402 is answered with, once.
    std::function<payment_plan()> replan;
    bool is_retry = false;  ///< This voucher is already that one retry.
};

template <class T>
void payment_flow::after_signing(const result<T>& written, std::uint64_t reservation_id,
                                 std::string_view what) {
    if (written) {
        if constexpr (std::is_same_v<T, store::ledger_row>) note(*written);
        return;
    }
    ledger_errors_after_signing_.fetch_add(1);
    // One write, so concurrent failures do not interleave mid-line.
    std::cerr << ("purser: LEDGER ERROR after signing: reservation " +
                  std::to_string(reservation_id) + " could not be marked " + std::string(what) +
                  ": " + written.error().message() +
                  " (the payment stays counted as reserved; run `purser ledger reconcile`)\n");
}

}  // namespace purser::proxy
