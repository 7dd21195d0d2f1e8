// Payment decisions and the reservation lifecycle: every one a single write transaction (a
// batch's nested one under group commit).
#include <map>

#include "codec.hpp"
#include "purser/store/channel.hpp"
#include "purser/store/text.hpp"
#include "store_impl.hpp"

namespace purser::store {

using detail::counter_kind;
using detail::stored_row;

namespace {

result<void> check_request(const reserve_request& q) {
    // Names the proxy itself produced: a wrong size here is a bug or an attack on the proxy, not
    // merchant text, so it is refused rather than cut.
    if (q.agent.size() > 255) return purser::fail(errc::invalid_argument, "agent longer than 255 bytes");
    if (q.host.size() > 255) return purser::fail(errc::invalid_argument, "host longer than 255 bytes");
    if (q.asset_decimals > 77) return purser::fail(errc::invalid_argument, "asset decimals above 77");
    if (q.x402_version < 0 || q.x402_version > 65535) {
        return purser::fail(errc::invalid_argument, "x402 version out of range");
    }
    if (q.budgets.size() > 16) return purser::fail(errc::invalid_argument, "more than 16 fleet budgets");
    for (std::size_t i = 0; i < q.budgets.size(); ++i) {
        if (q.budgets[i].empty() || q.budgets[i].size() > 64) {
            return purser::fail(errc::invalid_argument, "a fleet budget name of 1..64 bytes");
        }
        // Twice the same budget would draw on it twice.
        for (std::size_t j = 0; j < i; ++j) {
            if (q.budgets[j] == q.budgets[i]) return purser::fail(errc::invalid_argument, "a fleet budget named twice");
        }
    }
    return {};
}

bool iequal(std::string_view a, std::string_view b) { return ascii_lower(a) == ascii_lower(b); }

bool any_iequal(const std::vector<std::string>& list, std::string_view v) {
    for (const auto& item : list) {
        if (!v.empty() && iequal(item, v)) return true;
    }
    return false;
}

stored_row row_from_request(const reserve_request& q, std::uint64_t id, std::uint64_t now,
                            std::uint64_t session) {
    stored_row s;
    s.session = session;
    ledger_row& r = s.row;
    r.id = id;
    r.at_ms = now;
    r.updated_ms = now;
    r.agent = q.agent;
    r.method = bounded_text(q.method, max_row_field_bytes);
    r.url = bounded_text(q.url, max_row_url_bytes);
    r.host = ledger_host(q.host);
    r.x402_version = q.x402_version;
    r.scheme = bounded_text(q.scheme, max_row_field_bytes);
    r.network = bounded_text(q.network, max_row_field_bytes);
    r.asset = bounded_text(q.asset, max_row_field_bytes);
    r.asset_decimals = q.asset_decimals;
    r.amount_atomic = q.amount_atomic;
    r.pay_to = bounded_text(q.pay_to, max_row_field_bytes);
    r.nonce = bounded_text(q.nonce, max_row_field_bytes);
    r.expires_at = q.expires_at;
    r.payer = bounded_text(q.payer, max_row_field_bytes);
    return s;
}

/// sum + add > cap, with an overflowing sum counting as over.
bool over(std::uint64_t spent, std::uint64_t add, std::uint64_t cap) {
    return spent > UINT64_MAX - add || spent + add > cap;
}

}  // namespace

namespace {

/// The policy checks of reserve(), in the documented order. nullopt = approve.
result<std::optional<reason>> evaluate(const store::impl& im, const detail::write_txn& t,
                                       const reserve_request& q, const std::optional<agent>& who,
                                       std::string_view host, std::optional<usd_micros> usd,
                                       std::uint64_t now) {
    using out = std::optional<reason>;
    if (!who) return out{reason::agent_unknown};
    const agent& a = *who;
    const policy& p = a.limits;
    if (a.frozen) return out{reason::agent_frozen};
    if (!host_allowed(p, host)) return out{reason::host_not_allowed};
    const auto network_listed = [&] {
        if (any_iequal(p.allow_networks, q.network)) return true;
        for (const auto& alias : q.network_aliases) {
            if (any_iequal(p.allow_networks, alias)) return true;
        }
        return false;
    };
    if (!p.allow_networks.empty() && !network_listed()) {
        return out{reason::network_not_allowed};
    }
    if (!q.usd_pegged) return out{reason::asset_not_allowed};
    if (!p.allow_assets.empty() && !any_iequal(p.allow_assets, q.asset) &&
        !any_iequal(p.allow_assets, q.asset_symbol)) {
        return out{reason::asset_not_allowed};
    }
    // Too large to count at all is above any per-request limit there could be.
    if (!usd) return out{reason::per_request_limit_exceeded};
    const usd_micros amount = *usd;
    if (p.per_request && amount > *p.per_request) return out{reason::per_request_limit_exceeded};
    if (p.daily) {
        PURSER_TRY(spent, im.counter(t, a.id, counter_kind::day, utc_day(now)));
        if (over(spent, amount, *p.daily)) return out{reason::daily_limit_exceeded};
    }
    if (p.monthly) {
        PURSER_TRY(spent, im.counter(t, a.id, counter_kind::month, utc_month(now)));
        if (over(spent, amount, *p.monthly)) return out{reason::monthly_limit_exceeded};
    }
    PURSER_TRY(lifetime, im.counter(t, a.id, counter_kind::lifetime, 0));
    if (p.lifetime && over(lifetime, amount, *p.lifetime)) {
        return out{reason::lifetime_limit_exceeded};
    }
    // Counters are checked: even without a lifetime cap the sum must stay representable.
    if (over(lifetime, amount, max_countable_usd_micros)) {
        return out{reason::lifetime_limit_exceeded};
    }
    // A zero allowance declines even a free payment: the agent has nothing left.
    if (a.allowance && (*a.allowance == 0 || amount > *a.allowance)) {
        return out{reason::insufficient_allowance};
    }
    if (p.in_flight) {
        PURSER_TRY(pending, im.counter(t, a.id, counter_kind::in_flight, 0));
        if (over(pending, amount, *p.in_flight)) return out{reason::in_flight_limit_exceeded};
    }
    if (p.payments_per_minute) {
        // Approvals (rows neither declined nor released) in the last 60 seconds, from the rate
        // index: the declines of an agent hammering its limit cost nothing here.
        const std::uint64_t span = detail::rate_window_ms - 1;
        const std::uint64_t from = now >= span ? now - span : 0;
        PURSER_TRY(recent, im.approvals_since(t, q.agent, from));
        if (recent >= *p.payments_per_minute) return out{reason::rate_limited};
    }
    return out{};
}

}  // namespace

result<std::optional<std::uint64_t>> store::impl::fold_decline(detail::write_txn& t,
                                                              const detail::stored_row& fresh) {
    const ledger_row& r = fresh.row;
    if (options.decline_fold_ms == 0 || !r.why) return std::optional<std::uint64_t>{};
    const std::string key = detail::writer()
                                .key_str(r.agent)
                                .key_str(r.host)
                                .u8(static_cast<std::uint8_t>(*r.why))
                                .take();
    PURSER_TRY(last, t.get(by_decline, key));
    if (last) {
        auto id = detail::decode_u64_value(*last);
        if (!id) return purser::fail(errc::corrupt_record, "decline index");
        PURSER_TRY(before, load_row(t, *id));
        if (before && before->row.state == status::declined && before->row.why == r.why &&
            before->row.agent == r.agent && r.at_ms >= before->row.at_ms &&
            r.at_ms - before->row.at_ms < options.decline_fold_ms &&
            before->row.repeats < UINT32_MAX) {
            stored_row after = *before;
            ++after.row.repeats;
            after.row.updated_ms = r.at_ms;
            PURSER_CHECK(write_row(t, after, before));
            return std::optional<std::uint64_t>{*id};
        }
    }
    PURSER_CHECK(t.put(by_decline, key, detail::encode_u64_value(r.id)));
    return std::optional<std::uint64_t>{};
}

namespace {

/// A voucher's checks against its channel, after the agent's policy approved: nullopt = approve.
result<std::optional<reason>> check_channel(const store::impl& im, const detail::write_txn& t,
                                            const voucher_request& v, const channel& c) {
    using out = std::optional<reason>;
    if (c.state == channel_state::quarantined) return out{reason::iou_quarantined};
    if (c.state != channel_state::open) return out{reason::iou_insufficient};
    PURSER_TRY(held, c.deposited.add(c.deposit_pending));
    PURSER_TRY(after_deposit, held.add(v.deposit));
    if (v.max_claimable > after_deposit) return out{reason::iou_insufficient};
    if (v.deposit != protocol::uint256{}) {
        if (v.channel_cap && after_deposit > *v.channel_cap) return out{reason::iou_insufficient};
        if (v.total_cap) {
            PURSER_TRY(total, im.escrow_total(t));
            PURSER_TRY(with_this, total.add(v.deposit));
            if (with_this > *v.total_cap) return out{reason::iou_insufficient};
        }
    }
    return out{};
}

/// The channel a voucher draws on: the stored one, else `fresh` with nothing in it yet.
result<channel> voucher_channel(const store::impl& im, const detail::txn_base& t,
                                const voucher_request& v) {
    PURSER_TRY(found, im.load_channel(t, v.fresh.id));
    if (found) return std::move(*found);
    channel c = v.fresh;
    c.deposited = c.deposit_pending = c.claimed = c.charged = c.signed_max = protocol::uint256{};
    c.signature.clear();
    c.state = channel_state::open;
    c.in_flight = 0;
    return c;
}

/// reserve()'s work inside the write transaction `t` it is given.
result<decision> decide(store::impl& im, detail::write_txn& t, const reserve_request& q,
                        std::uint64_t now) {
    PURSER_TRY(id, im.next_ledger_id(t));
    stored_row row = row_from_request(q, id, now, im.session.id());
    std::optional<channel> ch;
    if (q.voucher) {
        // What the agent is charged: how far this voucher raises the channel's signed high.
        // Below the high (the merchant charged less than was signed before) it costs nothing new.
        PURSER_TRY(c, voucher_channel(im, t, *q.voucher));
        ch = std::move(c);
        row.row.amount_atomic = q.voucher->max_claimable > ch->signed_max
                                    ? *q.voucher->max_claimable.sub(ch->signed_max)
                                    : protocol::uint256{};
        row.row.nonce = ch->id;
    }

    // The amount in micro-USD, rounded up. Unpegged assets have no USD value to count.
    std::optional<usd_micros> usd;
    if (q.usd_pegged) {
        if (auto converted = to_usd_micros(row.row.amount_atomic, q.asset_decimals)) usd = *converted;
    }
    row.row.amount_usd = usd.value_or(0);

    // The agent is read inside this write transaction, so a freeze or a policy change committed
    // by another process (the CLI) applies to this very decision.
    PURSER_TRY(who, im.load_agent(t, q.agent));
    if (who) {
        PURSER_TRY(gone, im.is_removed(t, q.agent));
        if (gone) who.reset();  // declined agent_unknown, like a name never added
    }
    PURSER_TRY(policy_says, evaluate(im, t, q, who, row.row.host, usd, now));
    std::optional<reason> why = policy_says;
    if (!why && ch) {
        PURSER_TRY(channel_says, check_channel(im, t, *q.voucher, *ch));
        why = channel_says;
    }
    // Fleet budgets last: the agent's own caps name their own reasons first.
    if (!why && !q.budgets.empty()) {
        PURSER_TRY(covered, im.budgets_cover(t, q.budgets, row.row.amount_usd, now));
        if (!covered) why = reason::budget_unavailable;
    }

    decision d;
    d.ledger_id = id;
    d.amount = row.row.amount_usd;
    if (why) {
        row.row.state = status::declined;
        row.row.why = why;
        d.why = why;
        if (*why == reason::rate_limited && who && who->limits.payments_per_minute) {
            PURSER_TRY(frees, im.rate_frees_in(t, q.agent, now, *who->limits.payments_per_minute));
            d.retry_after_ms = frees;
        }
    } else {
        row.row.state = status::reserved;
        d.approved = true;
        d.reservation_id = id;
    }
    if (who && who->limits.payments_per_minute) PURSER_CHECK(im.prune_rate(t, q.agent, now));
    std::optional<std::uint64_t> folded;
    if (why) {
        PURSER_TRY(into, im.fold_decline(t, row));
        folded = into;
    }
    if (folded) {
        d.ledger_id = *folded;
    } else {
        PURSER_CHECK(im.write_row(t, row, std::nullopt));
    }
    if (d.approved && !q.budgets.empty()) {
        PURSER_CHECK(im.draw_budgets(t, id, q.budgets, row.row.counted_usd()));
    }
    if (d.approved) d.counted_atomic = row.row.amount_atomic;
    if (d.approved && ch) {
        const voucher_request& v = *q.voucher;
        if (v.deposit != protocol::uint256{}) {
            // The deposit is its own row: wallet money into escrow, counted against no agent.
            stored_row dep = row;
            dep.row.id = id + 1;
            dep.row.kind = row_kind::deposit;
            dep.row.amount_atomic = v.deposit;
            dep.row.amount_usd = 0;
            dep.row.nonce = bounded_text(v.deposit_nonce, max_row_field_bytes);
            dep.row.expires_at = v.deposit_expires_at;
            dep.row.detail = "deposit into channel " + ch->id;
            PURSER_CHECK(im.write_row(t, dep, std::nullopt));
            d.deposit_id = dep.row.id;
            PURSER_TRY(pending, ch->deposit_pending.add(v.deposit));
            ch->deposit_pending = pending;
        }
        if (v.max_claimable > ch->signed_max) ch->signed_max = v.max_claimable;
        ch->in_flight = id;
        ch->updated_ms = now;
        PURSER_CHECK(im.save_channel(t, *ch));
    }
    if (who) {
        PURSER_TRY(after, im.load_agent(t, q.agent));
        if (after) d.allowance_remaining = after->allowance;
    }
    return d;
}

}  // namespace

result<decision> store::reserve(const reserve_request& q) {
    PURSER_CHECK(check_request(q));
    const std::uint64_t now = impl_->now();
    return impl_->write<decision>(
        [&](detail::write_txn& t) { return decide(*impl_, t, q, now); });
}

result<std::uint64_t> store::record_decline(const reserve_request& q, reason why,
                                            std::string_view detail) {
    PURSER_CHECK(check_request(q));
    const std::uint64_t now = impl_->now();
    // Nothing was signed, so nothing waits for the flush: a decline is answered once committed,
    // and a runaway agent's declines share the batches (and their one flush) of everyone else.
    return impl_->write<std::uint64_t>([&](detail::write_txn& t) -> result<std::uint64_t> {
        PURSER_TRY(id, impl_->next_ledger_id(t));
        stored_row row = row_from_request(q, id, now, impl_->session.id());
        if (q.usd_pegged) {
            if (auto converted = to_usd_micros(q.amount_atomic, q.asset_decimals)) {
                row.row.amount_usd = *converted;
            }
        }
        row.row.state = status::declined;
        row.row.why = why;
        row.row.detail = bounded_text(detail, max_row_field_bytes);
        PURSER_TRY(folded, impl_->fold_decline(t, row));
        if (!folded) PURSER_CHECK(impl_->write_row(t, row, std::nullopt));
        return folded.value_or(id);
    }, detail::group_committer::wait_for::committed);
}

namespace {

/// One lifecycle step: load the row, check it may move from its status, change it, write it.
/// Each is an outcome (group_commit.hpp wait_for::committed): undone by a system crash, the row
/// is as it was before, still counted (reserved rows of a dead session are in doubt until
/// reconciled), so it need not wait for the flush that makes it durable. Except a change that
/// makes the row count more than before (late proof of payment for an expired row): losing it
/// would lose a record of money that moved, so it is flushed before it returns.
template <class Change>
result<ledger_row> transition(store::impl& im, std::uint64_t id,
                              std::initializer_list<status> allowed_from, Change&& change,
                              std::optional<agent_usage>* left = nullptr) {
    const std::uint64_t now = im.now();
    bool counts_more = false;
    auto moved = im.write<ledger_row>([&](detail::write_txn& t) -> result<ledger_row> {
        PURSER_TRY(before, im.load_row(t, id));
        if (!before || before->row.state == status::declined) {
            return purser::fail(errc::reservation_not_found, "reservation " + std::to_string(id));
        }
        bool ok = false;
        for (status s : allowed_from) ok = ok || s == before->row.state;
        if (!ok) {
            return purser::fail(errc::invalid_transition,
                                "reservation " + std::to_string(id) + " is " +
                                    std::string(to_string(before->row.state)));
        }
        stored_row after = *before;
        after.row.updated_ms = now;
        PURSER_TRY(changed, change(after.row));
        (void)changed;
        PURSER_CHECK(im.write_row(t, after, before));
        counts_more = after.row.counted_usd() > before->row.counted_usd();
        if (left != nullptr) {
            // Only the answer's Purser-Remaining: unreadable, it is left out, not the commit.
            auto usage = im.usage_in(t, after.row.agent, now);
            *left = usage ? std::optional<agent_usage>(*usage) : std::nullopt;
        }
        return after.row;
    }, detail::group_committer::wait_for::committed);
    if (moved && counts_more) PURSER_CHECK(im.flush());
    return moved;
}

std::string clip(std::string_view text) { return bounded_text(text, max_row_field_bytes); }

}  // namespace

result<ledger_row> store::commit(std::uint64_t reservation_id, const settlement& facts,
                                 std::string_view evidence, std::optional<agent_usage>* left) {
    return transition(*impl_, reservation_id,
                      {status::reserved, status::failed, status::in_doubt, status::expired},
                      [&](ledger_row& r) -> result<bool> {
                          r.state = status::paid;
                          r.tx_hash = clip(facts.tx_hash);
                          r.charged_atomic = facts.charged_atomic.value_or(r.amount_atomic);
                          // Only pegged assets are ever reserved, so this converts exactly
                          // as reserve() did (rounded up).
                          PURSER_TRY(usd, to_usd_micros(*r.charged_atomic, r.asset_decimals));
                          r.charged_usd = usd;
                          r.merchant_status = facts.merchant_status;
                          r.latency_ms = facts.latency_ms;
                          r.detail = clip(evidence);
                          return true;
                      },
                      left);
}

result<ledger_row> store::fail(std::uint64_t reservation_id, std::string_view why,
                               std::uint16_t merchant_status) {
    return transition(*impl_, reservation_id, {status::reserved, status::in_doubt},
                      [&](ledger_row& r) -> result<bool> {
                          r.state = status::failed;
                          r.detail = clip(why);
                          r.merchant_status = merchant_status;
                          return true;
                      });
}

result<ledger_row> store::mark_in_doubt(std::uint64_t reservation_id, std::string_view why) {
    return transition(*impl_, reservation_id, {status::reserved, status::failed},
                      [&](ledger_row& r) -> result<bool> {
                          r.state = status::in_doubt;
                          r.detail = clip(why);
                          return true;
                      });
}

result<ledger_row> store::release(std::uint64_t reservation_id, std::string_view why) {
    return transition(*impl_, reservation_id, {status::reserved},
                      [&](ledger_row& r) -> result<bool> {
                          r.state = status::released;
                          r.detail = clip(why);
                          return true;
                      });
}

result<std::vector<ledger_row>> store::awaiting_proof(std::uint64_t now_ms,
                                                      std::uint64_t margin_s,
                                                      std::size_t limit) const {
    PURSER_TRY(t, impl_->begin_read());
    std::vector<ledger_row> out;
    PURSER_TRY(c, detail::cursor::open(t, impl_->by_expiry));
    PURSER_TRY(e, c.first());
    for (auto cur = e; cur && out.size() < limit;) {
        const std::uint64_t expires_at = detail::read_be64(cur->key.substr(0, 8));
        // validBefore is exclusive (EIP-3009 needs block time < validBefore); the margin covers
        // a chain clock running behind ours.
        if (expires_at > UINT64_MAX / 1000 - margin_s || (expires_at + margin_s) * 1000 > now_ms) {
            break;
        }
        const std::uint64_t id = detail::id_from_index_key(cur->key);
        PURSER_TRY(r, impl_->load_row(t, id));
        if (!r) return purser::fail(errc::corrupt_record, "expiry index points at row " + std::to_string(id));
        // A `reserved` row belongs to a request still in progress (recover() turns those of
        // dead processes into in_doubt): its outcome is about to be recorded.
        if (r->row.state == status::failed || r->row.state == status::in_doubt) {
            out.push_back(r->row);
        }
        PURSER_TRY(n, c.next());
        cur = n;
    }
    return out;
}

result<ledger_row> store::expire_unsettled(std::uint64_t reservation_id, std::string_view proof,
                                           std::uint64_t margin_s) {
    return transition(*impl_, reservation_id, {status::failed, status::in_doubt},
                      [&](ledger_row& r) -> result<bool> {
                          const std::uint64_t now_s = impl_->now() / 1000;
                          if (r.expires_at == 0 || r.expires_at > now_s ||
                              now_s - r.expires_at < margin_s) {
                              return purser::fail(errc::invalid_transition,
                                                  "reservation " + std::to_string(r.id) +
                                                      " is not past its validBefore plus " +
                                                      std::to_string(margin_s) + " s");
                          }
                          r.state = status::expired;
                          r.detail = clip(proof);
                          return true;
                      });
}

result<std::size_t> store::recover() {
    const std::uint64_t now = impl_->now();
    const std::uint64_t own = impl_->session.id();
    PURSER_TRY(t, impl_->begin_write());
    PURSER_TRY(ids, impl_->ids_with_status(t, status::reserved));
    std::map<std::uint64_t, bool> alive;  // session -> still running
    std::size_t marked = 0;
    for (std::uint64_t id : ids) {
        PURSER_TRY(before, impl_->load_row(t, id));
        if (!before) return purser::fail(errc::corrupt_record, "status index points at row " + std::to_string(id));
        const std::uint64_t s = before->session;
        if (s == own) continue;
        auto it = alive.find(s);
        if (it == alive.end()) {
            it = alive.emplace(s, detail::session_lock::alive(impl_->dir, s)).first;
        }
        if (it->second) continue;
        stored_row after = *before;
        after.row.state = status::in_doubt;
        after.row.updated_ms = now;
        after.row.detail = "process ended before the outcome was recorded";
        PURSER_CHECK(impl_->write_row(t, after, before));
        ++marked;
    }
    if (marked > 0) {
        PURSER_CHECK(t.commit());
    }
    detail::session_lock::sweep(impl_->dir, own);
    return marked;
}

}  // namespace purser::store
