// The batch-settlement scheme in the payment flow (x402.md §5.2): a cumulative voucher per call
// on a prepaid channel, a deposit when the channel needs one and the policy allows it, and the
// checks on what the merchant reports before the next voucher is signed.
//
// What is counted is the rise of the channel's highest signed amount, reserved before the
// voucher is signed: the merchant may claim any voucher it holds, so its word on what it charged
// only sets where the next voucher starts, never what was spent.
#include <iostream>

#include "payment_flow_detail.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/store/store.hpp"
#include "purser/wallet/batch.hpp"
#include "purser/wallet/keys.hpp"
#include "purser/wallet/signer.hpp"

namespace purser::proxy {

using namespace detail::flow;
using protocol::uint256;

namespace {

/// A non-negative decimal amount in a JSON string or unsigned number; nullopt otherwise.
std::optional<uint256> amount_of(const protocol::ojson& j, std::string_view key) {
    if (!j.is_object()) return std::nullopt;
    auto it = j.find(std::string(key));
    if (it == j.end()) return std::nullopt;
    if (it->is_number_unsigned()) return uint256(it->get<std::uint64_t>());
    if (!it->is_string()) return std::nullopt;
    auto v = uint256::from_decimal(it->get<std::string>());
    if (!v) return std::nullopt;
    return *v;
}

std::string merchant_quote(const std::string& merchant_text) { return store::bounded_text(merchant_text, 80); }

/// What a paid voucher's receipt says about the channel, checked against what was signed.
struct voucher_report {
    std::optional<uint256> charged_amount;  ///< extra.chargedAmount
    std::optional<uint256> charged;         ///< channelState.chargedCumulativeAmount
    std::optional<uint256> claimed;         ///< channelState.totalClaimed
    std::string lie;                        ///< Why the channel must be quarantined; "" = none.
};

voucher_report check_report(const protocol::settle_response& receipt,
                            const payment_flow::pending& p) {
    voucher_report out;
    const auto& extra = receipt.extra;
    out.charged_amount = amount_of(extra, "chargedAmount");
    const protocol::ojson state =
        extra.is_object() && extra.contains("channelState") ? extra["channelState"] : protocol::ojson();
    out.charged = amount_of(state, "chargedCumulativeAmount");
    out.claimed = amount_of(state, "totalClaimed");
    std::vector<std::string> lies;
    if (out.charged_amount && *out.charged_amount > p.price) {
        lies.push_back("charged " + out.charged_amount->to_decimal() + " for an offer of " +
                       p.price.to_decimal());
    }
    if (state.is_object() && state.contains("channelId")) {
        const auto& id = state["channelId"];
        if (!id.is_string() || lower(id.get<std::string>()) != p.channel_id) {
            lies.push_back("channel state names another channel: " +
                           merchant_quote(id.is_string() ? id.get<std::string>() : id.dump()));
        }
    }
    if (out.charged) {
        if (*out.charged > p.max_claimable) {
            lies.push_back("charged cumulative " + out.charged->to_decimal() + " above the " +
                           p.max_claimable.to_decimal() + " signed");
        } else if (out.charged_amount) {
            auto expected = p.base.add(*out.charged_amount);
            if (!expected || *expected != *out.charged) {
                lies.push_back("charged cumulative " + out.charged->to_decimal() +
                               " does not continue " + p.base.to_decimal() + " + " +
                               out.charged_amount->to_decimal());
            }
        } else if (*out.charged < p.base) {
            lies.push_back("charged cumulative " + out.charged->to_decimal() + " went back below " +
                           p.base.to_decimal());
        }
    }
    if (out.claimed && *out.claimed > p.max_claimable) {
        lies.push_back("total claimed " + out.claimed->to_decimal() + " above the " +
                       p.max_claimable.to_decimal() + " signed");
    }
    out.lie = join(lies);
    return out;
}

}  // namespace

store::channel channel_record(const wallet::batch_channel& channel, const std::string& network,
                              unsigned decimals, const std::string& merchant) {
    store::channel c;
    c.id = protocol::to_hex(channel.id);
    c.network = network;
    c.token = channel.config.token.to_checksum();
    c.decimals = decimals;
    c.payer = channel.config.payer.to_checksum();
    c.receiver = channel.config.receiver.to_checksum();
    c.receiver_authorizer = channel.config.receiver_authorizer.to_checksum();
    c.withdraw_delay = channel.config.withdraw_delay;
    c.salt = protocol::to_hex(channel.config.salt);
    c.merchant = merchant;
    return c;
}

payment_plan payment_flow::pay_by_voucher(store::reserve_request facts,
                                          const protocol::payment_required& required,
                                          const protocol::candidate& best,
                                          const wallet::batch_channel& channel,
                                          const store::channel& record,
                                          const std::string& channel_id) {
    const protocol::payment_requirements& offer = *best.offer;
    store::channel fresh = record;
    fresh.network = best.network->caip2;
    fresh.decimals = facts.asset_decimals;
    fresh.merchant = facts.host;
    // What signing the next voucher for this request again needs, should the merchant correct
    // the channel's running total (its terms are copied: the agent's 402 is gone by then).
    auto replan = [this, again = facts, terms = std::make_shared<const protocol::payment_required>(required),
                   offer_at = best, channel, record, channel_id]() mutable {
        protocol::candidate c = offer_at;
        c.offer = &terms->accepts.at(c.index);
        return pay_by_voucher(again, *terms, c, channel, record, channel_id);
    };

    // Read again now that the gate is held: the group was read before, and the voucher that
    // held this channel then may have moved its running total since.
    auto read = ledger_->get_channel_funds({channel_id});
    if (!read) return decline(facts, reason::store_unavailable, read.error().message());
    std::optional<store::channel_funds> stored = read->at(0);
    if (!stored && options_.oracle && options_.oracle->covers(best.network->caip2)) {
        // Unknown here but perhaps not on chain (the local state was lost): start from what the
        // escrow holds and what the merchant claimed, never from zero with a second deposit.
        auto held_on_chain = options_.oracle->escrow_channel(best.network->caip2, channel.id);
        if (held_on_chain && !held_on_chain->first.is_zero()) {
            store::channel found = fresh;
            found.deposited = held_on_chain->first;
            found.claimed = held_on_chain->second;
            auto adopted = ledger_->adopt_channel(found);
            if (!adopted) return decline(facts, reason::store_unavailable, adopted.error().message());
            stored = store::channel_funds{adopted->deposited, adopted->deposit_pending, adopted->charged,
                                          adopted->state};
        }
    }
    const uint256 base = stored ? stored->charged : uint256{};
    const uint256 held = stored ? stored->deposited.add(stored->deposit_pending).value_or(uint256::max())
                                : uint256{};
    auto max = base.add(offer.amount);
    if (!max) return decline(facts, reason::iou_insufficient, "voucher amount overflows");

    store::voucher_request v;
    v.fresh = std::move(fresh);
    v.max_claimable = *max;

    auto deposit_each = configured_units(options_.iou.deposit, facts.asset_decimals, "deposit");
    auto channel_cap = configured_units(options_.iou.max_channel, facts.asset_decimals, "max_channel");
    auto total_cap = configured_units(options_.iou.max_total, facts.asset_decimals, "max_total");
    if (!deposit_each || !channel_cap || !total_cap) {
        return decline(facts, reason::iou_insufficient, "payment.iou is not valid for this token");
    }
    v.channel_cap = *channel_cap;
    v.total_cap = *total_cap;
    const std::uint64_t now_s = now();
    protocol::bytes32 salt{};
    if (*max > held && *deposit_each && !(*deposit_each)->is_zero()) {
        // At least what this call needs, else the configured deposit.
        const uint256 needed = *max->sub(held);
        v.deposit = needed > **deposit_each ? needed : **deposit_each;
        if (auto r = wallet::random_bytes(salt.data(), salt.size()); !r) {
            return decline(facts, reason::wallet_locked, "no randomness for a deposit salt");
        }
        v.deposit_nonce = protocol::to_hex(
            protocol::deposit_nonce(channel.id, *uint256::from_be_bytes(salt)));
        v.deposit_expires_at = now_s + std::min(offer.max_timeout_seconds, options_.max_window_seconds);
    }
    facts.nonce = channel_id;
    facts.voucher = v;

    auto verdict = ledger_->reserve(facts);
    if (!verdict) return store_error_plan(verdict.error());
    if (!verdict->approved) {
        const bool quarantined = *verdict->why == reason::iou_quarantined && stored.has_value();
        return refusal_plan(*verdict, quarantined ? "; channel=" + channel_id : "");
    }

    // Reserved and durable: only now may the voucher (and the deposit) be signed.
    auto give_back = [&](const std::string& why) {
        after_signing(ledger_->release_voucher(verdict->reservation_id, verdict->deposit_id, why),
                      verdict->reservation_id, "released");
        return signing_failed_plan(verdict->reservation_id, why);
    };
    auto voucher = wallet::sign_voucher(*signer_, channel.chain_id, channel.id, *max);
    if (!voucher) return give_back("signing the voucher failed: " + voucher.error().message());
    protocol::ojson scheme_payload;
    if (verdict->deposit_id != 0) {
        wallet::deposit_options o;
        o.salt = salt;
        o.valid_before = v.deposit_expires_at;
        auto deposit = wallet::sign_deposit(*signer_, channel, v.deposit, o);
        if (!deposit) return give_back("signing the deposit failed: " + deposit.error().message());
        scheme_payload = wallet::deposit_payload(channel, *voucher, *deposit);
    } else {
        scheme_payload = wallet::voucher_payload(channel, *voucher);
    }
    const auto payload = protocol::make_payment_payload(required, offer, std::move(scheme_payload));

    auto p = std::make_unique<pending>();
    p->reservation_id = verdict->reservation_id;
    p->signed_amount = verdict->counted_atomic;
    p->amount_text = protocol::format_units(verdict->counted_atomic, facts.asset_decimals) + " " +
                     facts.asset_symbol;
    p->net = best.network;
    p->network = best.network->caip2;
    p->payer = facts.payer;
    p->sent_at = std::chrono::steady_clock::now();
    p->voucher = true;
    p->deposit_id = verdict->deposit_id;
    p->price = offer.amount;
    p->base = base;
    p->max_claimable = *max;
    p->signature = voucher->sig.to_hex();
    p->channel_id = channel_id;
    p->signer_address = signer_->address();
    p->replan = std::move(replan);

    payment_plan plan;
    plan.what = payment_plan::action::pay;
    plan.add_request_headers.emplace_back(std::string(protocol::payment_header_name(payload.x402_version)),
                                          protocol::encode_payment_header(payload));
    plan.log_fields.emplace_back("decision", "approved");
    plan.log_fields.emplace_back("ledger_id", std::to_string(verdict->reservation_id));
    plan.log_fields.emplace_back("amount", verdict->counted_atomic.to_decimal());
    plan.log_fields.emplace_back("network", offer.network);
    plan.log_fields.emplace_back("scheme", "batch-settlement");
    plan.log_fields.emplace_back("channel", channel_id);
    plan.log_fields.emplace_back("voucher", max->to_decimal());
    if (verdict->deposit_id != 0) plan.log_fields.emplace_back("deposit", v.deposit.to_decimal());
    plan.token = hold_pending(std::move(p));
    return plan;
}

paid_outcome payment_flow::voucher_response(std::unique_ptr<pending> p, unsigned status,
                                            const header_list& headers) {
    const std::string ledger_id = std::to_string(p->reservation_id);
    const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - p->sent_at);
    paid_outcome out;
    out.log_fields.emplace_back("ledger_id", ledger_id);
    std::optional<protocol::settle_response> receipt;
    std::string receipt_error;
    auto receipt_header = find_header(headers, "PAYMENT-RESPONSE");
    if (receipt_header) {
        if (auto parsed = protocol::decode_settle_response_header(*receipt_header)) {
            receipt = std::move(*parsed);
        } else {
            receipt_error = parsed.error().message();
        }
    }
    auto unsettled = [&](store::status to, const std::string& why, const std::string& decision) {
        after_signing(ledger_->unsettled_voucher(p->reservation_id, p->deposit_id, to, why,
                                                 p->signature, p->max_claimable,
                                                 static_cast<std::uint16_t>(status)),
                      p->reservation_id, std::string(store::to_string(to)));
        out.add_response_headers.emplace_back("Purser-Decision", decision);
        out.log_fields.emplace_back("ledger_status", std::string(store::to_string(to)));
        out.log_fields.emplace_back("detail", why);
    };

    if (receipt && receipt->success && status < 400) {
        const voucher_report report = check_report(*receipt, *p);
        store::voucher_settlement facts;
        facts.signature = p->signature;
        facts.max_claimable = p->max_claimable;
        facts.charged_amount = report.charged_amount;
        facts.merchant_status = static_cast<std::uint16_t>(status);
        facts.latency_ms = static_cast<std::uint32_t>(latency.count());
        facts.deposit_landed = p->deposit_id != 0 && is_tx_hash(receipt->transaction);
        if (facts.deposit_landed) facts.deposit_tx = receipt->transaction;
        if (report.lie.empty()) {
            facts.charged = report.charged ? report.charged : p->max_claimable;
            facts.claimed = report.claimed;
        } else {
            // Nothing it says is adopted: the next voucher would start from what was signed.
            facts.charged = p->max_claimable;
        }
        std::optional<store::agent_usage> left;
        auto row = ledger_->commit_voucher(p->reservation_id, p->deposit_id, facts, report.lie, &left);
        if (row) note(*row);
        if (!row) {
            after_signing(row, p->reservation_id, "paid");
            unsettled(store::status::in_doubt, "answered but the ledger commit failed: " + row.error().message(),
                      "in_doubt; ledger=" + ledger_id);
            release_gate(p->channel_id);
            return out;
        }
        if (!report.lie.empty()) {
            after_signing(ledger_->set_channel_state(p->channel_id, store::channel_state::quarantined,
                                                     report.lie),
                          p->reservation_id, "quarantined");
            out.log_fields.emplace_back("channel_quarantined", report.lie);
        }
        out.add_response_headers.emplace_back(
            "Purser-Paid", p->amount_text + " " + p->network + " voucher:" + p->channel_id + "/" +
                               p->max_claimable.to_decimal());
        out.add_response_headers.emplace_back(
            "Purser-Decision", "paid; ledger=" + ledger_id +
                                   (report.lie.empty() ? "" : "; channel=quarantined"));
        if (left) out.add_response_headers.emplace_back("Purser-Remaining", remaining_text(left->allowance));
        out.log_fields.emplace_back("ledger_status", "paid");
        out.log_fields.emplace_back("paid", p->signed_amount.to_decimal());
        if (facts.deposit_landed) out.log_fields.emplace_back("tx", facts.deposit_tx);
        release_gate(p->channel_id);
        return out;
    }
    if (status == 402) {
        bool resynced = false;
        std::string why = "merchant refused the voucher";
        if (auto again = find_header(headers, "PAYMENT-REQUIRED")) {
            if (auto terms = protocol::decode_payment_required_header(*again)) {
                if (!terms->error.empty()) why += ": " + merchant_quote(terms->error);
                for (const auto& o : terms->accepts) {
                    if (o.scheme != "batch-settlement" || !o.extra.is_object()) continue;
                    const auto& vs = o.extra.contains("voucherState") ? o.extra["voucherState"] : protocol::ojson();
                    const auto& cs = o.extra.contains("channelState") ? o.extra["channelState"] : protocol::ojson();
                    auto signed_max = amount_of(vs, "signedMaxClaimable");
                    auto charged = amount_of(cs, "chargedCumulativeAmount");
                    if (!signed_max || !charged || !vs.contains("signature") || !vs["signature"].is_string()) continue;
                    // Adopted only when the signature is this wallet's own on this channel and the
                    // charge is within it: a merchant cannot invent a starting point.
                    auto sig = wallet::signature::from_hex(vs["signature"].get<std::string>());
                    auto id = protocol::bytes32_from_hex(p->channel_id);
                    if (!sig || !id || *charged > *signed_max) continue;
                    auto digest = protocol::eip712::hash_typed_data(
                        protocol::voucher_typed_data(p->net->chain_id, *id, *signed_max));
                    if (!digest) continue;
                    auto who = wallet::recover_address(*digest, *sig);
                    if (!who || *who != p->signer_address) continue;
                    // A signed amount above what the store knows (its state was lost) is this
                    // wallet's own past voucher: the exposure becomes known again.
                    if (ledger_->resync_channel(p->channel_id, *charged, amount_of(cs, "totalClaimed"),
                                                "resynced from the merchant's signed voucher state",
                                                *signed_max, vs["signature"].get<std::string>())) {
                        why += "; resynced the channel to " + charged->to_decimal();
                        out.log_fields.emplace_back("channel_resync", charged->to_decimal());
                        resynced = true;
                    }
                    break;
                }
            }
        }
        unsettled(store::status::failed, why, "failed; reason=merchant_rejected; ledger=" + ledger_id);
        if (resynced && !p->is_retry && p->replan) {
            // Once, as the official client does: the next voucher from the adopted total, on the
            // channel whose gate this request still holds.
            auto again = p->replan();
            if (again.what == payment_plan::action::pay) {
                {
                    std::lock_guard lock(mutex_);
                    if (auto it = pending_.find(again.token); it != pending_.end()) it->second->is_retry = true;
                }
                out.log_fields.emplace_back("retry", "after corrective 402");
                out.retry = std::move(again);
                return out;
            }
        }
        release_gate(p->channel_id);
        return out;
    }
    unsettled(store::status::in_doubt,
              receipt && !receipt->success
                  ? "settlement failed: " + merchant_quote(receipt->error_reason)
                  : receipt_error.empty()
                        ? "merchant answered " + std::to_string(status) + " without a receipt"
                        : "unreadable receipt: " + receipt_error,
              "in_doubt; ledger=" + ledger_id);
    release_gate(p->channel_id);
    return out;
}

paid_outcome payment_flow::voucher_failure(std::unique_ptr<pending> p, proxy::delivery delivered,
                                           std::string_view why) {
    const std::string ledger_id = std::to_string(p->reservation_id);
    paid_outcome out;
    out.log_fields.emplace_back("ledger_id", ledger_id);
    if (delivered == delivery::not_sent) {
        after_signing(ledger_->release_voucher(p->reservation_id, p->deposit_id,
                                               "not sent: " + std::string(why)),
                      p->reservation_id, "released");
        out.add_response_headers.emplace_back("Purser-Decision",
                                              "released; reason=not_sent; ledger=" + ledger_id);
        out.log_fields.emplace_back("ledger_status", "released");
    } else {
        after_signing(ledger_->unsettled_voucher(p->reservation_id, p->deposit_id,
                                                 store::status::in_doubt, why, p->signature,
                                                 p->max_claimable),
                      p->reservation_id, "in_doubt");
        out.add_response_headers.emplace_back("Purser-Decision", "in_doubt; ledger=" + ledger_id);
        out.log_fields.emplace_back("ledger_status", "in_doubt");
    }
    release_gate(p->channel_id);
    return out;
}

}  // namespace purser::proxy
