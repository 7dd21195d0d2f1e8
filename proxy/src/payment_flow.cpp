#include "purser/proxy/payment_flow.hpp"

#include "payment_flow_detail.hpp"

#include <chrono>
#include <iostream>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <optional>
#include <sstream>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/select.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"
#include "purser/wallet/batch.hpp"
#include "purser/wallet/signer.hpp"

namespace purser::proxy {

using namespace detail::flow;
namespace net = boost::asio;


payment_flow::payment_flow(std::shared_ptr<store::store> ledger,
                           std::shared_ptr<wallet::signer> signer,
                           std::shared_ptr<const protocol::network_registry> registry,
                           payment_flow_options options)
    : ledger_(std::move(ledger)),
      signer_(std::move(signer)),
      registry_(std::move(registry)),
      options_(std::move(options)) {
    if (signer_) payer_ = signer_->address().to_checksum();
    capabilities_.networks = payable_networks(options_, *registry_);
    capabilities_.known_assets_only = true;
    capabilities_.schemes = {"exact", "batch-settlement"};
    resume_ = std::make_unique<net::thread_pool>(2);
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
    resume_->join();
}


std::uint64_t payment_flow::hold_pending(std::unique_ptr<pending> p) {
    std::lock_guard lock(mutex_);
    const std::uint64_t token = next_token_++;
    pending_.emplace(token, std::move(p));
    return token;
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
    return counted(*decide(request, response, nullptr, {}));
}

payment_plan payment_flow::counted(payment_plan plan) {
    if (!options_.stats || plan.what != payment_plan::action::decline) return plan;
    // Every decline builder names its code in the log fields (decline, refusal_plan,
    // store_error_plan, signing_failed_plan): one place counts them all.
    for (const auto& [key, value] : plan.log_fields) {
        if (key == "reason") {
            options_.stats->count_decline(value);
            break;
        }
    }
    return plan;
}

void payment_flow::note(const store::ledger_row& row) {
    if (!options_.stats) return;
    options_.stats->count_payment(row.scheme, store::to_string(row.state));
    if (row.state == store::status::paid && row.charged_atomic) {
        options_.stats->add_paid(row.agent, row.asset, row.network, *row.charged_atomic);
    }
}

void payment_flow::on_payment_required_async(const request_info& request,
                                             const upstream_response& response,
                                             plan_callback done) {
    if (auto plan = decide(request, response, &done, {})) done(counted(std::move(*plan)));
}

void payment_flow::release_gate(const std::string& channel_id) {
    std::optional<channel_waiter> next;
    {
        std::lock_guard lock(mutex_);
        auto it = gates_.find(channel_id);
        if (it == gates_.end()) return;
        if (it->second.waiters.empty()) {
            gates_.erase(it);
        } else {
            // Handed over while still busy, so a newcomer cannot overtake the queue.
            next = std::move(it->second.waiters.front());
            it->second.waiters.pop_front();
            it->second.opening = protocol::uint256{};
        }
    }
    gate_freed_.notify_all();
    if (!next) return;
    net::post(*resume_, [this, channel_id, w = std::move(*next)]() mutable {
        if (auto plan = decide(w.request, w.response, &w.done, channel_id)) w.done(counted(std::move(*plan)));
    });
}

const protocol::candidate& payment_flow::choose_offer(const protocol::selection& chosen,
                                                      std::shared_ptr<const channel_group>& channels,
                                                      std::vector<channel_slot>& group) {
    const protocol::candidate* voucher = nullptr;
    const protocol::candidate* other = nullptr;
    for (const auto& c : chosen.candidates) {
        if (c.offer->scheme == "batch-settlement") {
            if (voucher == nullptr) voucher = &c;
        } else if (other == nullptr) {
            other = &c;
        }
    }
    if (voucher == nullptr) return chosen.candidates.front();
    auto made = group_of(*voucher->offer);
    if (!made) return other != nullptr ? *other : *voucher;
    group = read_group(*made);
    if (other != nullptr) {
        if (!options_.iou.prefer) return *other;
        // A voucher when one of the merchant's channels can take it or a deposit may open
        // one; `exact` otherwise, and always once the merchant broke a channel's rules.
        const bool deposits = options_.iou.deposit != "0" && !options_.iou.deposit.empty();
        bool covered = false;
        bool usable = false;
        bool quarantined = false;
        for (const auto& slot : group) {
            if (!slot.stored) {
                usable = true;
                continue;
            }
            const store::channel_funds& c = *slot.stored;
            quarantined = quarantined || c.state == store::channel_state::quarantined;
            if (c.state != store::channel_state::open) continue;
            usable = true;
            auto held = c.deposited.add(c.deposit_pending);
            auto need = c.charged.add(voucher->offer->amount);
            covered = covered || (held && need && *need <= *held);
        }
        if (quarantined || (!covered && !(deposits && usable))) return *other;
    }
    channels = std::move(made);
    return *voucher;
}

std::optional<payment_plan> payment_flow::decide(const request_info& request,
                                                 const upstream_response& response,
                                                 const plan_callback* queue_with,
                                                 const std::string& held_channel) {
    // A resumed request holds the gate it queued on; any way out that does not pay on that
    // channel (the terms changed, exact was chosen, a decline) frees it for the next one.
    struct held_gate {
        payment_flow* flow;
        std::string id;
        ~held_gate() {
            if (!id.empty()) flow->release_gate(id);
        }
    } held{this, held_channel};
    if (!looks_like_x402(response)) return payment_plan{};  // not_x402: nothing recorded

    store::reserve_request facts = facts_of(request);
    if (options_.budgets_of) facts.budgets = options_.budgets_of(facts.agent);
    auto header = find_header(response.headers, "PAYMENT-REQUIRED");
    auto read = terms_.read(header, response.body);
    if (!read) {
        // Malformed terms are the merchant's problem; the agent learns why and nothing moves.
        return decline(facts, reason::no_supported_offer,
                       "malformed x402 terms: " + read.error().message());
    }
    // Held for the whole decision: the offers chosen below point into it.
    const std::shared_ptr<const protocol::payment_required> required = std::move(*read);
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
    // The policy decides on exactly the offer that gets signed: the cheapest, or the voucher.
    std::shared_ptr<const channel_group> channels;  // the voucher's, kept while its slots are used
    std::vector<channel_slot> group;
    const protocol::candidate& best = choose_offer(chosen, channels, group);
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
    facts.payer = payer_;
    if (channels) {
        std::size_t slot = group.size();
        for (std::size_t i = 0; i < group.size() && !held.id.empty(); ++i) {
            if (group[i].id == held.id) slot = i;
        }
        if (slot < group.size()) {
            held.id.clear();  // paying on the channel it was handed
        } else {
            std::unique_lock lock(mutex_);
            const channel_claim claim = claim_channel(group, offer.amount, facts.asset_decimals);
            slot = claim.slot;
            const std::string id(group[slot].id);
            if (!claim.taken) {
                if (queue_with != nullptr) {
                    gates_[id].waiters.push_back({request, response, *queue_with});
                    return std::nullopt;
                }
                gate_freed_.wait(lock, [&] {
                    auto it = gates_.find(id);
                    return it == gates_.end() || !it->second.busy;
                });
                gates_[id].busy = true;
            }
        }
        const std::string channel_id(group[slot].id);
        const wallet::batch_channel& on = channels->channels.at(group[slot].index);
        auto plan = pay_by_voucher(std::move(facts), *required, best, on,
                                   channels->records.at(group[slot].index), channel_id);
        // Anything but a voucher on its way frees the channel for the next request.
        if (plan.what != payment_plan::action::pay) {
            release_gate(channel_id);
        } else {
            // Its deposit, if any, is now in the store's escrow total: no longer counted twice.
            std::lock_guard lock(mutex_);
            if (auto it = gates_.find(channel_id); it != gates_.end()) it->second.opening = {};
        }
        return plan;
    }

    return pay_exact(std::move(facts), *required, best);
}

paid_outcome payment_flow::on_paid_response(const payment_plan& plan, const request_info&,
                                            unsigned status, const header_list& headers) {
    std::unique_ptr<pending> p = take_pending(plan);
    if (!p) return {};
    if (options_.stats) options_.stats->observe_payment(std::chrono::steady_clock::now() - p->sent_at);
    if (p->voucher) return voucher_response(std::move(p), status, headers);
    return exact_response(std::move(p), status, headers);
}

paid_outcome payment_flow::on_paid_failure(const payment_plan& plan, const request_info&,
                                           proxy::delivery delivered, std::string_view why) {
    std::unique_ptr<pending> p = take_pending(plan);
    if (!p) return {};
    if (p->voucher) return voucher_failure(std::move(p), delivered, why);
    return exact_failure(std::move(p), delivered, why);
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
            if (r) note(*r);
            if (r) ++changed;
        } else {
            auto r = ledger_->expire_unsettled(
                row.id,
                "released: authorizationState(payer, nonce) false" + where +
                    " after validBefore (found by the proxy)",
                options_.skew_margin_seconds);
            if (r) note(*r);
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
