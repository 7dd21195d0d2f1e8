// The `exact` scheme in the payment flow (x402.md §5.1): one EIP-3009 authorization per call,
// its nonce and validity window fixed and reserved before it is signed, and the merchant's
// receipt read afterwards. The flow (payment_flow.cpp) parses the terms, chooses the offer and
// fills the ledger facts; this unit reserves, signs and interprets the answer, as
// payment_voucher.cpp does for batch-settlement.
//
// What is counted is the signed value: an `exact` authorization moves exactly its value or
// nothing, so a receipt's own figure is checked against it, never adopted.
#include <algorithm>
#include <chrono>

#include "payment_flow_detail.hpp"
#include "purser/protocol/amount.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/store/store.hpp"
#include "purser/wallet/exact.hpp"
#include "purser/wallet/keys.hpp"
#include "purser/wallet/signer.hpp"

namespace purser::proxy {

using namespace detail::flow;

payment_plan payment_flow::pay_exact(store::reserve_request facts,
                                     const protocol::payment_required& required,
                                     const protocol::candidate& best) {
    const protocol::payment_requirements& offer = *best.offer;
    // Fix the nonce and the validity window before reserving, so the ledger row names the exact
    // authorization that may later exist (a crash after signing leaves a findable record).
    wallet::exact_options sign_options;
    sign_options.registry = registry_.get();
    sign_options.max_window_seconds = options_.max_window_seconds;
    const std::uint64_t now_s = now();
    sign_options.now = now_s;
    protocol::bytes32 nonce{};
    if (auto r = wallet::random_bytes(nonce.data(), nonce.size()); !r) {
        return decline(facts, reason::wallet_locked, "no randomness for a nonce: " + r.error().message());
    }
    sign_options.nonce = nonce;
    const std::uint64_t window = std::min(offer.max_timeout_seconds, options_.max_window_seconds);
    sign_options.valid_before = now_s + window;
    facts.nonce = protocol::to_hex(nonce);
    facts.expires_at = *sign_options.valid_before;

    auto verdict = ledger_->reserve(facts);
    if (!verdict) {
        // The store could not decide (disk full, LMDB failure): never pay without a record.
        return store_error_plan(verdict.error());
    }
    if (!verdict->approved) return refusal_plan(*verdict);

    // Reserved and durable: only now may a signature exist (invariant 1).
    auto signed_payment = wallet::sign_exact(*signer_, required, offer, sign_options);
    if (!signed_payment) {
        // No signature exists: releasing is safe, and a failure to record it only over-counts.
        after_signing(ledger_->release(verdict->reservation_id,
                                       "signing failed: " + signed_payment.error().message()),
                      verdict->reservation_id, "released");
        return signing_failed_plan(verdict->reservation_id, signed_payment.error().message());
    }

    auto p = std::make_unique<pending>();
    p->reservation_id = verdict->reservation_id;
    p->signed_amount = offer.amount;
    // Known assets only reach here (known_assets_only), so the symbol is ours, not the merchant's.
    p->amount_text = protocol::format_units(offer.amount, facts.asset_decimals) + " " +
                     facts.asset_symbol;
    p->net = best.network;
    p->network = best.network->caip2;
    p->payer = facts.payer;
    p->sent_at = std::chrono::steady_clock::now();

    payment_plan plan;
    plan.what = payment_plan::action::pay;
    plan.add_request_headers.emplace_back(signed_payment->header_name,
                                          signed_payment->header_value);
    plan.log_fields.emplace_back("decision", "approved");
    plan.log_fields.emplace_back("ledger_id", std::to_string(verdict->reservation_id));
    plan.log_fields.emplace_back("amount", offer.amount.to_decimal());
    plan.log_fields.emplace_back("network", offer.network);
    plan.token = hold_pending(std::move(p));
    return plan;
}

paid_outcome payment_flow::exact_response(std::unique_ptr<pending> p, unsigned status,
                                          const header_list& headers) {
    const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - p->sent_at);
    const std::string ledger_id = std::to_string(p->reservation_id);
    paid_outcome out;
    out.log_fields.emplace_back("ledger_id", ledger_id);

    std::optional<protocol::settle_response> receipt;
    std::string receipt_error;
    auto receipt_header = find_header(headers, "PAYMENT-RESPONSE");
    if (!receipt_header) receipt_header = find_header(headers, "X-PAYMENT-RESPONSE");
    if (receipt_header) {
        auto parsed = protocol::decode_settle_response_header(*receipt_header);
        if (parsed) {
            receipt = std::move(*parsed);
        } else {
            receipt_error = parsed.error().message();
        }
    }

    auto in_doubt = [&](std::string why) {
        after_signing(ledger_->mark_in_doubt(p->reservation_id, why), p->reservation_id,
                      "in_doubt");
        out.add_response_headers.emplace_back("Purser-Decision", "in_doubt; ledger=" + ledger_id);
        out.log_fields.emplace_back("ledger_status", "in_doubt");
        out.log_fields.emplace_back("detail", std::move(why));
    };

    if (receipt && receipt->success && status < 400) {
        // Counted: the signed value, whatever the receipt says it charged (an `exact`
        // authorization moves exactly its value or nothing).
        store::settlement facts;
        const bool tx_ok = is_tx_hash(receipt->transaction);
        if (tx_ok) facts.tx_hash = receipt->transaction;
        facts.charged_atomic = p->signed_amount;
        facts.merchant_status = static_cast<std::uint16_t>(status);
        facts.latency_ms = static_cast<std::uint32_t>(latency.count());
        const std::string lies =
            receipt_disagreements(*receipt, p->signed_amount, p->payer, p->net);
        std::optional<store::agent_usage> left;
        auto row = ledger_->commit(p->reservation_id, facts, lies, &left);
        if (row) note(*row);
        if (!row) {
            in_doubt("settled but the ledger commit failed: " + row.error().message());
            after_signing(row, p->reservation_id, "paid");
            return out;
        }
        std::string paid = p->amount_text + " " + p->network + " " +
                           (tx_ok ? receipt->transaction : std::string("unverified"));
        out.add_response_headers.emplace_back("Purser-Paid", paid);
        out.add_response_headers.emplace_back("Purser-Decision", "paid; ledger=" + ledger_id);
        if (left) out.add_response_headers.emplace_back("Purser-Remaining", remaining_text(left->allowance));
        out.log_fields.emplace_back("ledger_status", "paid");
        out.log_fields.emplace_back("paid", p->signed_amount.to_decimal());
        if (tx_ok) out.log_fields.emplace_back("tx", receipt->transaction);
        if (!lies.empty()) out.log_fields.emplace_back("receipt_mismatch", lies);
        return out;
    }
    if (receipt && !receipt->success) {
        // A settle failure after the handler ran: the funds may have moved (x402.md §10.9).
        in_doubt("settlement failed: " + receipt->error_reason +
                 (receipt->error_message.empty() ? "" : " (" + receipt->error_message + ")"));
        return out;
    }
    if (status == 402) {
        // Refused, or so the merchant says: it may have settled first, so the row stays counted
        // until the chain says otherwise. A new PAYMENT-REQUIRED names the reason (v2); the v1
        // reason is in the body, which streams to the agent unread.
        std::string why = "merchant refused the payment";
        if (auto again = find_header(headers, "PAYMENT-REQUIRED")) {
            if (auto terms = protocol::decode_payment_required_header(*again);
                terms && !terms->error.empty()) {
                why = "merchant refused the payment: " + terms->error;
            }
        }
        after_signing(ledger_->fail(p->reservation_id, why, 402), p->reservation_id, "failed");
        out.add_response_headers.emplace_back(
            "Purser-Decision", "failed; reason=merchant_rejected; ledger=" + ledger_id);
        out.log_fields.emplace_back("ledger_status", "failed");
        out.log_fields.emplace_back("detail", why);
        return out;
    }
    in_doubt(receipt_error.empty()
                 ? "merchant answered " + std::to_string(status) + " without a settlement receipt"
                 : "unreadable settlement receipt: " + receipt_error);
    return out;
}

paid_outcome payment_flow::exact_failure(std::unique_ptr<pending> p, proxy::delivery delivered,
                                         std::string_view why) {
    const std::string ledger_id = std::to_string(p->reservation_id);
    paid_outcome out;
    out.log_fields.emplace_back("ledger_id", ledger_id);
    if (delivered == delivery::not_sent) {
        // No byte of the retry was written: the signature never left this process.
        after_signing(ledger_->release(p->reservation_id, "not sent: " + std::string(why)),
                      p->reservation_id, "released");
        out.add_response_headers.emplace_back("Purser-Decision",
                                              "released; reason=not_sent; ledger=" + ledger_id);
        out.log_fields.emplace_back("ledger_status", "released");
        return out;
    }
    after_signing(ledger_->mark_in_doubt(p->reservation_id, why), p->reservation_id, "in_doubt");
    // The agent must be able to tell that it may have paid, so a retry is a decision.
    out.add_response_headers.emplace_back("Purser-Decision", "in_doubt; ledger=" + ledger_id);
    out.log_fields.emplace_back("ledger_status", "in_doubt");
    return out;
}

}  // namespace purser::proxy
