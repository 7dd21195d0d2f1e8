// Which of a merchant's IOU channels carries the next voucher. The merchant accepts exactly the
// next running total of a channel, so a channel carries one voucher at a time; with
// payment.iou.channels = N the wallet keeps up to N channels with one merchant (salts 0..N-1),
// and concurrent calls spread over them. Each channel is still reserved in the store before any
// signature leaves (the store's caps hold per channel and in total); this file only chooses.
#include "payment_flow_detail.hpp"
#include "purser/protocol/x402_types.hpp"
#include "purser/store/store.hpp"
#include "purser/wallet/batch.hpp"

namespace purser::proxy {

using namespace detail::flow;
using protocol::uint256;

namespace {

/// What a channel's holdings can still take: deposited plus deposits on their way.
uint256 held(const store::channel& c) {
    return c.deposited.add(c.deposit_pending).value_or(uint256::max());
}

/// An open channel whose next voucher (charged + price) fits in what it holds.
bool covers(const std::optional<store::channel>& c, const uint256& price) {
    if (!c || c->state != store::channel_state::open) return false;
    auto need = c->charged.add(price);
    return need && *need <= held(*c);
}

}  // namespace

std::vector<payment_flow::channel_slot> payment_flow::read_group(const wallet::batch_channel& first) {
    const std::string first_id = protocol::to_hex(first.id);
    const std::uint32_t n = std::max(1u, options_.iou.channels);
    std::vector<std::string> ids;
    {
        std::lock_guard lock(mutex_);
        auto it = group_ids_.find(first_id);
        if (it != group_ids_.end()) ids = it->second;
    }
    if (ids.size() != n) {
        ids.clear();
        ids.push_back(first_id);
        for (std::uint32_t i = 1; i < n; ++i) {
            ids.push_back(protocol::to_hex(wallet::with_salt(first, wallet::indexed_salt(i)).id));
        }
        std::lock_guard lock(mutex_);
        group_ids_[first_id] = ids;
    }
    // Unreadable counts as unknown: the reservation, which reads each again, decides.
    auto stored = ledger_->get_channels(ids);
    std::vector<channel_slot> group;
    group.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        channel_slot slot;
        slot.index = i;
        slot.id = ids[i];
        if (stored && (*stored)[i]) slot.stored = std::move(*(*stored)[i]);
        group.push_back(std::move(slot));
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
        channel_gate& g = gates_[group[i].id];
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
