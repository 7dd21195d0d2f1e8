// Reading the ledger: by index, by full scan, aggregates, and the counters-versus-ledger check.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "codec.hpp"
#include "store_impl.hpp"

namespace purser::store {

using detail::counter_kind;
using detail::stored_row;

namespace {

bool matches(const ledger_row& r, const ledger_query& q) {
    if (q.since_ms && r.at_ms < *q.since_ms) return false;
    if (q.until_ms && r.at_ms >= *q.until_ms) return false;
    if (q.agent && r.agent != *q.agent) return false;
    if (q.host && r.host != *q.host) return false;
    if (q.state && r.state != *q.state) return false;
    return true;
}

/// The newest rows (by index order) matching `q`, at most q.limit, read backwards from the end
/// of the index range: the cost is the rows returned plus the rows that fail the other filters,
/// not the whole range. `prefix` selects the agent, host or status; `timed` says the index key
/// carries a big-endian at_ms after the prefix (all but the status index).
result<std::vector<ledger_row>> newest(const store::impl& im, const detail::txn_base& t,
                                       MDB_dbi dbi, const std::string& prefix, bool timed,
                                       const ledger_query& q) {
    std::vector<ledger_row> rows;
    PURSER_TRY(c, detail::cursor::open(t, dbi));
    // The first key past the range; the walk starts just before it.
    std::string past = prefix;
    if (timed && q.until_ms) {
        past += detail::be64(*q.until_ms) + detail::be64(0);
    } else {
        // Keys of this prefix are all longer than it: bump the prefix's last byte, or, for an
        // empty prefix or one ending in 0xff, start from the very end.
        while (!past.empty() && static_cast<unsigned char>(past.back()) == 0xff) past.pop_back();
        if (!past.empty()) past.back() = static_cast<char>(static_cast<unsigned char>(past.back()) + 1);
    }
    std::optional<detail::cursor::entry> cur;
    if (past.empty()) {
        PURSER_TRY(e, c.last());
        cur = e;
    } else {
        PURSER_TRY(e, c.seek(past));
        if (e) {
            PURSER_TRY(p, c.prev());
            cur = p;
        } else {
            PURSER_TRY(p, c.last());
            cur = p;
        }
    }
    const std::size_t key_size = prefix.size() + (timed ? 16 : 8);
    while (cur && rows.size() < q.limit) {
        if (cur->key.size() != key_size || cur->key.substr(0, prefix.size()) != prefix) break;
        if (timed && q.since_ms &&
            detail::read_be64(cur->key.substr(prefix.size(), 8)) < *q.since_ms) {
            break;
        }
        const std::uint64_t id = detail::id_from_index_key(cur->key);
        PURSER_TRY(r, im.load_row(t, id));
        if (!r) return purser::fail(errc::corrupt_record, "index points at row " + std::to_string(id));
        if (matches(r->row, q)) rows.push_back(std::move(r->row));
        PURSER_TRY(p, c.prev());
        cur = p;
    }
    std::sort(rows.begin(), rows.end(),
              [](const ledger_row& a, const ledger_row& b) { return a.id < b.id; });
    return rows;
}

void apply_limit(std::vector<ledger_row>& rows, std::size_t limit) {
    if (limit != 0 && rows.size() > limit) {
        rows.erase(rows.begin(), rows.end() - static_cast<std::ptrdiff_t>(limit));
    }
}

std::string day_text(std::uint64_t at_ms) {
    // Days since the epoch to a civil date (Howard Hinnant's algorithm).
    std::int64_t z = static_cast<std::int64_t>(utc_day(at_ms)) + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
    return buf;
}

}  // namespace

result<std::vector<std::uint64_t>> store::impl::ids_in_range(
    const detail::txn_base& t, MDB_dbi dbi, const std::string& prefix, std::uint64_t since_ms,
    std::optional<std::uint64_t> until_ms) const {
    std::vector<std::uint64_t> ids;
    PURSER_TRY(c, detail::cursor::open(t, dbi));
    PURSER_TRY(e, c.seek(prefix + detail::be64(since_ms) + detail::be64(0)));
    for (auto cur = e; cur;) {
        if (cur->key.size() != prefix.size() + 16 || cur->key.substr(0, prefix.size()) != prefix) {
            break;
        }
        const std::uint64_t at = detail::read_be64(cur->key.substr(prefix.size(), 8));
        if (until_ms && at >= *until_ms) break;
        ids.push_back(detail::id_from_index_key(cur->key));
        PURSER_TRY(n, c.next());
        cur = n;
    }
    return ids;
}

result<std::vector<std::uint64_t>> store::impl::ids_with_status(const detail::txn_base& t, status s,
                                                                std::size_t most) const {
    std::vector<std::uint64_t> ids;
    PURSER_TRY(c, detail::cursor::open(t, by_status));
    PURSER_TRY(e, c.seek(detail::status_key(s, 0)));
    for (auto cur = e; cur && ids.size() < most && !cur->key.empty() &&
                       static_cast<std::uint8_t>(cur->key[0]) == static_cast<std::uint8_t>(s);) {
        ids.push_back(detail::id_from_index_key(cur->key));
        PURSER_TRY(n, c.next());
        cur = n;
    }
    return ids;
}

result<ledger_row> store::get_row(std::uint64_t id) const {
    PURSER_TRY(t, impl_->begin_read());
    PURSER_TRY(r, impl_->load_row(t, id));
    if (!r) return purser::fail(errc::reservation_not_found, "ledger row " + std::to_string(id));
    return std::move(r->row);
}

result<std::vector<ledger_row>> store::list_ledger(const ledger_query& q) const {
    PURSER_TRY(t, impl_->begin_read());
    if (q.limit != 0) {
        if ((q.agent && q.agent->size() > 255) || (q.host && q.host->size() > 255)) {
            return std::vector<ledger_row>{};
        }
        if (q.agent) {
            return newest(*impl_, t, impl_->by_agent, detail::writer().key_str(*q.agent).take(),
                          true, q);
        }
        if (q.host) {
            return newest(*impl_, t, impl_->by_host, detail::writer().key_str(*q.host).take(),
                          true, q);
        }
        if (q.state) {
            return newest(*impl_, t, impl_->by_status,
                          std::string(1, static_cast<char>(*q.state)), false, q);
        }
        return newest(*impl_, t, impl_->by_time, std::string(), true, q);
    }
    std::vector<std::uint64_t> ids;
    if (q.agent) {
        if (q.agent->size() > 255) return std::vector<ledger_row>{};
        PURSER_TRY(found, impl_->ids_in_range(t, impl_->by_agent,
                                              detail::writer().key_str(*q.agent).take(),
                                              q.since_ms.value_or(0), q.until_ms));
        ids = std::move(found);
    } else if (q.host) {
        if (q.host->size() > 255) return std::vector<ledger_row>{};
        PURSER_TRY(found,
                   impl_->ids_in_range(t, impl_->by_host, detail::writer().key_str(*q.host).take(),
                                       q.since_ms.value_or(0), q.until_ms));
        ids = std::move(found);
    } else if (q.state) {
        PURSER_TRY(found, impl_->ids_with_status(t, *q.state));
        ids = std::move(found);
    } else {
        PURSER_TRY(found, impl_->ids_in_range(t, impl_->by_time, std::string(),
                                              q.since_ms.value_or(0), q.until_ms));
        ids = std::move(found);
    }
    std::sort(ids.begin(), ids.end());
    std::vector<ledger_row> rows;
    rows.reserve(ids.size());
    for (std::uint64_t id : ids) {
        PURSER_TRY(r, impl_->load_row(t, id));
        if (!r) return purser::fail(errc::corrupt_record, "index points at row " + std::to_string(id));
        if (matches(r->row, q)) rows.push_back(std::move(r->row));
    }
    apply_limit(rows, q.limit);
    return rows;
}

result<std::vector<ledger_row>> store::list_ledger_full_scan(const ledger_query& q) const {
    PURSER_TRY(t, impl_->begin_read());
    PURSER_TRY(c, detail::cursor::open(t, impl_->ledger));
    std::vector<ledger_row> rows;
    PURSER_TRY(e, c.first());
    for (auto cur = e; cur;) {
        impl_->rows_visited.fetch_add(1, std::memory_order_relaxed);
        auto r = detail::decode_row(cur->value);
        if (!r) return purser::fail(errc::corrupt_record, "ledger row");
        if (matches(r->row, q)) rows.push_back(std::move(r->row));
        PURSER_TRY(n, c.next());
        cur = n;
    }
    apply_limit(rows, q.limit);
    return rows;
}

result<std::vector<spend_row>> store::spend(spend_group by, std::optional<std::uint64_t> since_ms,
                                            std::optional<std::uint64_t> until_ms) const {
    // One pass over the time index, aggregating as it goes: no row is kept once counted.
    PURSER_TRY(t, impl_->begin_read());
    std::map<std::pair<std::string, std::string>, spend_row> groups;
    PURSER_TRY(c, detail::cursor::open(t, impl_->by_time));
    PURSER_TRY(e, c.seek(detail::time_key(since_ms.value_or(0), 0)));
    for (auto cur = e; cur;) {
        if (until_ms && detail::read_be64(cur->key.substr(0, 8)) >= *until_ms) break;
        const std::uint64_t id = detail::id_from_index_key(cur->key);
        PURSER_TRY(loaded, impl_->load_row(t, id));
        if (!loaded) return purser::fail(errc::corrupt_record, "index points at row " + std::to_string(id));
        const ledger_row& r = loaded->row;
        std::string key = by == spend_group::host  ? r.host
                          : by == spend_group::day ? day_text(r.at_ms)
                                                   : r.agent;
        std::string day = by == spend_group::agent_day ? day_text(r.at_ms) : std::string();
        spend_row& g = groups[{key, day}];
        g.key = std::move(key);
        g.day = std::move(day);
        PURSER_TRY(n, c.next());
        cur = n;
        if (r.state == status::declined) {
            g.declined += r.repeats;
            continue;
        }
        ++g.approved;
        g.spent_usd += r.counted_usd();
        if (r.state == status::paid) {
            ++g.paid;
            g.paid_usd += r.charged_usd;
        }
    }
    std::vector<spend_row> out;
    out.reserve(groups.size());
    for (auto& [k, g] : groups) out.push_back(std::move(g));
    return out;
}

result<std::string> store::check_counters() const {
    PURSER_TRY(t, impl_->begin_read());
    std::map<std::string, std::uint64_t> ids;
    std::set<std::string> rate_limited;  // only their rows have rate entries
    PURSER_TRY(agents, impl_->all_agents(t));
    for (const auto& a : agents) {
        ids[a.name] = a.id;
        if (a.limits.payments_per_minute) rate_limited.insert(a.name);
    }
    std::map<std::string, std::uint64_t> expected;  // counter key -> value
    // The rate index must match the ledger inside the window decisions read; older entries are
    // pruned lazily, so they are not compared.
    const std::uint64_t now = impl_->now();
    const std::uint64_t rate_from =
        now >= detail::rate_window_ms - 1 ? now - (detail::rate_window_ms - 1) : 0;
    std::map<std::string, std::uint64_t> expected_rate;  // rate key -> approvals
    auto add = [&](std::uint64_t id, counter_kind k, std::uint32_t period, std::uint64_t v) {
        if (v != 0) expected[detail::counter_key(id, k, period)] += v;
    };
    {
        PURSER_TRY(c, detail::cursor::open(t, impl_->ledger));
        PURSER_TRY(e, c.first());
        for (auto cur = e; cur;) {
            auto s = detail::decode_row(cur->value);
            if (!s) return purser::fail(errc::corrupt_record, "ledger row");
            const ledger_row& r = s->row;
            if (detail::counts_for_rate(r) && rate_limited.count(r.agent) != 0) {
                if (r.at_ms >= rate_from) ++expected_rate[detail::rate_key(r.agent, r.at_ms)];
                // Seconds wholly inside the window (a decision sums the first, partial one from
                // its milliseconds).
                if (r.at_ms / 1000 * 1000 >= rate_from) {
                    ++expected_rate[detail::rate_second_key(r.agent, r.at_ms / 1000)];
                }
            }
            const std::uint64_t counted = r.counted_usd();
            const std::uint64_t open = is_open(r.state) ? r.amount_usd : 0;
            if (counted != 0 || open != 0) {
                auto it = ids.find(r.agent);
                if (it == ids.end()) return "row " + std::to_string(r.id) + " counts for no agent";
                add(it->second, counter_kind::day, utc_day(r.at_ms), counted);
                add(it->second, counter_kind::month, utc_month(r.at_ms), counted);
                add(it->second, counter_kind::lifetime, 0, counted);
                add(it->second, counter_kind::in_flight, 0, open);
            }
            PURSER_TRY(n, c.next());
            cur = n;
        }
    }
    {
        // What pruned rows counted still counts (store::prune carries it).
        PURSER_TRY(c, detail::cursor::open(t, impl_->pruned));
        PURSER_TRY(e, c.first());
        for (auto cur = e; cur;) {
            auto v = detail::decode_u64_value(cur->value);
            if (!v) return purser::fail(errc::corrupt_record, "pruned carry");
            expected[std::string(cur->key)] += *v;
            PURSER_TRY(n, c.next());
            cur = n;
        }
    }
    std::map<std::string, std::uint64_t> stored;
    {
        PURSER_TRY(c, detail::cursor::open(t, impl_->counters));
        PURSER_TRY(e, c.first());
        for (auto cur = e; cur;) {
            auto v = detail::decode_u64_value(cur->value);
            if (!v) return purser::fail(errc::corrupt_record, "counter");
            if (*v != 0) stored[std::string(cur->key)] = *v;
            PURSER_TRY(n, c.next());
            cur = n;
        }
    }
    std::map<std::string, std::uint64_t> stored_rate;
    {
        PURSER_TRY(c, detail::cursor::open(t, impl_->rate));
        PURSER_TRY(e, c.first());
        for (auto cur = e; cur;) {
            auto v = detail::decode_u64_value(cur->value);
            if (!v || cur->key.size() < 9) return purser::fail(errc::corrupt_record, "rate entry");
            const std::uint64_t at = detail::read_be64(cur->key.substr(cur->key.size() - 8));
            // A second's entry: a mark byte before the name, the second after it.
            const bool second = static_cast<unsigned char>(cur->key[0]) == 0xff;
            detail::reader name(cur->key.substr(second ? 1 : 0));
            const std::uint64_t at_ms = second ? at * 1000 : at;
            if (at_ms >= rate_from && rate_limited.count(name.key_str()) != 0) {
                stored_rate[std::string(cur->key)] = *v;
            }
            PURSER_TRY(n, c.next());
            cur = n;
        }
    }
    if (stored_rate != expected_rate) {
        for (const auto& [k, v] : expected_rate) {
            auto it = stored_rate.find(k);
            const std::uint64_t have = it == stored_rate.end() ? 0 : it->second;
            if (have != v) {
                const bool second = static_cast<unsigned char>(k[0]) == 0xff;
                return std::string("rate index at ") + (second ? "second " : "") +
                       std::to_string(detail::read_be64(k.substr(k.size() - 8))) + ": stored " +
                       std::to_string(have) + ", ledger " + std::to_string(v);
            }
        }
        return std::string("a rate entry is set that no ledger row accounts for");
    }
    if (stored == expected) return std::string();
    for (const auto& [k, v] : expected) {
        auto it = stored.find(k);
        const std::uint64_t have = it == stored.end() ? 0 : it->second;
        if (have != v) {
            detail::reader r(k);
            const auto id = r.u64();
            const auto kind = static_cast<char>(r.u8());
            return "agent id " + std::to_string(id) + " counter " + std::string(1, kind) +
                   " period " + std::to_string(r.u32()) + ": stored " + std::to_string(have) +
                   ", ledger " + std::to_string(v);
        }
    }
    return std::string("a counter is set that no ledger row accounts for");
}

}  // namespace purser::store
