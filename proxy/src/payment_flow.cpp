#include "purser/proxy/payment_flow.hpp"

#include <chrono>
#include <optional>
#include <sstream>

#include "purser/protocol/amount.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/select.hpp"
#include "purser/store/store.hpp"
#include "purser/wallet/exact.hpp"
#include "purser/wallet/keys.hpp"
#include "purser/wallet/signer.hpp"

namespace purser::proxy {
namespace {

using store::reason;

std::optional<std::string_view> find_header(const header_list& headers, std::string_view name) {
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
bool looks_like_x402(const upstream_response& response) {
    if (find_header(response.headers, "PAYMENT-REQUIRED")) return true;
    if (response.body.size() > protocol::max_body_bytes) return false;
    auto j = nlohmann::json::parse(response.body, nullptr, false);
    return !j.is_discarded() && j.is_object() && j.contains("x402Version");
}

std::string usd_text(store::usd_micros micros) {
    return protocol::format_units(protocol::uint256(micros), store::usd_decimals);
}

std::string remaining_text(const std::optional<store::usd_micros>& allowance) {
    return allowance ? usd_text(*allowance) + " USD" : "unlimited";
}

store::reserve_request facts_of(const request_info& request) {
    store::reserve_request facts;
    facts.agent = request.agent;
    facts.method = request.method;
    facts.url = request.url;
    facts.host = request.host;
    for (auto& c : facts.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return facts;
}

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) out += "; ";
        out += p;
    }
    return out;
}

}  // namespace

/// One signed payment waiting for the retry's answer.
struct payment_flow::pending {
    std::uint64_t reservation_id = 0;
    std::string amount_text;        ///< "0.001 USDC"
    std::string network;
    std::chrono::steady_clock::time_point sent_at;
};

payment_flow::payment_flow(std::shared_ptr<store::store> ledger,
                           std::shared_ptr<wallet::signer> signer,
                           std::shared_ptr<const protocol::network_registry> registry,
                           payment_flow_options options)
    : ledger_(std::move(ledger)),
      signer_(std::move(signer)),
      registry_(std::move(registry)),
      options_(std::move(options)) {}

payment_flow::~payment_flow() = default;

std::uint64_t payment_flow::now() const {
    if (options_.now_seconds) return options_.now_seconds();
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
}

std::size_t payment_flow::in_progress() const {
    std::lock_guard lock(mutex_);
    return pending_.size();
}

payment_plan payment_flow::decline(const store::reserve_request& facts, reason why,
                                   std::string_view detail) {
    payment_plan plan;
    plan.what = payment_plan::action::decline;
    auto row = ledger_->record_decline(facts, why, detail);
    std::string decision = "declined; reason=" + std::string(store::to_string(why));
    if (row) {
        decision += "; ledger=" + std::to_string(*row);
        plan.log_fields.emplace_back("ledger_id", std::to_string(*row));
    } else {
        plan.log_fields.emplace_back("ledger_error", row.error().message());
    }
    plan.add_response_headers.emplace_back("Purser-Decision", decision);
    plan.log_fields.emplace_back("decision", "declined");
    plan.log_fields.emplace_back("reason", std::string(store::to_string(why)));
    return plan;
}

payment_plan payment_flow::on_payment_required(const request_info& request,
                                               const upstream_response& response) {
    if (!looks_like_x402(response)) return {};  // not_x402: untouched, nothing recorded

    store::reserve_request facts = facts_of(request);
    auto header = find_header(response.headers, "PAYMENT-REQUIRED");
    auto required = protocol::read_payment_required(header, response.body);
    if (!required) {
        // Malformed terms are the merchant's problem; the agent learns why and nothing moves.
        return decline(facts, reason::no_supported_offer,
                       "malformed x402 terms: " + required.error().message());
    }
    facts.x402_version = required->x402_version;
    if (!request.body_replayable) {
        return decline(facts, reason::body_too_large_to_replay,
                       "request body of " + std::to_string(request.body_size) +
                           " bytes is over the replay buffer");
    }

    protocol::payment_capabilities caps;
    caps.networks = options_.networks;
    auto chosen = protocol::select_offers(*required, caps, *registry_);
    if (chosen.candidates.empty()) {
        return decline(facts, reason::no_supported_offer, join(chosen.rejected));
    }
    // The cheapest payable offer; the policy decides on exactly the offer that gets signed.
    const protocol::candidate& best = chosen.candidates.front();
    const protocol::payment_requirements& offer = *best.offer;
    facts.scheme = offer.scheme;
    facts.network = offer.network;
    facts.asset = offer.asset;
    facts.amount_atomic = offer.amount;
    facts.pay_to = offer.pay_to;
    if (best.asset != nullptr) {
        facts.asset_symbol = best.asset->symbol;
        facts.asset_decimals = best.asset->decimals;
        facts.usd_pegged = best.asset->usd_pegged;
    }
    if (!signer_) return decline(facts, reason::wallet_locked, "no wallet key is loaded");

    // Fix the nonce and the validity window before reserving, so the ledger row names the exact
    // authorization that may later exist (a crash after signing leaves a findable record).
    wallet::exact_options sign_options;
    sign_options.registry = registry_.get();
    sign_options.max_window_seconds = options_.max_window_seconds;
    const std::uint64_t now_s = now();
    sign_options.now = now_s;
    protocol::bytes32 nonce{};
    if (auto r = wallet::random_bytes(nonce.data(), nonce.size()); !r) {
        return decline(facts, reason::wallet_locked, r.error().message());
    }
    sign_options.nonce = nonce;
    const std::uint64_t window = std::min(offer.max_timeout_seconds, options_.max_window_seconds);
    sign_options.valid_before = now_s + window;
    facts.nonce = protocol::to_hex(nonce);
    facts.expires_at = *sign_options.valid_before;

    auto verdict = ledger_->reserve(facts);
    if (!verdict) {
        // The store could not decide (disk full, LMDB failure): never pay without a record.
        payment_plan plan;
        plan.what = payment_plan::action::decline;
        plan.add_response_headers.emplace_back("Purser-Decision",
                                               "declined; reason=store_unavailable");
        plan.log_fields.emplace_back("decision", "declined");
        plan.log_fields.emplace_back("store_error", verdict.error().message());
        return plan;
    }
    if (!verdict->approved) {
        payment_plan plan;
        plan.what = payment_plan::action::decline;
        std::string code(store::to_string(*verdict->why));
        plan.add_response_headers.emplace_back(
            "Purser-Decision",
            "declined; reason=" + code + "; ledger=" + std::to_string(verdict->ledger_id));
        plan.add_response_headers.emplace_back("Purser-Remaining",
                                               remaining_text(verdict->allowance_remaining));
        plan.log_fields.emplace_back("decision", "declined");
        plan.log_fields.emplace_back("reason", code);
        plan.log_fields.emplace_back("ledger_id", std::to_string(verdict->ledger_id));
        return plan;
    }

    // Reserved and durable: only now may a signature exist (invariant 1).
    auto signed_payment = wallet::sign_exact(*signer_, *required, offer, sign_options);
    if (!signed_payment) {
        (void)ledger_->release(verdict->reservation_id,
                               "signing failed: " + signed_payment.error().message());
        payment_plan plan;
        plan.what = payment_plan::action::decline;
        plan.add_response_headers.emplace_back(
            "Purser-Decision", "declined; reason=wallet_locked; ledger=" +
                                   std::to_string(verdict->reservation_id));
        plan.log_fields.emplace_back("decision", "declined");
        plan.log_fields.emplace_back("reason", "wallet_locked");
        plan.log_fields.emplace_back("sign_error", signed_payment.error().message());
        return plan;
    }

    auto p = std::make_unique<pending>();
    p->reservation_id = verdict->reservation_id;
    p->amount_text = protocol::format_units(offer.amount, facts.asset_decimals) + " " +
                     (facts.asset_symbol.empty() ? offer.asset : facts.asset_symbol);
    p->network = offer.network;
    p->sent_at = std::chrono::steady_clock::now();

    payment_plan plan;
    plan.what = payment_plan::action::pay;
    plan.add_request_headers.emplace_back(signed_payment->header_name,
                                          signed_payment->header_value);
    plan.log_fields.emplace_back("decision", "approved");
    plan.log_fields.emplace_back("ledger_id", std::to_string(verdict->reservation_id));
    plan.log_fields.emplace_back("amount", offer.amount.to_decimal());
    plan.log_fields.emplace_back("network", offer.network);
    {
        std::lock_guard lock(mutex_);
        plan.token = next_token_++;
        pending_.emplace(plan.token, std::move(p));
    }
    return plan;
}

paid_outcome payment_flow::on_paid_response(const payment_plan& plan, const request_info&,
                                            unsigned status, const header_list& headers) {
    std::unique_ptr<pending> p;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(plan.token);
        if (it == pending_.end()) return {};
        p = std::move(it->second);
        pending_.erase(it);
    }
    const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - p->sent_at);
    paid_outcome out;
    out.log_fields.emplace_back("ledger_id", std::to_string(p->reservation_id));

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
        (void)ledger_->mark_in_doubt(p->reservation_id, why);
        out.add_response_headers.emplace_back(
            "Purser-Decision", "in_doubt; ledger=" + std::to_string(p->reservation_id));
        out.log_fields.emplace_back("ledger_status", "in_doubt");
        out.log_fields.emplace_back("detail", std::move(why));
    };

    if (receipt && receipt->success && status < 400) {
        store::settlement facts;
        facts.tx_hash = receipt->transaction;
        facts.charged_atomic = receipt->amount;
        facts.merchant_status = static_cast<std::uint16_t>(status);
        facts.latency_ms = static_cast<std::uint32_t>(latency.count());
        auto row = ledger_->commit(p->reservation_id, facts);
        if (!row) {
            in_doubt("settled but the ledger commit failed: " + row.error().message());
            return out;
        }
        std::string paid = p->amount_text + " " + p->network + " " + receipt->transaction;
        out.add_response_headers.emplace_back("Purser-Paid", paid);
        if (auto usage = ledger_->usage(row->agent)) {
            out.add_response_headers.emplace_back("Purser-Remaining",
                                                  remaining_text(usage->allowance));
        }
        out.log_fields.emplace_back("ledger_status", "paid");
        out.log_fields.emplace_back("paid", row->charged_atomic.value_or(row->amount_atomic).to_decimal());
        out.log_fields.emplace_back("tx", receipt->transaction);
        return out;
    }
    if (receipt && !receipt->success) {
        // A settle failure after the handler ran: the funds may have moved (x402.md §10.9).
        in_doubt("settlement failed: " + receipt->error_reason +
                 (receipt->error_message.empty() ? "" : " (" + receipt->error_message + ")"));
        return out;
    }
    if (status == 402) {
        // Refused before settlement: a new PAYMENT-REQUIRED names the reason (v2); the v1 reason
        // is in the body, which streams to the agent unread.
        std::string why = "merchant refused the payment";
        if (auto again = find_header(headers, "PAYMENT-REQUIRED")) {
            if (auto terms = protocol::decode_payment_required_header(*again);
                terms && !terms->error.empty()) {
                why = terms->error;
            }
        }
        (void)ledger_->fail(p->reservation_id, why, 402);
        out.add_response_headers.emplace_back(
            "Purser-Decision", "failed; reason=merchant_rejected; ledger=" +
                                   std::to_string(p->reservation_id));
        out.log_fields.emplace_back("ledger_status", "failed");
        out.log_fields.emplace_back("detail", why);
        return out;
    }
    in_doubt(receipt_error.empty()
                 ? "merchant answered " + std::to_string(status) + " without a settlement receipt"
                 : "unreadable settlement receipt: " + receipt_error);
    return out;
}

void payment_flow::on_paid_failure(const payment_plan& plan, const request_info&,
                                   std::string_view why) {
    std::unique_ptr<pending> p;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(plan.token);
        if (it == pending_.end()) return;
        p = std::move(it->second);
        pending_.erase(it);
    }
    if (why.rfind("not sent", 0) == 0) {
        // The signature never left this process: the money can safely come back.
        (void)ledger_->release(p->reservation_id, why);
    } else {
        (void)ledger_->mark_in_doubt(p->reservation_id, why);
    }
}

store_authenticator::store_authenticator(std::shared_ptr<store::store> agents)
    : agents_(std::move(agents)) {}

std::optional<std::string> store_authenticator::authenticate(std::string_view name,
                                                             std::string_view token) {
    auto who = agents_->authenticate(name, token);
    if (!who) return std::nullopt;
    return who->name;
}

}  // namespace purser::proxy
