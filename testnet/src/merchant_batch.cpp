// The merchant's side of batch-settlement: per-channel cumulative accounting, corrective 402s,
// deposits settled through the facilitator, vouchers kept for later claims, cooperative refunds.
// As the official server, an EOA-signed voucher on a channel whose on-chain state is fresh is
// verified here and never sent to the facilitator: a voucher costs the merchant no round trip.
#include "batch_checks.hpp"
#include "merchant_detail.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/testnet/errc.hpp"
#include "purser/testnet/merchant.hpp"

#include <algorithm>
#include <chrono>

namespace purser::testnet {

using nlohmann::json;
using protocol::ojson;
using protocol::uint256;

namespace {

uint256 dec(const json& j) {
    if (j.is_string()) {
        auto v = uint256::from_decimal(j.get<std::string>());
        if (v) return *v;
    }
    if (j.is_number_unsigned()) return uint256{j.get<std::uint64_t>()};
    return uint256{};
}

std::string lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

std::uint64_t onchain_state_ttl_ms(const merchant_config& c) {
    if (c.onchain_state_ttl_ms) return *c.onchain_state_ttl_ms;
    return std::clamp<std::uint64_t>(c.withdraw_delay * 1000 / 3, 30'000, 300'000);
}

ojson channel_state(const json& snapshot, const uint256& charged) {
    ojson s;
    s["channelId"] = snapshot.value("channelId", "");
    s["balance"] = snapshot.value("balance", "0");
    s["totalClaimed"] = snapshot.value("totalClaimed", "0");
    s["withdrawRequestedAt"] = snapshot.value("withdrawRequestedAt", 0);
    s["refundNonce"] = snapshot.value("refundNonce", "0");
    s["chargedCumulativeAmount"] = charged.to_decimal();
    return s;
}

}  // namespace

bool merchant::config_hashes_to(const std::string& id, const protocol::channel_config& cfg,
                                const protocol::bytes32& id_bytes) {
    if (auto proven = proven_ids_.find(id); proven && *proven == cfg) return true;
    if (protocol::channel_id(protocol::testnet_chain_id, cfg) != id_bytes) return false;
    proven_ids_.keep(id, cfg);
    return true;
}

http_response merchant::batch_payment(const http_request& req, const merchant_route& route,
                                      const ojson& payload, const ojson& offer) {
    const ojson& p = payload["payload"];
    const std::string type = p.value("type", "");
    const ojson voucher = p.value("voucher", ojson::object());
    const std::string id = lower(voucher.value("channelId", ""));
    // One payment at a time per channel, as the official server's per-channel lock
    // (server/storage.ts withChannelLock): the channel's record is read, checked and written
    // under it, while payments on other channels (several channels of one payer included) run
    // at once. batch_mutex_ guards only the maps, never a facilitator call.
    std::shared_ptr<std::mutex> channel_lock;
    {
        std::lock_guard lock(batch_mutex_);
        auto& l = channel_locks_[id];
        if (!l) l = std::make_shared<std::mutex>();
        channel_lock = l;
    }
    std::lock_guard serial(*channel_lock);
    auto load = [&]() -> std::optional<channel_record> {
        std::lock_guard lock(batch_mutex_);
        auto it = channels_.find(id);
        if (it == channels_.end()) return std::nullopt;
        return it->second;
    };
    auto save = [&](channel_record r) {
        std::lock_guard lock(batch_mutex_);
        // settle_batches() may have claimed meanwhile (it takes no channel lock): keep its word.
        if (auto it = channels_.find(id); it != channels_.end() && it->second.claimed > r.claimed) {
            r.claimed = it->second.claimed;
        }
        channels_[id] = std::move(r);
    };
    const std::string network = offer["network"];
    const uint256 max = dec(voucher.value("maxClaimableAmount", ojson("0")));
    const uint256 price = dec(json::parse(offer["amount"].dump()));
    // A refund voucher charges nothing: it repeats the charged total.
    auto expected_max = [&](const channel_record& r) -> result<uint256> {
        if (type == "refund") return r.charged;
        return r.charged.add(price);
    };

    auto corrective = [&](const channel_record& r) {
        ojson accepts = requirements(req, route);
        for (auto& o : accepts) {
            if (o["scheme"] != "batch-settlement") continue;
            o["extra"]["channelState"] = channel_state(r.snapshot, r.charged);
            if (!r.signature.empty()) {
                o["extra"]["voucherState"] = {{"signedMaxClaimable", r.signed_max.to_decimal()},
                                              {"signature", r.signature}};
            }
        }
        return challenge(req, route, "invalid_batch_settlement_evm_cumulative_amount_mismatch", accepts);
    };

    // As the official server (server/verify.ts handleBeforeVerify), an EOA-signed voucher is
    // checked here first, with no facilitator call: its config against the offer and its
    // signature against the payer authorizer.
    auto cfg = protocol::channel_config_from_json(json::parse(p.value("channelConfig", ojson()).dump()));
    const auto id_bytes = protocol::bytes32_from_hex(id);
    const bool bound = cfg && id_bytes && config_hashes_to(id, *cfg, *id_bytes);
    const bool eoa_voucher = type == "voucher" && cfg && !cfg->payer_authorizer.is_zero();
    if (eoa_voucher) {
        const std::string prefix = "invalid_batch_settlement_evm_";
        if (!id_bytes) return challenge(req, route, prefix + "voucher_payload");
        detail::channel_terms terms{config_.asset, config_.pay_to, config_.receiver_authorizer,
                                    uint256{config_.withdraw_delay}};
        if (!bound) return challenge(req, route, prefix + "channel_id_mismatch");
        if (auto why = detail::channel_terms_mismatch(*cfg, terms)) return challenge(req, route, prefix + *why);
        auto sig = protocol::from_hex(voucher.value("signature", ""));
        if (!sig || !detail::voucher_signed_by_payer(protocol::testnet_chain_id, *cfg, *id_bytes, max, *sig)) {
            return challenge(req, route, prefix + "voucher_signature");
        }
    }

    // A known channel whose voucher does not continue the charged total gets the corrective 402
    // before any facilitator call, once the channel config is shown to hash to the channel id.
    std::optional<json> local_snapshot;  // the chain's state as last seen, when still fresh
    if (auto known = load()) {
        auto expected = expected_max(*known);
        if (bound && (!expected || max != *expected)) return corrective(*known);
        // The official server's local verification (evaluateVoucherAgainstCachedState): while the
        // channel's on-chain state is fresh, an EOA-signed voucher is judged against it here and
        // the facilitator is not asked. Deposits and refunds always go to the facilitator.
        const auto ttl = std::chrono::milliseconds(onchain_state_ttl_ms(config_));
        if (eoa_voucher && bound && known->onchain_synced_at &&
            std::chrono::steady_clock::now() - *known->onchain_synced_at <= ttl) {
            const std::string prefix = "invalid_batch_settlement_evm_";
            if (max > dec(known->snapshot.value("balance", json("0")))) {
                return challenge(req, route, prefix + "cumulative_exceeds_balance");
            }
            if (!(max > dec(known->snapshot.value("totalClaimed", json("0"))))) {
                return challenge(req, route, prefix + "cumulative_below_claimed");
            }
            local_snapshot = known->snapshot;
        }
    }

    json snapshot;
    std::string payer;
    if (local_snapshot) {
        snapshot = std::move(*local_snapshot);
        payer = cfg->payer.to_checksum();
    } else {
        auto verified = detail::call_facilitator(config_, facilitator_connections_, "verify", 2, payload, offer);
        if (!verified) return challenge(req, route, verified.error().detail);
        if (!verified->value("isValid", false)) {
            return challenge(req, route, verified->value("invalidReason", "invalid_payment"));
        }
        snapshot = verified->value("extra", json::object());
        payer = verified->value("payer", "");
    }
    const bool verified_on_chain = !local_snapshot.has_value();

    std::optional<channel_record> stored = load();
    if (!stored) {
        // No local record: the on-chain totalClaimed is the baseline (spec "Server state loss").
        stored.emplace();
        stored->charged = dec(snapshot.value("totalClaimed", json("0")));
        stored->claimed = stored->charged;
    }
    channel_record rec = std::move(*stored);
    rec.snapshot = snapshot;
    save(rec);

    if (type == "refund") {
        if (max != rec.charged) return corrective(rec);
        // The official server's enrichment (server/settle.ts): the amount (the whole remainder
        // unless the client asked for less), the channel's refund nonce, and the claims to run
        // first, always an array.
        const uint256 balance = dec(snapshot.value("balance", json("0")));
        auto remainder = balance.sub(rec.charged);
        if (!remainder || remainder->is_zero()) {
            return challenge(req, route, "invalid_batch_settlement_evm_refund_no_balance");
        }
        ojson settle_payload = payload;
        ojson& sp = settle_payload["payload"];
        if (!sp.contains("amount")) sp["amount"] = remainder->to_decimal();
        sp["refundNonce"] = dec(snapshot.value("refundNonce", json("0"))).to_decimal();
        sp["claims"] = ojson::array();
        if (rec.signed_max > rec.claimed && !rec.signature.empty()) {
            sp["claims"].push_back(
                ojson{{"voucher", {{"channel", rec.config}, {"maxClaimableAmount", rec.signed_max.to_decimal()}}},
                      {"signature", rec.signature},
                      {"totalClaimed", rec.charged.to_decimal()}});
        }
        auto settled = detail::call_facilitator(config_, facilitator_connections_, "settle", 2, settle_payload, offer);
        if (!settled) return challenge(req, route, settled.error().detail);
        if (!settled->value("success", false)) return detail::settle_failed_v2(*settled);
        rec.claimed = rec.charged;
        json receipt = *settled;
        // The refund moved the channel's balance: what the facilitator reports after it is the
        // chain's state from now on.
        if (receipt.contains("extra") && receipt["extra"].contains("channelState")) {
            rec.snapshot = receipt["extra"]["channelState"];
            rec.onchain_synced_at = std::chrono::steady_clock::now();
        }
        receipt["extra"]["channelState"]["chargedCumulativeAmount"] = rec.charged.to_decimal();
        // The hostile merchant's refund lies: the receipt's word on what came back, never what the
        // escrow returned.
        if (route.lie == merchant_lie::iou_refund_overstated || route.lie == merchant_lie::iou_refund_understated) {
            const uint256 returned = dec(receipt.value("amount", json("0")));
            receipt["amount"] = route.lie == merchant_lie::iou_refund_overstated
                                    ? returned.mul(uint256{2}).value_or(returned).to_decimal()
                                    : std::string("1");
        }
        json state = receipt["extra"]["channelState"];
        if (dec(state.value("balance", json("0"))) == dec(state.value("totalClaimed", json("0")))) {
            std::lock_guard lock(batch_mutex_);
            channels_.erase(id);  // fully refunded: the record goes (spec step 5)
        } else {
            save(rec);
        }
        return {200,
                {{"Content-Type", "application/json"},
                 {"PAYMENT-RESPONSE", detail::encode_header(receipt.dump())},
                 {"Access-Control-Expose-Headers", "PAYMENT-RESPONSE"}},
                json{{"message", "Refund acknowledged"}, {"channelId", id}}.dump(),
                {}};
    }

    auto expected = expected_max(rec);
    if (!expected || max != *expected) return corrective(rec);

    http_response response = run_handler(req, route);
    std::string tx;
    std::optional<std::string> deposited;
    json state_snapshot = snapshot;
    if (type == "deposit") {
        auto settled = detail::call_facilitator(config_, facilitator_connections_, "settle", 2, payload, offer);
        if (!settled) {
            return detail::settle_failed_v2(json{{"success", false}, {"errorReason", "unexpected_settle_error"},
                                                 {"errorMessage", settled.error().detail}, {"transaction", ""},
                                                 {"network", network}});
        }
        if (!settled->value("success", false)) return detail::settle_failed_v2(*settled);
        tx = settled->value("transaction", "");
        deposited = settled->value("amount", "");
        state_snapshot = settled->value("extra", json::object()).value("channelState", snapshot);
    }
    // Commit only after the handler succeeded (spec "Request Processing" step 3).
    rec.charged = max;
    rec.signed_max = max;
    rec.signature = voucher.value("signature", "");
    rec.config = json::parse(p["channelConfig"].dump());
    rec.snapshot = state_snapshot;
    if (verified_on_chain) rec.onchain_synced_at = std::chrono::steady_clock::now();
    save(rec);

    ojson body;
    body["success"] = true;
    body["payer"] = payer;
    body["transaction"] = tx;
    body["network"] = network;
    // A voucher moved nothing: the official server sends "amount":"" (server/settle.ts).
    body["amount"] = deposited ? *deposited : std::string();
    body["extra"] = {{"chargedAmount", price.to_decimal()}, {"channelState", channel_state(state_snapshot, rec.charged)}};
    // The hostile merchant's IOU lies: what it reports, never what it keeps or can claim.
    if (route.lie == merchant_lie::iou_overcharge) {
        const uint256 doubled = *price.mul(uint256{2});
        body["extra"]["chargedAmount"] = doubled.to_decimal();
        body["extra"]["channelState"]["chargedCumulativeAmount"] =
            (*max.sub(price)).add(doubled)->to_decimal();
    } else if (route.lie == merchant_lie::iou_stale_state) {
        body["extra"]["channelState"]["chargedCumulativeAmount"] = (*max.sub(price)).to_decimal();
    }
    response.headers.emplace_back("PAYMENT-RESPONSE", detail::encode_header(body.dump()));
    response.headers.emplace_back("Access-Control-Expose-Headers", "PAYMENT-RESPONSE");
    return response;
}

result<json> merchant::settle_batches() {
    std::lock_guard lock(batch_mutex_);
    const ojson offer = detail::make_offer(config_, addresses_, "batch-settlement", uint256{0}, "", "", "");
    ojson claims = ojson::array();
    std::map<std::string, uint256> claiming;  // what each claim takes the channel's claimed to
    for (const auto& [id, rec] : channels_) {
        if (rec.charged > rec.claimed && !rec.signature.empty()) {
            claiming[id] = rec.charged;
            claims.push_back({{"voucher", {{"channel", rec.config}, {"maxClaimableAmount", rec.signed_max.to_decimal()}}},
                              {"signature", rec.signature},
                              {"totalClaimed", rec.charged.to_decimal()}});
        }
    }
    if (!claims.empty()) {
        ojson claim_payload{{"x402Version", 2}, {"accepted", offer}, {"payload", {{"type", "claim"}, {"claims", claims}}}};
        PURSER_TRY(claimed, detail::call_facilitator(config_, facilitator_connections_, "settle", 2, claim_payload, offer));
        if (!claimed.value("success", false)) {
            return fail(errc::unavailable, "claim failed: " + claimed.value("errorReason", std::string()));
        }
        // Payments on other channels' locks may have moved `charged` on meanwhile: only what
        // was claimed counts as claimed.
        for (const auto& [id, to] : claiming) {
            if (auto it = channels_.find(id); it != channels_.end()) {
                it->second.claimed = to;
                it->second.snapshot["totalClaimed"] = to.to_decimal();
            }
        }
    }
    ojson settle_payload{{"x402Version", 2},
                         {"accepted", offer},
                         {"payload", {{"type", "settle"}, {"receiver", config_.pay_to.to_checksum()},
                                      {"token", config_.asset.to_checksum()}}}};
    return detail::call_facilitator(config_, facilitator_connections_, "settle", 2, settle_payload, offer);
}

}  // namespace purser::testnet
