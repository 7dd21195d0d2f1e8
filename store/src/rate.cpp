// The rate index: approvals per agent per millisecond over the last few minutes, kept in the
// decision's own write transaction, so payments_per_minute is a short range sum instead of a
// walk over every row (declines included) of the agent's last minute under the write lock.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "codec.hpp"
#include "store_impl.hpp"

namespace purser::store {

namespace {

/// One millisecond's approvals in the rate index.
struct rate_entry {
    std::uint64_t at_ms = 0;
    std::uint64_t approvals = 0;
};

/// `agent`'s rate entries from `from_ms` on, oldest first. Entries after now (a clock stepped
/// back) are included, as the rows were before the index.
result<std::vector<rate_entry>> rate_entries(const detail::txn_base& t, MDB_dbi rate,
                                             std::string_view agent, std::uint64_t from_ms) {
    const std::string prefix = detail::writer().key_str(agent).take();
    PURSER_TRY(c, detail::cursor::open(t, rate));
    PURSER_TRY(e, c.seek(detail::rate_key(agent, from_ms)));
    std::vector<rate_entry> out;
    for (auto cur = e; cur && cur->key.size() == prefix.size() + 8 &&
                       cur->key.substr(0, prefix.size()) == prefix;) {
        auto v = detail::decode_u64_value(cur->value);
        if (!v) return purser::fail(errc::corrupt_record, "rate entry");
        out.push_back({detail::read_be64(cur->key.substr(prefix.size())), *v});
        PURSER_TRY(n, c.next());
        cur = n;
    }
    return out;
}

}  // namespace

result<std::uint64_t> store::impl::approvals_since(const detail::txn_base& t,
                                                   std::string_view agent,
                                                   std::uint64_t from_ms) const {
    PURSER_TRY(entries, rate_entries(t, rate, agent, from_ms));
    std::uint64_t sum = 0;
    for (const auto& e : entries) sum += e.approvals;
    return sum;
}

result<std::uint64_t> store::impl::rate_frees_in(const detail::txn_base& t, std::string_view agent,
                                                 std::uint64_t now, std::uint64_t limit) const {
    const std::uint64_t span = detail::rate_window_ms - 1;
    PURSER_TRY(entries, rate_entries(t, rate, agent, now >= span ? now - span : 0));
    std::uint64_t recent = 0;
    for (const auto& e : entries) recent += e.approvals;
    if (recent < limit) return std::uint64_t{0};
    // The oldest approvals leave first; once recent - limit + 1 have, one more fits.
    std::uint64_t left = 0;
    for (const auto& e : entries) {
        left += e.approvals;
        if (left < recent - limit + 1) continue;
        // It leaves the window rate_window_ms after it was made; one stamped after now (a clock
        // stepped back) is a whole window away.
        if (e.at_ms > now) return detail::rate_window_ms;
        return std::max<std::uint64_t>(1, e.at_ms + detail::rate_window_ms - now);
    }
    return detail::rate_window_ms;
}

result<void> store::impl::adjust_rate(detail::write_txn& t, std::string_view agent,
                                      std::uint64_t at_ms, bool add) const {
    const std::string key = detail::rate_key(agent, at_ms);
    PURSER_TRY(value, t.get(rate, key));
    std::uint64_t v = 0;
    if (value) {
        auto decoded = detail::decode_u64_value(*value);
        if (!decoded) return purser::fail(errc::corrupt_record, "rate entry");
        v = *decoded;
    }
    if (add) return t.put(rate, key, detail::encode_u64_value(v + 1));
    // Released after the entry aged out of the index: nothing left to take from.
    if (v == 0) return {};
    if (v == 1) {
        PURSER_TRY(gone, t.del(rate, key));
        (void)gone;
        return {};
    }
    return t.put(rate, key, detail::encode_u64_value(v - 1));
}

namespace {

/// Deletes `agent`'s rate entries stamped before `before_ms` (UINT64_MAX: all of them).
result<void> delete_rate_entries(detail::write_txn& t, MDB_dbi rate, std::string_view agent,
                                 std::uint64_t before_ms) {
    const std::string prefix = detail::writer().key_str(agent).take();
    std::vector<std::string> old;
    {
        PURSER_TRY(c, detail::cursor::open(t, rate));
        PURSER_TRY(e, c.seek(prefix));
        for (auto cur = e; cur && cur->key.size() == prefix.size() + 8 &&
                           cur->key.substr(0, prefix.size()) == prefix;) {
            if (detail::read_be64(cur->key.substr(prefix.size())) >= before_ms) break;
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

}  // namespace

result<void> store::impl::prune_rate(detail::write_txn& t, std::string_view agent,
                                     std::uint64_t now) const {
    if (now < detail::rate_keep_ms) return {};
    return delete_rate_entries(t, rate, agent, now - detail::rate_keep_ms);
}

result<void> store::impl::build_rate_index(detail::write_txn& t, std::uint64_t now) const {
    const std::uint64_t from = now > detail::rate_keep_ms ? now - detail::rate_keep_ms : 0;
    std::vector<std::uint64_t> ids;
    {
        PURSER_TRY(c, detail::cursor::open(t, by_time));
        PURSER_TRY(e, c.seek(detail::time_key(from, 0)));
        for (auto cur = e; cur;) {
            ids.push_back(detail::id_from_index_key(cur->key));
            PURSER_TRY(n, c.next());
            cur = n;
        }
    }
    std::map<std::string, bool, std::less<>> limited;  // agent name -> has a rate limit
    for (std::uint64_t id : ids) {
        PURSER_TRY(r, load_row(t, id));
        if (!r) return purser::fail(errc::corrupt_record, "time index points at row " + std::to_string(id));
        if (!detail::counts_for_rate(r->row)) continue;
        auto it = limited.find(r->row.agent);
        if (it == limited.end()) {
            PURSER_TRY(a, load_agent(t, r->row.agent));
            it =
                limited.emplace(r->row.agent, a && a->limits.payments_per_minute.has_value()).first;
        }
        if (it->second) PURSER_CHECK(adjust_rate(t, r->row.agent, r->row.at_ms, true));
    }
    return {};
}

result<void> store::impl::rebuild_agent_rate(detail::write_txn& t, std::string_view agent,
                                             std::uint64_t now, bool limited) const {
    PURSER_CHECK(delete_rate_entries(t, rate, agent, UINT64_MAX));
    if (!limited) return {};
    const std::uint64_t from = now > detail::rate_keep_ms ? now - detail::rate_keep_ms : 0;
    const std::string prefix = detail::writer().key_str(agent).take();
    std::vector<std::uint64_t> ids;
    {
        // The agent index's keys are (name, at_ms, id): its rows from `from` on, a clock
        // stepped back included, as the entries were kept before.
        PURSER_TRY(c, detail::cursor::open(t, by_agent));
        PURSER_TRY(e, c.seek(detail::name_time_key(agent, from, 0)));
        for (auto cur = e; cur && cur->key.substr(0, prefix.size()) == prefix &&
                           cur->key.size() == prefix.size() + 16;) {
            ids.push_back(detail::id_from_index_key(cur->key));
            PURSER_TRY(n, c.next());
            cur = n;
        }
    }
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
