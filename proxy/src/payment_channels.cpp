// Which of a merchant's IOU channels carries the next voucher. The merchant accepts exactly the
// next running total of a channel, so a channel carries one voucher at a time; with
// payment.iou.channels = N the wallet keeps up to N channels with one merchant (salts 0..N-1),
// and concurrent calls spread over them. Each channel is still reserved in the store before any
// signature leaves (the store's caps hold per channel and in total); this file only chooses.
#include <algorithm>

#include "payment_flow_detail.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/store/store.hpp"
#include "purser/wallet/batch.hpp"
#include "purser/wallet/signer.hpp"

namespace purser::proxy {

using namespace detail::flow;
using protocol::uint256;

namespace {

/// What a channel's holdings can still take: deposited plus deposits on their way.
uint256 held(const store::channel_funds& c) {
    return c.deposited.add(c.deposit_pending).value_or(uint256::max());
}

/// An open channel whose next voucher (charged + price) fits in what it holds.
bool covers(const std::optional<store::channel_funds>& c, const uint256& price) {
    if (!c || c->state != store::channel_state::open) return false;
    auto need = c->charged.add(price);
    return need && *need <= held(*c);
}

}  // namespace

std::shared_ptr<const payment_flow::channel_group> payment_flow::group_of(
    const protocol::payment_requirements& offer) {
    if (!signer_) return nullptr;
    // Everything make_batch_channel reads of the offer; the wallet's address is the same for
    // the flow's life. Terms that differ in any way (a corrective 402's extra included) get
    // their own entry: never a channel of other terms.
    std::string key = offer.network;
    key.append("\n").append(offer.pay_to).append("\n").append(offer.asset).append("\n").append(
        offer.extra.dump(-1, ' ', false, protocol::ojson::error_handler_t::replace));
    if (auto known = channel_groups_.find(key)) return *known;
    auto first = wallet::make_batch_channel(signer_->address(), offer, *registry_);
    if (!first) return nullptr;
    auto group = std::make_shared<channel_group>();
    const std::uint32_t n = std::max(1u, options_.iou.channels);
    group->channels.reserve(n);
    group->ids.reserve(n);
    group->records.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        group->channels.push_back(i == 0 ? *first : wallet::with_salt(*first, wallet::indexed_salt(i)));
        group->ids.push_back(protocol::to_hex(group->channels.back().id));
        group->records.push_back(channel_record(group->channels.back(), {}, 0, {}));
    }
    // When full the memo is emptied: requests deciding now keep theirs, and ordinary merchants
    // are back in the next few requests.
    std::shared_ptr<const channel_group> made = std::move(group);
    channel_groups_.keep(std::move(key), made);
    return made;
}

std::vector<payment_flow::channel_slot> payment_flow::read_group(const channel_group& channels) {
    // Unreadable counts as unknown: the reservation, which reads the chosen one again, decides.
    auto stored = ledger_->get_channel_funds(channels.ids);
    std::vector<channel_slot> group(channels.ids.size());
    for (std::size_t i = 0; i < group.size(); ++i) {
        group[i].index = static_cast<std::uint32_t>(i);
        group[i].id = channels.ids[i];
        if (stored) group[i].stored = (*stored)[i];
    }
    return group;
}

payment_flow::channel_claim payment_flow::claim_channel(const std::vector<channel_slot>& group,
                                                        const uint256& price, unsigned decimals) {
    auto gate_of = [&](std::size_t i) -> const channel_gate* {
        auto it = gates_.find(group[i].id);
        return it == gates_.end() ? nullptr : &it->second;
    };
    auto busy = [&](std::size_t i) {
        const channel_gate* g = gate_of(i);
        return g != nullptr && g->busy;
    };
    auto take = [&](std::size_t i, const uint256& opening) {
        channel_gate& g = gates_[std::string(group[i].id)];
        g.busy = true;
        g.opening = opening;
        return channel_claim{i, true};
    };
    auto usable = [&](std::size_t i) {
        return !group[i].stored || group[i].stored->state == store::channel_state::open;
    };

    // A merchant that broke the rules on one channel gets no voucher on another: the request
    // goes to the quarantined channel, whose reservation declines iou_quarantined.
    for (std::size_t i = 0; i < group.size(); ++i) {
        const auto& c = group[i].stored;
        if (c && c->state == store::channel_state::quarantined) {
            return busy(i) ? channel_claim{i, false} : take(i, {});
        }
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
        if (!busy(i) && covers(group[i].stored, price)) return take(i, {});
    }

    // Open (or refill) a free channel when a deposit may, within the caps as the store will
    // check them, counting the deposits that other requests are about to make.
    auto deposit_each = configured_units(options_.iou.deposit, decimals, "deposit");
    auto channel_cap = configured_units(options_.iou.max_channel, decimals, "max_channel");
    auto total_cap = configured_units(options_.iou.max_total, decimals, "max_total");
    if (deposit_each && channel_cap && total_cap && *deposit_each && !(*deposit_each)->is_zero()) {
        std::optional<uint256> escrow;  // read once, and only when a total cap applies
        for (std::size_t i = 0; i < group.size(); ++i) {
            if (busy(i) || !usable(i)) continue;
            const auto& c = group[i].stored;
            const uint256 has = c ? held(*c) : uint256{};
            auto need = (c ? c->charged : uint256{}).add(price);
            if (!need || *need <= has) continue;
            const uint256 deposit = std::max(*need->sub(has), **deposit_each);
            auto after = has.add(deposit);
            if (!after || (*channel_cap && *after > **channel_cap)) continue;
            if (*total_cap) {
                if (!escrow) {
                    auto read = ledger_->escrow_held();
                    if (!read) break;
                    escrow = *read;
                    for (const auto& [id, g] : gates_) {
                        escrow = escrow->add(g.opening).value_or(uint256::max());
                    }
                }
                auto total = escrow->add(deposit);
                if (!total || *total > **total_cap) break;  // the same for every channel
            }
            return take(i, deposit);
        }
    }

    // Wait for the channel that will be able to pay soonest: the shortest queue among the busy
    // ones that cover the price or are being funded.
    std::optional<std::size_t> behind;
    for (std::size_t i = 0; i < group.size(); ++i) {
        const channel_gate* g = gate_of(i);
        if (g == nullptr || !g->busy) continue;
        if (!covers(group[i].stored, price) && g->opening.is_zero()) continue;
        if (!behind || g->waiters.size() < gate_of(*behind)->waiters.size()) behind = i;
    }
    if (behind) return channel_claim{*behind, false};

    // Nothing can pay now or soon: a free channel takes it, and its reservation says why not
    // (a deposit it may still make, or iou_insufficient), as with a single channel.
    for (std::size_t i = 0; i < group.size(); ++i) {
        if (!busy(i) && usable(i)) return take(i, {});
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
        if (!busy(i)) return take(i, {});
    }
    std::size_t shortest = 0;
    for (std::size_t i = 1; i < group.size(); ++i) {
        if (gate_of(i)->waiters.size() < gate_of(shortest)->waiters.size()) shortest = i;
    }
    return channel_claim{shortest, false};
}

}  // namespace purser::proxy
