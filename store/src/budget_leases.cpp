// Fleet budget leases in the local store: accounts (one per budget, the leases of one window
// merged) and, per reserved row, what it drew from which account, so every later step of the
// row moves the account the same way it moves the agent's counters.
#include "codec.hpp"
#include "store_impl.hpp"

namespace purser::store {
namespace {

constexpr std::uint8_t account_format = 1;
constexpr std::uint8_t draws_format = 1;

std::string encode_account(const budget_account& a) {
    detail::writer w;
    w.u8(account_format).str(a.window).u64(a.serial).u64(a.valid_until_ms).u64(a.granted).u64(a.consumed);
    w.u8(a.closing ? 1 : 0).u32(static_cast<std::uint32_t>(a.leases.size()));
    for (const auto& l : a.leases) w.u64(l.lease_id).u64(l.granted).u64(l.spent);
    return w.take();
}

result<budget_account> decode_account(std::string_view budget, std::string_view value) {
    detail::reader r(value);
    budget_account a;
    const bool known = r.u8() == account_format;
    a.budget = std::string(budget);
    a.window = r.str();
    a.serial = r.u64();
    a.valid_until_ms = r.u64();
    a.granted = r.u64();
    a.consumed = r.u64();
    a.closing = r.u8() != 0;
    const std::uint32_t n = r.u32();
    for (std::uint32_t i = 0; known && !r.failed() && i < n; ++i) {
        budget_account::lease_part l;
        l.lease_id = r.u64();
        l.granted = r.u64();
        l.spent = r.u64();
        a.leases.push_back(l);
    }
    if (!known || !r.ok_and_done()) {
        return purser::fail(errc::corrupt_record, "fleet budget account " + std::string(budget));
    }
    return a;
}

/// One budget a row drew on: the account (budget, serial), what it first drew, what it holds.
struct draw {
    std::string budget;
    std::uint64_t serial = 0;
    usd_micros drawn = 0;
    usd_micros held = 0;
};

std::string encode_draws(const std::vector<draw>& ds) {
    detail::writer w;
    w.u8(draws_format).u32(static_cast<std::uint32_t>(ds.size()));
    for (const auto& d : ds) w.str(d.budget).u64(d.serial).u64(d.drawn).u64(d.held);
    return w.take();
}

result<std::vector<draw>> decode_draws(std::uint64_t id, std::string_view value) {
    detail::reader r(value);
    const bool known = r.u8() == draws_format;
    const std::uint32_t n = r.u32();
    std::vector<draw> out;
    for (std::uint32_t i = 0; known && !r.failed() && i < n && i < 64; ++i) {
        draw d;
        d.budget = r.str();
        d.serial = r.u64();
        d.drawn = r.u64();
        d.held = r.u64();
        out.push_back(std::move(d));
    }
    if (!known || !r.ok_and_done()) {
        return purser::fail(errc::corrupt_record, "lease draws of row " + std::to_string(id));
    }
    return out;
}

result<std::optional<budget_account>> load_account(const store::impl& im, const detail::txn_base& t,
                                                   const std::string& budget) {
    PURSER_TRY(v, t.get(im.budget_accounts, budget));
    if (!v) return std::optional<budget_account>{};
    PURSER_TRY(a, decode_account(budget, *v));
    return std::optional<budget_account>{std::move(a)};
}

result<void> save_account(const store::impl& im, detail::write_txn& t, const budget_account& a) {
    return t.put(im.budget_accounts, a.budget, encode_account(a));
}

}  // namespace

result<bool> store::impl::budgets_cover(const detail::txn_base& t, const std::vector<std::string>& budgets,
                                        usd_micros amount, std::uint64_t now_ms) const {
    for (const auto& b : budgets) {
        PURSER_TRY(a, load_account(*this, t, b));
        // A free payment too needs a live lease: an account, not closing, in its window.
        const bool live = a && !a->closing && (a->valid_until_ms == 0 || now_ms < a->valid_until_ms);
        if (!live || a->remaining(now_ms) < amount) return false;
    }
    return true;
}

result<void> store::impl::draw_budgets(detail::write_txn& t, std::uint64_t id,
                                       const std::vector<std::string>& budgets, usd_micros amount) const {
    std::vector<draw> ds;
    for (const auto& b : budgets) {
        PURSER_TRY(a, load_account(*this, t, b));
        if (!a) return purser::fail(errc::corrupt_record, "fleet budget " + b + " vanished mid-decision");
        a->consumed += amount;  // budgets_cover checked consumed + amount <= granted
        PURSER_CHECK(save_account(*this, t, *a));
        ds.push_back(draw{b, a->serial, amount, amount});
    }
    return t.put(lease_draws, detail::be64(id), encode_draws(ds));
}

result<void> store::impl::follow_draws(detail::write_txn& t, std::uint64_t id, usd_micros counted) const {
    PURSER_TRY(v, t.get(lease_draws, detail::be64(id)));
    if (!v) return {};
    PURSER_TRY(ds, decode_draws(id, *v));
    for (auto& d : ds) {
        const usd_micros held = std::min(d.drawn, counted);
        if (held == d.held) continue;
        PURSER_TRY(a, load_account(*this, t, d.budget));
        // The account the row drew on, still open: it follows. One closed or gone has reported
        // (or will report) what it held at its close: never less than was signed.
        if (a && a->serial == d.serial && !a->closing) {
            if (held < d.held) {
                const usd_micros back = d.held - held;
                a->consumed = a->consumed > back ? a->consumed - back : 0;
            } else {
                // Late evidence of payment after a give-back: spent again, even past the
                // granted amount (remaining() is then 0 until the next lease).
                a->consumed += held - d.held;
            }
            PURSER_CHECK(save_account(*this, t, *a));
        }
        d.held = held;
    }
    return t.put(lease_draws, detail::be64(id), encode_draws(ds));
}

result<budget_account> store::add_budget_lease(const budget_lease_grant& g) {
    if (g.budget.empty() || g.budget.size() > 64) {
        return purser::fail(errc::invalid_argument, "a fleet budget name of 1..64 bytes");
    }
    if (g.lease_id == 0 || g.granted == 0 || g.granted > max_countable_usd_micros) {
        return purser::fail(errc::invalid_argument, "a lease needs an id and a granted amount");
    }
    return impl_->write<budget_account>([&](detail::write_txn& t) -> result<budget_account> {
        PURSER_TRY(found, load_account(*impl_, t, g.budget));
        budget_account a;
        if (!found) {
            a.budget = g.budget;
            a.window = g.window;
            a.serial = g.lease_id;
            a.valid_until_ms = g.valid_until_ms;
        } else {
            a = std::move(*found);
            if (a.closing) {
                return purser::fail(errc::invalid_transition, "fleet budget " + g.budget +
                                                                  ": its account is closing; forget it first");
            }
            if (a.window != g.window) {
                return purser::fail(errc::invalid_transition, "fleet budget " + g.budget + ": account of window " +
                                                                  a.window + ", lease of " + g.window);
            }
            for (const auto& l : a.leases) {
                if (l.lease_id == g.lease_id) {
                    return purser::fail(errc::invalid_argument, "lease " + std::to_string(g.lease_id) +
                                                                    " is installed already");
                }
            }
            if (a.leases.size() >= 4096) {
                return purser::fail(errc::invalid_argument, "fleet budget " + g.budget + ": 4096 leases in one account");
            }
        }
        if (a.granted > max_countable_usd_micros - g.granted) {
            return purser::fail(errc::overflow, "fleet budget " + g.budget + ": granted");
        }
        a.granted += g.granted;
        a.leases.push_back(budget_account::lease_part{g.lease_id, g.granted, 0});
        PURSER_CHECK(save_account(*impl_, t, a));
        return a;
    });
}

result<std::vector<budget_account>> store::budget_accounts() const {
    PURSER_TRY(t, impl_->begin_read());
    std::vector<budget_account> out;
    PURSER_TRY(c, detail::cursor::open(t, impl_->budget_accounts));
    PURSER_TRY(e, c.first());
    for (auto cur = e; cur;) {
        PURSER_TRY(a, decode_account(cur->key, cur->value));
        out.push_back(std::move(a));
        PURSER_TRY(n, c.next());
        cur = n;
    }
    return out;
}

result<budget_account> store::close_budget_account(const std::string& budget) {
    return impl_->write<budget_account>([&](detail::write_txn& t) -> result<budget_account> {
        PURSER_TRY(found, load_account(*impl_, t, budget));
        if (!found) return purser::fail(errc::invalid_argument, "no account of fleet budget " + budget);
        budget_account a = std::move(*found);
        if (a.closing) return a;
        a.closing = true;
        // What was consumed, laid over the leases in order: each reports at most its grant. A
        // consumption above the grants (late evidence of payment) is capped at them here.
        usd_micros left = a.consumed;
        for (auto& l : a.leases) {
            l.spent = std::min(l.granted, left);
            left -= l.spent;
        }
        PURSER_CHECK(save_account(*impl_, t, a));
        return a;
    });
}

result<bool> store::forget_budget_account(const std::string& budget, std::uint64_t serial) {
    return impl_->write<bool>([&](detail::write_txn& t) -> result<bool> {
        PURSER_TRY(found, load_account(*impl_, t, budget));
        if (!found || found->serial != serial) return false;
        if (!found->closing) {
            return purser::fail(errc::invalid_transition, "fleet budget " + budget + ": close the account first");
        }
        PURSER_TRY(gone, t.del(impl_->budget_accounts, budget));
        return gone;
    });
}

}  // namespace purser::store
