#include "purser/proxy/payment_flow.hpp"

#include <chrono>
#include <iostream>
#include <optional>
#include <sstream>

#include "purser/protocol/amount.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/select.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"
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

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The URL the ledger keeps: API keys and tokens often travel in query strings, and the ledger
// is read by people who should not see them.
std::string without_query(std::string_view url) {
    return std::string(url.substr(0, url.find_first_of("?#")));
}

store::reserve_request facts_of(const request_info& request) {
    store::reserve_request facts;
    facts.agent = request.agent;
    facts.method = request.method;
    facts.url = without_query(request.url);
    facts.host = lower(request.host);
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


// An EVM transaction hash: 0x and 64 hex digits. Anything else in a receipt is not one, whatever
// the merchant calls it, and never reaches a header or the ledger's tx column.
bool is_tx_hash(std::string_view text) {
    if (text.size() != 66 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return false;
    for (char c : text.substr(2)) {
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return false;
    }
    return true;
}

// The networks this flow pays on: the configured list, else every known network but the local
// testnet; the testnet only when configured.
std::set<std::string> payable_networks(const payment_flow_options& o,
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
std::string receipt_disagreements(const protocol::settle_response& receipt,
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

}  // namespace

/// One signed payment waiting for the retry's answer.
struct payment_flow::pending {
    std::uint64_t reservation_id = 0;
    protocol::uint256 signed_amount;  ///< The authorization's value: what is counted.
    std::string amount_text;          ///< "0.001 USDC"
    std::string network;              ///< The offer's network, as the registry names it (CAIP-2).
    const protocol::network_info* net = nullptr;
    std::string payer;
    std::chrono::steady_clock::time_point sent_at;
};

payment_flow::payment_flow(std::shared_ptr<store::store> ledger,
                           std::shared_ptr<wallet::signer> signer,
                           std::shared_ptr<const protocol::network_registry> registry,
                           payment_flow_options options)
    : ledger_(std::move(ledger)),
      signer_(std::move(signer)),
      registry_(std::move(registry)),
      options_(std::move(options)) {
    capabilities_.networks = payable_networks(options_, *registry_);
    capabilities_.known_assets_only = true;
    if (options_.oracle && options_.proof_interval_ms > 0) {
        prover_ = std::thread([this] { prover_loop(); });
    }
}

payment_flow::~payment_flow() {
    {
        std::lock_guard lock(prover_mutex_);
        prover_stop_ = true;
    }
    prover_wake_.notify_all();
    if (prover_.joinable()) prover_.join();
}

template <class T>
void payment_flow::after_signing(const result<T>& written, std::uint64_t reservation_id,
                                 std::string_view what) {
    if (written) return;
    ledger_errors_after_signing_.fetch_add(1);
    // One write, so concurrent failures do not interleave mid-line.
    std::cerr << ("purser: LEDGER ERROR after signing: reservation " +
                  std::to_string(reservation_id) + " could not be marked " + std::string(what) +
                  ": " + written.error().message() +
                  " (the payment stays counted as reserved; run `purser ledger reconcile`)\n");
}

std::unique_ptr<payment_flow::pending> payment_flow::take_pending(const payment_plan& plan) {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(plan.token);
    if (it == pending_.end()) return nullptr;
    auto p = std::move(it->second);
    pending_.erase(it);
    return p;
}

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
        // Nothing was signed, so nothing is at risk; the agent and the log still learn that the
        // store could not record the decline.
        decision += "; ledger=none; store=unavailable";
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

    auto chosen = protocol::select_offers(*required, capabilities_, *registry_);
    if (chosen.candidates.empty()) {
        return decline(facts, reason::no_supported_offer, join(chosen.rejected));
    }
    // The cheapest payable offer; the policy decides on exactly the offer that gets signed.
    const protocol::candidate& best = chosen.candidates.front();
    const protocol::payment_requirements& offer = *best.offer;
    facts.scheme = offer.scheme;
    facts.network = offer.network;
    facts.network_aliases = {best.network->caip2};
    if (!best.network->v1_name.empty()) facts.network_aliases.push_back(best.network->v1_name);
    facts.asset = offer.asset;
    facts.amount_atomic = offer.amount;
    facts.pay_to = offer.pay_to;
    if (best.asset != nullptr) {
        facts.asset_symbol = best.asset->symbol;
        facts.asset_decimals = best.asset->decimals;
        facts.usd_pegged = best.asset->usd_pegged;
    }
    if (!signer_) return decline(facts, reason::wallet_locked, "no wallet key is loaded");
    const std::string payer = signer_->address().to_checksum();
    facts.payer = payer;

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
        payment_plan plan;
        plan.what = payment_plan::action::decline;
        plan.add_response_headers.emplace_back("Purser-Decision",
                                               "declined; reason=store_unavailable");
        plan.log_fields.emplace_back("decision", "declined");
        plan.log_fields.emplace_back("reason", "store_unavailable");
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
        // No signature exists: releasing is safe, and a failure to record it only over-counts.
        after_signing(ledger_->release(verdict->reservation_id,
                                       "signing failed: " + signed_payment.error().message()),
                      verdict->reservation_id, "released");
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
    p->signed_amount = offer.amount;
    // Known assets only reach here (known_assets_only), so the symbol is ours, not the merchant's.
    p->amount_text = protocol::format_units(offer.amount, facts.asset_decimals) + " " +
                     facts.asset_symbol;
    p->net = best.network;
    p->network = best.network->caip2;
    p->payer = payer;
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
    std::unique_ptr<pending> p = take_pending(plan);
    if (!p) return {};
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
        auto row = ledger_->commit(p->reservation_id, facts, lies);
        if (!row) {
            in_doubt("settled but the ledger commit failed: " + row.error().message());
            after_signing(row, p->reservation_id, "paid");
            return out;
        }
        std::string paid = p->amount_text + " " + p->network + " " +
                           (tx_ok ? receipt->transaction : std::string("unverified"));
        out.add_response_headers.emplace_back("Purser-Paid", paid);
        out.add_response_headers.emplace_back("Purser-Decision", "paid; ledger=" + ledger_id);
        if (auto usage = ledger_->usage(row->agent)) {
            out.add_response_headers.emplace_back("Purser-Remaining",
                                                  remaining_text(usage->allowance));
        }
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

paid_outcome payment_flow::on_paid_failure(const payment_plan& plan, const request_info&,
                                           proxy::delivery delivered, std::string_view why) {
    std::unique_ptr<pending> p = take_pending(plan);
    if (!p) return {};
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

std::size_t payment_flow::prove_expired() {
    if (!options_.oracle) return 0;
    auto due = ledger_->awaiting_proof(now() * 1000, options_.skew_margin_seconds, 256);
    if (!due) {
        std::cerr << ("purser: cannot list payments awaiting proof: " + due.error().message() + "\n");
        return 0;
    }
    std::size_t changed = 0;
    for (const auto& row : *due) {
        if (row.scheme != "exact" || row.nonce.empty() || row.payer.empty()) continue;
        const protocol::network_info* net = registry_->find(row.network);
        if (net == nullptr || !options_.oracle->covers(net->caip2)) continue;
        auto token = protocol::address::parse(row.asset);
        auto payer = protocol::address::parse(row.payer);
        auto nonce = protocol::bytes32_from_hex(row.nonce);
        if (!token || !payer || !nonce) continue;
        auto used = options_.oracle->authorization_used(net->caip2, *token, *payer, *nonce);
        if (!used) continue;  // the RPC is down: ask again next round; the row stays counted
        const std::string where = " on " + net->caip2;
        if (*used) {
            auto r = ledger_->commit(
                row.id, store::settlement{},
                "settled" + where + ": authorizationState(payer, nonce) is true (found by the proxy)");
            if (r) ++changed;
        } else {
            auto r = ledger_->expire_unsettled(
                row.id,
                "released: authorizationState(payer, nonce) false" + where +
                    " after validBefore (found by the proxy)",
                options_.skew_margin_seconds);
            if (r) ++changed;
        }
    }
    return changed;
}

void payment_flow::prover_loop() {
    std::unique_lock lock(prover_mutex_);
    while (!prover_stop_) {
        prover_wake_.wait_for(lock, std::chrono::milliseconds(options_.proof_interval_ms),
                              [this] { return prover_stop_; });
        if (prover_stop_) break;
        lock.unlock();
        prove_expired();
        lock.lock();
    }
}

store_authenticator::store_authenticator(std::shared_ptr<store::store> agents)
    : agents_(std::move(agents)) {}

identity store_authenticator::authenticate(std::string_view name, std::string_view token) {
    auto who = agents_->authenticate(name, token);
    if (who) return {who->name, {}};
    const auto code = who.error().code;
    if (code == store::errc::agent_not_found || code == store::errc::bad_credentials ||
        code == store::errc::invalid_name) {
        return {};
    }
    return {std::nullopt, "store unavailable: " + who.error().message()};
}

}  // namespace purser::proxy
