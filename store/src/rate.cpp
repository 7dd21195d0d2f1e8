// The rate index: approvals per agent per millisecond over the last few minutes, and the same
// per second, kept in the decision's own write transaction, so payments_per_minute is a short
// sum instead of a walk over every row (declines included) of the agent's last minute under the
// write lock. The window's first, partial second is summed from its milliseconds and the rest
// from whole seconds: at most 1,000 + 60 entries however fast the agent pays, where summing the
// milliseconds alone read one entry per millisecond that saw an approval, up to 60,000.
#include <algorithm>
#include <string>
#include <vector>

#include "codec.hpp"
#include "store_impl.hpp"

namespace purser::store {

namespace {

/// One millisecond's, or one second's, approvals in the rate index.
struct rate_entry {
    std::uint64_t at = 0;  ///< the millisecond, or the second
    std::uint64_t approvals = 0;
};

/// Second entries sort after every agent's millisecond entries (an agent name's length byte is
/// at most 64), so a walk over one agent's milliseconds never meets them.
constexpr char second_mark = '\xff';

std::string ms_prefix(std::string_view agent) { return detail::writer().key_str(agent).take(); }
std::string second_prefix(std::string_view agent) {
    return detail::writer().raw(std::string_view(&second_mark, 1)).key_str(agent).take();
}

/// Entries `prefix` + be64(at) with lo <= at < hi, oldest first; each read counted in `visited`.
result<std::vector<rate_entry>> entries_between(const detail::txn_base& t, MDB_dbi rate,
                                                const std::string& prefix, std::uint64_t lo,
                                                std::uint64_t hi,
                                                std::atomic<std::uint64_t>& visited) {
    PURSER_TRY(c, detail::cursor::open(t, rate));
    PURSER_TRY(e, c.seek(prefix + detail::be64(lo)));
    std::vector<rate_entry> out;
    for (auto cur = e; cur && cur->key.size() == prefix.size() + 8 &&
                       cur->key.substr(0, prefix.size()) == prefix;) {
        const std::uint64_t at = detail::read_be64(cur->key.substr(prefix.size()));
        if (at >= hi) break;
        visited.fetch_add(1, std::memory_order_relaxed);
        auto v = detail::decode_u64_value(cur->value);
        if (!v) return purser::fail(errc::corrupt_record, "rate entry");
        out.push_back({at, *v});
        PURSER_TRY(n, c.next());
        cur = n;
    }
    return out;
}

/// `agent`'s approvals from `from_ms` on: the milliseconds of the first, partial second, then
/// whole seconds. Entries after now (a clock stepped back) are included, as the rows were
/// before the index.
struct window_entries {
    std::vector<rate_entry> edge_ms;
    std::vector<rate_entry> seconds;
    [[nodiscard]] std::uint64_t total() const {
        std::uint64_t sum = 0;
        for (const auto& e : edge_ms) sum += e.approvals;
        for (const auto& e : seconds) sum += e.approvals;
        return sum;
    }
};

result<window_entries> window_from(const detail::txn_base& t, MDB_dbi rate, std::string_view agent,
                                   std::uint64_t from_ms, std::atomic<std::uint64_t>& visited) {
    const std::uint64_t first_whole = from_ms / 1000 + (from_ms % 1000 == 0 ? 0 : 1);
    window_entries w;
    PURSER_TRY(edge,
               entries_between(t, rate, ms_prefix(agent), from_ms, first_whole * 1000, visited));
    PURSER_TRY(seconds,
               entries_between(t, rate, second_prefix(agent), first_whole, UINT64_MAX, visited));
    w.edge_ms = std::move(edge);
    w.seconds = std::move(seconds);
    return w;
}

/// Adds `delta` (+1 or -1) to the value under `key`; a value reaching 0 is deleted, and taking
/// from an absent one changes nothing.
result<void> bump(detail::write_txn& t, MDB_dbi rate, const std::string& key, int delta) {
    PURSER_TRY(value, t.get(rate, key));
    std::uint64_t v = 0;
    if (value) {
        auto decoded = detail::decode_u64_value(*value);
        if (!decoded) return purser::fail(errc::corrupt_record, "rate entry");
        v = *decoded;
    }
    if (delta > 0) return t.put(rate, key, detail::encode_u64_value(v + 1));
    if (v == 0) return {};
    if (v == 1) {
        PURSER_TRY(gone, t.del(rate, key));
        (void)gone;
        return {};
    }
    return t.put(rate, key, detail::encode_u64_value(v - 1));
}

/// Deletes the entries `prefix` + be64(at) with at < `before`.
result<void> delete_before(detail::write_txn& t, MDB_dbi rate, const std::string& prefix,
                           std::uint64_t before) {
    std::vector<std::string> old;
    {
        PURSER_TRY(c, detail::cursor::open(t, rate));
        PURSER_TRY(e, c.seek(prefix));
        for (auto cur = e; cur && cur->key.size() == prefix.size() + 8 &&
                           cur->key.substr(0, prefix.size()) == prefix;) {
            if (detail::read_be64(cur->key.substr(prefix.size())) >= before) break;
            old.emplace_back(cur->key);
            PURSER_TRY(n, c.next());
            cur = n;
        }
    }
    for (const auto& key : old) {
        PURSER_TRY(gone, t.del(rate, key));
        (void)gone;
    }
    return {};
}

/// Deletes `agent`'s millisecond entries stamped before `before_ms`, and its seconds wholly
/// before it (UINT64_MAX: all of them).
result<void> delete_rate_entries(detail::write_txn& t, MDB_dbi rate, std::string_view agent,
                                 std::uint64_t before_ms) {
    PURSER_CHECK(delete_before(t, rate, ms_prefix(agent), before_ms));
    return delete_before(t, rate, second_prefix(agent), before_ms / 1000);
}

}  // namespace

std::string detail::rate_second_key(std::string_view agent, std::uint64_t second) {
    return second_prefix(agent) + be64(second);
}

result<std::uint64_t> store::impl::approvals_since(const detail::txn_base& t,
                                                   std::string_view agent,
                                                   std::uint64_t from_ms) const {
    PURSER_TRY(w, window_from(t, rate, agent, from_ms, rate_entries_visited));
    return w.total();
}

result<std::uint64_t> store::impl::rate_frees_in(const detail::txn_base& t, std::string_view agent,
                                                 std::uint64_t now, std::uint64_t limit) const {
    const std::uint64_t span = detail::rate_window_ms - 1;
    PURSER_TRY(w, window_from(t, rate, agent, now >= span ? now - span : 0, rate_entries_visited));
    const std::uint64_t recent = w.total();
    if (recent < limit) return std::uint64_t{0};
    // The oldest approvals leave first; once recent - limit + 1 have, one more fits. An approval
    // leaves the window rate_window_ms after it was made; one stamped after now (a clock stepped
    // back) is a whole window away.
    const std::uint64_t must_leave = recent - limit + 1;
    auto leaves_in = [&](std::uint64_t at_ms) -> std::uint64_t {
        if (at_ms > now) return detail::rate_window_ms;
        return std::max<std::uint64_t>(1, at_ms + detail::rate_window_ms - now);
    };
    std::uint64_t left = 0;
    for (const auto& e : w.edge_ms) {
        left += e.approvals;
        if (left >= must_leave) return leaves_in(e.at);
    }
    for (const auto& s : w.seconds) {
        if (left + s.approvals < must_leave) {
            left += s.approvals;
            continue;
        }
        // It is in this second: its milliseconds say which one.
        PURSER_TRY(ms, entries_between(t, rate, ms_prefix(agent), s.at * 1000, (s.at + 1) * 1000,
                                       rate_entries_visited));
        for (const auto& e : ms) {
            left += e.approvals;
            if (left >= must_leave) return leaves_in(e.at);
        }
        return leaves_in(s.at * 1000 + 999);  // its milliseconds were pruned: the second's end
    }
    return detail::rate_window_ms;
}

result<void> store::impl::adjust_rate(detail::write_txn& t, std::string_view agent,
                                      std::uint64_t at_ms, bool add) const {
    const std::string key = detail::rate_key(agent, at_ms);
    if (!add) {
        // Released after the entry aged out of the index: nothing left to take from.
        PURSER_TRY(value, t.get(rate, key));
        if (!value) return {};
    }
    PURSER_CHECK(bump(t, rate, key, add ? 1 : -1));
    return bump(t, rate, detail::rate_second_key(agent, at_ms / 1000), add ? 1 : -1);
}

result<void> store::impl::prune_rate(detail::write_txn& t, std::string_view agent,
                                     std::uint64_t now) const {
    if (now < detail::rate_keep_ms) return {};
    return delete_rate_entries(t, rate, agent, now - detail::rate_keep_ms);
}

result<void> store::impl::build_rate_index(detail::write_txn& t, std::uint64_t now) const {
    PURSER_TRY(every, all_agents(t));
    for (const auto& a : every) {
        if (a.limits.payments_per_minute) PURSER_CHECK(rebuild_agent_rate(t, a.name, now, true));
    }
    return {};
}

result<void> store::impl::rebuild_agent_rate(detail::write_txn& t, std::string_view agent,
                                             std::uint64_t now, bool limited) const {
    PURSER_CHECK(delete_rate_entries(t, rate, agent, UINT64_MAX));
    if (!limited) return {};
    const std::uint64_t from = now > detail::rate_keep_ms ? now - detail::rate_keep_ms : 0;
    // From `from` on, a clock stepped back included, as the entries were kept before.
    PURSER_TRY(ids, ids_in_range(t, by_agent, detail::writer().key_str(agent).take(), from));
    for (std::uint64_t id : ids) {
        PURSER_TRY(r, load_row(t, id));
        if (!r)
            return purser::fail(errc::corrupt_record,
                                "agent index points at row " + std::to_string(id));
        if (detail::counts_for_rate(r->row))
            PURSER_CHECK(adjust_rate(t, agent, r->row.at_ms, true));
    }
    return {};
}

}  // namespace purser::store
