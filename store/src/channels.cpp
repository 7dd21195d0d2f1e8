// IOU channels: their records, and the lifecycle steps of a voucher, each one write transaction
// that moves the voucher's row, its deposit's row and the channel together.
#include <algorithm>

#include "codec.hpp"
#include "purser/store/channel.hpp"
#include "purser/store/text.hpp"
#include "store_impl.hpp"

namespace purser::store {

using detail::stored_row;
using protocol::uint256;

std::string_view to_string(channel_state s) noexcept {
    switch (s) {
        case channel_state::open: return "open";
        case channel_state::withdrawing: return "withdrawing";
        case channel_state::closed: return "closed";
        case channel_state::quarantined: return "quarantined";
    }
    return "unknown";
}

uint256 channel::exposure() const {
    return signed_max > claimed ? *signed_max.sub(claimed) : uint256{};
}

uint256 channel::available() const {
    return deposited > signed_max ? *deposited.sub(signed_max) : uint256{};
}

result<std::optional<channel>> store::impl::load_channel(const detail::txn_base& t,
                                                         std::string_view id) const {
    PURSER_TRY(value, t.get(channels, ascii_lower(id)));
    if (!value) return std::optional<channel>{};
    auto c = detail::decode_channel(*value);
    if (!c) return purser::fail(errc::corrupt_record, "channel " + std::string(id));
    return c;
}

result<void> store::impl::save_channel(detail::write_txn& t, channel& c) const {
    c.id = ascii_lower(c.id);
    if (c.id.empty() || c.id.size() > 255) {
        return purser::fail(errc::invalid_argument, "channel id of 1..255 characters");
    }
    return t.put(channels, c.id, detail::encode_channel(c));
}

result<uint256> store::impl::escrow_total(const detail::txn_base& t) const {
    uint256 total;
    PURSER_TRY(c, detail::cursor::open(t, channels));
    PURSER_TRY(e, c.first());
    for (auto cur = e; cur;) {
        auto ch = detail::decode_channel(cur->value);
        if (!ch) return purser::fail(errc::corrupt_record, "channel record");
        if (ch->state != channel_state::closed) {
            PURSER_TRY(held, ch->deposited.add(ch->deposit_pending));
            const uint256 left = held > ch->claimed ? *held.sub(ch->claimed) : uint256{};
            PURSER_TRY(sum, total.add(left));
            total = sum;
        }
        PURSER_TRY(n, c.next());
        cur = n;
    }
    return total;
}

result<std::optional<channel>> store::get_channel(std::string_view id) const {
    PURSER_TRY(t, impl_->begin_read());
    return impl_->load_channel(t, id);
}

result<std::vector<std::optional<channel_funds>>> store::get_channel_funds(
    const std::vector<std::string>& ids) const {
    PURSER_TRY(t, impl_->begin_read());
    std::vector<std::optional<channel_funds>> out;
    out.reserve(ids.size());
    std::string lowered;
    for (const auto& id : ids) {
        // Ids are stored lowercase; the payment flow's already are (no copy for those).
        const bool lower = std::none_of(id.begin(), id.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
        if (!lower) lowered = ascii_lower(id);
        PURSER_TRY(value, t.get(impl_->channels, lower ? std::string_view(id) : std::string_view(lowered)));
        if (!value) {
            out.emplace_back();
            continue;
        }
        auto f = detail::decode_channel_funds(*value);
        if (!f) return purser::fail(errc::corrupt_record, "channel " + id);
        out.emplace_back(*f);
    }
    return out;
}

result<uint256> store::escrow_held() const {
    PURSER_TRY(t, impl_->begin_read());
    return impl_->escrow_total(t);
}

result<std::vector<channel>> store::list_channels() const {
    PURSER_TRY(t, impl_->begin_read());
    std::vector<channel> out;
    PURSER_TRY(c, detail::cursor::open(t, impl_->channels));
    PURSER_TRY(e, c.first());
    for (auto cur = e; cur;) {
        auto ch = detail::decode_channel(cur->value);
        if (!ch) return purser::fail(errc::corrupt_record, "channel record");
        out.push_back(std::move(*ch));
        PURSER_TRY(n, c.next());
        cur = n;
    }
    return out;
}

namespace {

std::string clip(std::string_view text) { return bounded_text(text, max_row_field_bytes); }

constexpr std::string_view deposit_marker = "deposit into channel ";

/// Loads a voucher's row (and its deposit's) and its channel for one lifecycle step.
struct voucher_rows {
    stored_row before;
    std::optional<stored_row> deposit_before;
    channel ch;
};

result<voucher_rows> load_voucher(const store::impl& im, const detail::txn_base& t,
                                  std::uint64_t id, std::uint64_t deposit_id,
                                  std::initializer_list<status> allowed_from) {
    PURSER_TRY(row, im.load_row(t, id));
    if (!row || row->row.state == status::declined || row->row.kind != row_kind::payment ||
        row->row.scheme != "batch-settlement") {
        return purser::fail(errc::reservation_not_found, "voucher " + std::to_string(id));
    }
    if (std::find(allowed_from.begin(), allowed_from.end(), row->row.state) == allowed_from.end()) {
        return purser::fail(errc::invalid_transition, "voucher " + std::to_string(id) + " is " +
                                                          std::string(to_string(row->row.state)));
    }
    voucher_rows out{*row, std::nullopt, {}};
    if (deposit_id != 0) {
        PURSER_TRY(dep, im.load_row(t, deposit_id));
        if (!dep || dep->row.kind != row_kind::deposit || dep->row.nonce.empty()) {
            return purser::fail(errc::reservation_not_found, "deposit " + std::to_string(deposit_id));
        }
        out.deposit_before = *dep;
    }
    PURSER_TRY(ch, im.load_channel(t, row->row.nonce));
    if (!ch) return purser::fail(errc::corrupt_record, "voucher of a missing channel " + row->row.nonce);
    out.ch = std::move(*ch);
    return out;
}

/// Moves a row to `to` with `detail`, keeping counters and indexes in step.
result<ledger_row> move_row(const store::impl& im, detail::write_txn& t, const stored_row& before,
                            status to, std::string_view detail, std::uint64_t now) {
    stored_row after = before;
    after.row.state = to;
    after.row.updated_ms = now;
    after.row.detail = clip(detail);
    if (to == status::paid) {
        after.row.charged_atomic = after.row.amount_atomic;
        after.row.charged_usd = after.row.kind == row_kind::payment ? after.row.amount_usd : 0;
    }
    PURSER_CHECK(im.write_row(t, after, before));
    return after.row;
}

/// Loads channel `id`, lets `change` edit it (or refuse), stamps and saves it, in one write.
template <class Change>
result<channel> change_channel(store::impl& im, std::string_view id, Change&& change) {
    const std::uint64_t now = im.now();
    return im.write<channel>([&](detail::write_txn& t) -> result<channel> {
        PURSER_TRY(found, im.load_channel(t, id));
        if (!found) return purser::fail(errc::reservation_not_found, "channel " + std::string(id));
        channel c = std::move(*found);
        PURSER_CHECK(change(c));
        c.updated_ms = now;
        PURSER_CHECK(im.save_channel(t, c));
        return c;
    });
}

}  // namespace

result<ledger_row> store::commit_voucher(std::uint64_t reservation_id, std::uint64_t deposit_id,
                                         const voucher_settlement& facts,
                                         std::string_view evidence, std::optional<agent_usage>* left) {
    const std::uint64_t now = impl_->now();
    return impl_->write<ledger_row>([&](detail::write_txn& t) -> result<ledger_row> {
        PURSER_TRY(v, load_voucher(*impl_, t, reservation_id, deposit_id,
                                   {status::reserved, status::failed, status::in_doubt}));
        std::string detail = "voucher " + facts.max_claimable.to_decimal();
        if (facts.charged_amount) detail += "; merchant charged " + facts.charged_amount->to_decimal();
        if (facts.charged) detail += " (cumulative " + facts.charged->to_decimal() + ")";
        if (!evidence.empty()) detail += "; " + std::string(evidence);
        stored_row before = v.before;
        before.row.merchant_status = facts.merchant_status;
        before.row.latency_ms = facts.latency_ms;
        if (facts.deposit_landed) before.row.tx_hash = clip(facts.deposit_tx);
        PURSER_TRY(paid, move_row(*impl_, t, before, status::paid, detail, now));
        channel& c = v.ch;
        if (v.deposit_before && is_open(v.deposit_before->row.state)) {
            const uint256 amount = v.deposit_before->row.amount_atomic;
            if (facts.deposit_landed) {
                stored_row dep = *v.deposit_before;
                dep.row.tx_hash = clip(facts.deposit_tx);
                PURSER_TRY(moved, move_row(*impl_, t, dep, status::paid,
                                           "deposit into channel " + c.id, now));
                (void)moved;
                PURSER_TRY(deposited, c.deposited.add(amount));
                c.deposited = deposited;
                c.deposit_pending = c.deposit_pending > amount ? *c.deposit_pending.sub(amount) : uint256{};
            } else {
                PURSER_TRY(moved, move_row(*impl_, t, *v.deposit_before, status::in_doubt,
                                           "the merchant accepted the voucher without settling the deposit",
                                           now));
                (void)moved;
            }
        }
        if (facts.max_claimable == c.signed_max) c.signature = facts.signature;
        if (facts.charged) c.charged = *facts.charged;
        if (facts.claimed) c.claimed = *facts.claimed;
        if (c.in_flight == reservation_id) c.in_flight = 0;
        c.updated_ms = now;
        PURSER_CHECK(impl_->save_channel(t, c));
        if (left != nullptr) {
            // As in transition(): only the answer's Purser-Remaining depends on it.
            auto usage = impl_->usage_in(t, paid.agent, now);
            *left = usage ? std::optional<agent_usage>(*usage) : std::nullopt;
        }
        return paid;
    },
        // An outcome (decisions.cpp transition), unless it records a deposit that landed: that
        // moves the channel's deposited balance up, and is flushed before it returns.
        deposit_id == 0 ? detail::group_committer::wait_for::committed
                        : detail::group_committer::wait_for::durable);
}

result<ledger_row> store::release_voucher(std::uint64_t reservation_id, std::uint64_t deposit_id,
                                          std::string_view why) {
    const std::uint64_t now = impl_->now();
    return impl_->write<ledger_row>([&](detail::write_txn& t) -> result<ledger_row> {
        PURSER_TRY(v, load_voucher(*impl_, t, reservation_id, deposit_id, {status::reserved}));
        PURSER_TRY(released, move_row(*impl_, t, v.before, status::released, why, now));
        channel& c = v.ch;
        if (v.deposit_before && v.deposit_before->row.state == status::reserved) {
            const uint256 amount = v.deposit_before->row.amount_atomic;
            PURSER_TRY(moved, move_row(*impl_, t, *v.deposit_before, status::released, why, now));
            (void)moved;
            c.deposit_pending = c.deposit_pending > amount ? *c.deposit_pending.sub(amount) : uint256{};
        }
        // The voucher never left, so the high it set was never exposed: give it back, but only
        // while no later voucher was signed on top of it.
        if (c.in_flight == reservation_id) {
            c.signed_max = c.signed_max > v.before.row.amount_atomic
                               ? *c.signed_max.sub(v.before.row.amount_atomic)
                               : uint256{};
            c.in_flight = 0;
        }
        c.updated_ms = now;
        PURSER_CHECK(impl_->save_channel(t, c));
        return released;
    }, detail::group_committer::wait_for::committed);  // undone, the high and the row stay counted
}

result<ledger_row> store::unsettled_voucher(std::uint64_t reservation_id, std::uint64_t deposit_id,
                                            status to, std::string_view why,
                                            std::string_view signature,
                                            const uint256& max_claimable,
                                            std::uint16_t merchant_status) {
    if (to != status::failed && to != status::in_doubt) {
        return purser::fail(errc::invalid_argument, "an unsettled voucher is failed or in_doubt");
    }
    const std::uint64_t now = impl_->now();
    return impl_->write<ledger_row>([&](detail::write_txn& t) -> result<ledger_row> {
        PURSER_TRY(v, load_voucher(*impl_, t, reservation_id, deposit_id,
                                   {status::reserved, status::failed, status::in_doubt}));
        stored_row before = v.before;
        before.row.merchant_status = merchant_status;
        // Still counted: the merchant holds the signature and may claim it whenever it likes.
        PURSER_TRY(moved, move_row(*impl_, t, before, to, why, now));
        channel& c = v.ch;
        if (v.deposit_before && v.deposit_before->row.state == status::reserved) {
            PURSER_TRY(dep, move_row(*impl_, t, *v.deposit_before, status::in_doubt, why, now));
            (void)dep;
        }
        if (max_claimable == c.signed_max && !signature.empty()) c.signature = std::string(signature);
        if (c.in_flight == reservation_id) c.in_flight = 0;
        c.updated_ms = now;
        PURSER_CHECK(impl_->save_channel(t, c));
        return moved;
    }, detail::group_committer::wait_for::committed);  // undone, the row stays reserved: counted
}

result<channel> store::adopt_channel(const channel& found) {
    const std::uint64_t now = impl_->now();
    return impl_->write<channel>([&](detail::write_txn& t) -> result<channel> {
        PURSER_TRY(known, impl_->load_channel(t, found.id));
        if (known) return std::move(*known);
        channel c = found;
        c.deposit_pending = uint256{};
        c.charged = c.claimed;
        c.signed_max = c.claimed;
        c.signature.clear();
        c.state = channel_state::open;
        c.in_flight = 0;
        c.note = "recovered from the chain";
        c.updated_ms = now;
        PURSER_CHECK(impl_->save_channel(t, c));
        return c;
    });
}

result<channel> store::resync_channel(std::string_view id, const uint256& charged,
                                      std::optional<uint256> claimed, std::string_view note,
                                      std::optional<uint256> proven_max,
                                      std::string_view proven_signature) {
    return change_channel(*impl_, id, [&](channel& c) -> result<void> {
        if (proven_max && *proven_max > c.signed_max) {
            c.signed_max = *proven_max;
            c.signature = std::string(proven_signature);
        }
        // Never above what was signed: a merchant cannot talk the base past the exposure.
        if (charged > c.signed_max) {
            return purser::fail(errc::invalid_argument,
                                "charged " + charged.to_decimal() + " is above the " +
                                    c.signed_max.to_decimal() + " signed");
        }
        c.charged = charged;
        if (claimed) c.claimed = *claimed;
        if (!note.empty()) c.note = clip(note);
        return {};
    });
}

result<channel> store::set_channel_state(std::string_view id, channel_state to,
                                         std::string_view note) {
    return change_channel(*impl_, id, [&](channel& c) -> result<void> {
        // A quarantine is for people to lift; nothing the code does undoes it.
        if (c.state == channel_state::quarantined && to != channel_state::quarantined) {
            return purser::fail(errc::invalid_transition, "channel " + c.id + " is quarantined");
        }
        c.state = to;
        if (!note.empty()) c.note = clip(note);
        return {};
    });
}

result<std::uint64_t> store::reserve_deposit(const channel& fresh, const ledger_row& request,
                                             std::optional<uint256> channel_cap,
                                             std::optional<uint256> total_cap) {
    const std::uint64_t now = impl_->now();
    const uint256 amount = request.amount_atomic;
    if (amount.is_zero()) return purser::fail(errc::invalid_argument, "a deposit of zero");
    return impl_->write<std::uint64_t>([&](detail::write_txn& t) -> result<std::uint64_t> {
        PURSER_TRY(found, impl_->load_channel(t, fresh.id));
        channel c = fresh;
        if (found) {
            c = std::move(*found);
        } else {
            c.deposited = c.deposit_pending = c.claimed = c.charged = c.signed_max = uint256{};
            c.signature.clear();
            c.state = channel_state::open;
            c.in_flight = 0;
        }
        if (c.state != channel_state::open) {
            return purser::fail(errc::invalid_argument, "channel " + c.id + " is " +
                                                            std::string(to_string(c.state)));
        }
        PURSER_TRY(held, c.deposited.add(c.deposit_pending));
        PURSER_TRY(after, held.add(amount));
        if (channel_cap && after > *channel_cap) {
            return purser::fail(errc::invalid_argument, "the channel would hold " + after.to_decimal() +
                                                            ", above payment.iou.max_channel " +
                                                            channel_cap->to_decimal());
        }
        if (total_cap) {
            PURSER_TRY(total, impl_->escrow_total(t));
            PURSER_TRY(with_this, total.add(amount));
            if (with_this > *total_cap) {
                return purser::fail(errc::invalid_argument, "all channels would hold " + with_this.to_decimal() +
                                                                ", above payment.iou.max_total " +
                                                                total_cap->to_decimal());
            }
        }
        PURSER_TRY(id, impl_->next_ledger_id(t));
        stored_row row;
        row.session = impl_->session.id();
        row.row = request;
        row.row.id = id;
        row.row.at_ms = row.row.updated_ms = now;
        row.row.kind = row_kind::deposit;
        row.row.state = status::reserved;
        row.row.amount_usd = 0;
        row.row.host = ledger_host(request.host);
        row.row.nonce = clip(request.nonce);
        row.row.detail = std::string(deposit_marker) + c.id;
        PURSER_CHECK(impl_->write_row(t, row, std::nullopt));
        c.deposit_pending = after > c.deposited ? *after.sub(c.deposited) : uint256{};
        c.updated_ms = now;
        PURSER_CHECK(impl_->save_channel(t, c));
        return id;
    });
}

result<ledger_row> store::settle_deposit(std::uint64_t deposit_id, status to, std::string_view tx_hash,
                                         std::string_view why) {
    if (to != status::paid && to != status::released && to != status::in_doubt) {
        return purser::fail(errc::invalid_argument, "a deposit settles paid, released or in_doubt");
    }
    const std::uint64_t now = impl_->now();
    return impl_->write<ledger_row>([&](detail::write_txn& t) -> result<ledger_row> {
        PURSER_TRY(row, impl_->load_row(t, deposit_id));
        if (!row || row->row.kind != row_kind::deposit) {
            return purser::fail(errc::reservation_not_found, "deposit " + std::to_string(deposit_id));
        }
        if (!is_open(row->row.state)) {
            return purser::fail(errc::invalid_transition, "deposit " + std::to_string(deposit_id) + " is " +
                                                              std::string(to_string(row->row.state)));
        }
        // The channel is named in the row's detail ("deposit into channel 0x<64 hex>"), which
        // every step keeps.
        const std::string& d = row->row.detail;
        const auto at = d.find(deposit_marker);
        if (at == std::string::npos) return purser::fail(errc::corrupt_record, "deposit row without its channel");
        const std::string channel_text = d.substr(at + deposit_marker.size(), 66);
        PURSER_TRY(found, impl_->load_channel(t, channel_text));
        if (!found) return purser::fail(errc::corrupt_record, "deposit into a missing channel");
        channel c = std::move(*found);
        stored_row before = *row;
        if (!tx_hash.empty()) before.row.tx_hash = clip(tx_hash);
        const std::string kept = std::string(deposit_marker) + channel_text;
        PURSER_TRY(moved, move_row(*impl_, t, before, to, why.empty() ? kept : std::string(why) + "; " + kept, now));
        const uint256 amount = row->row.amount_atomic;
        if (to != status::in_doubt) {
            c.deposit_pending = c.deposit_pending > amount ? *c.deposit_pending.sub(amount) : uint256{};
        }
        if (to == status::paid) {
            PURSER_TRY(deposited, c.deposited.add(amount));
            c.deposited = deposited;
        }
        c.updated_ms = now;
        PURSER_CHECK(impl_->save_channel(t, c));
        return moved;
    });
}

result<channel> store::record_channel_exit(std::string_view id, const uint256& returned,
                                           channel_state to, std::string_view note) {
    return change_channel(*impl_, id, [&](channel& c) -> result<void> {
        const uint256 floor = c.claimed;
        const uint256 left = c.deposited > returned ? *c.deposited.sub(returned) : uint256{};
        c.deposited = left > floor ? left : floor;
        // Money coming back is recorded even from a quarantined channel, which stays quarantined.
        if (c.state != channel_state::quarantined) c.state = to;
        if (!note.empty()) c.note = clip(note);
        return {};
    });
}

}  // namespace purser::store
