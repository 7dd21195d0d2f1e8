#include "purser/fleet/leases.hpp"

#include "lease_return.hpp"
#include "purser/protocol/errc.hpp"

namespace purser::fleet {

result<std::optional<lease>> acquire_lease(connection& c, const std::string& budget_name,
                                           const std::string& proxy_id, std::uint64_t want_micros,
                                           std::uint64_t min_micros, std::uint64_t now_s) {
    if (want_micros == 0 || want_micros > max_micros || min_micros > want_micros) {
        return fail(protocol::errc::invalid_value, "lease size: 0 < min <= want <= 2^63-1 micro-USD");
    }
    if (proxy_id.empty() || proxy_id.size() > 128) return fail(protocol::errc::invalid_value, "proxy id of 1..128 characters");
    return in_transaction(c, [&]() -> result<std::optional<lease>> {
        // The budget row is read FOR SHARE (a concurrent cap change waits for this grant) and the
        // window row FOR UPDATE (concurrent grants wait for each other): what this transaction
        // reads is what it writes against.
        PURSER_TRY(b, c.exec("SELECT period, cap_micros FROM budgets WHERE name = $1 FOR SHARE", {budget_name}));
        if (b.size() == 0) {
            return fail(std::make_error_code(std::errc::no_such_file_or_directory), "no budget " + budget_name);
        }
        PURSER_TRY(per, parse_period(b.text(0, "period")));
        const std::uint64_t cap = b.u64(0, "cap_micros");
        const std::string window = window_key(per, now_s);
        PURSER_TRY(made, c.exec("INSERT INTO budget_windows (budget, window_key) VALUES ($1, $2) "
                                "ON CONFLICT DO NOTHING", {budget_name, window}));
        (void)made;
        PURSER_TRY(w, c.exec("SELECT committed_micros FROM budget_windows WHERE budget = $1 AND window_key = $2 "
                             "FOR UPDATE", {budget_name, window}));
        const std::uint64_t committed = w.u64(0, "committed_micros");
        const std::uint64_t headroom = cap > committed ? cap - committed : 0;
        const std::uint64_t grant = want_micros <= headroom ? want_micros : headroom;
        if (grant == 0 || grant < min_micros) return std::optional<lease>{};
        PURSER_TRY(up, c.exec("UPDATE budget_windows SET committed_micros = committed_micros + $3 "
                              "WHERE budget = $1 AND window_key = $2", {budget_name, window, std::to_string(grant)}));
        (void)up;
        PURSER_TRY(ins, c.exec("INSERT INTO leases (budget, window_key, proxy_id, granted_micros, state) "
                               "VALUES ($1, $2, $3, $4, 'active') RETURNING id",
                               {budget_name, window, proxy_id, std::to_string(grant)}));
        lease l;
        l.id = ins.u64(0, "id");
        l.budget = budget_name;
        l.window = window;
        l.proxy_id = proxy_id;
        l.granted_micros = grant;
        return std::optional<lease>{std::move(l)};
    });
}

result<void> settle_lease(connection& c, std::uint64_t id, const std::string& proxy_id, std::uint64_t spent_micros) {
    PURSER_TRY(l, c.exec("SELECT budget, window_key, granted_micros, state FROM leases "
                         "WHERE id = $1 AND proxy_id = $2 FOR UPDATE", {std::to_string(id), proxy_id}));
    if (l.size() == 0) {
        return fail(std::make_error_code(std::errc::no_such_file_or_directory),
                    "no lease " + std::to_string(id) + " of proxy " + proxy_id);
    }
    if (l.text(0, "state") == "returned") return {};
    const std::uint64_t granted = l.u64(0, "granted_micros");
    if (spent_micros > granted) {
        return fail(protocol::errc::invalid_value, "lease " + std::to_string(id) + " spent " +
                                                       std::to_string(spent_micros) + " of " +
                                                       std::to_string(granted) + " granted");
    }
    PURSER_TRY(w, c.exec("UPDATE budget_windows SET committed_micros = committed_micros - $3 "
                         "WHERE budget = $1 AND window_key = $2",
                         {l.text(0, "budget"), l.text(0, "window_key"), std::to_string(granted - spent_micros)}));
    (void)w;
    PURSER_TRY(r, c.exec("UPDATE leases SET state = 'returned', spent_micros = $2, returned_at = now() WHERE id = $1",
                         {std::to_string(id), std::to_string(spent_micros)}));
    (void)r;
    return {};
}

result<void> return_lease(connection& c, std::uint64_t id, const std::string& proxy_id, std::uint64_t spent_micros) {
    return in_transaction(c, [&]() -> result<void> { return settle_lease(c, id, proxy_id, spent_micros); });
}

result<std::set<std::uint64_t>> active_lease_ids(connection& c, const std::string& proxy_id) {
    PURSER_TRY(r, c.exec("SELECT id FROM leases WHERE proxy_id = $1 AND state = 'active'", {proxy_id}));
    std::set<std::uint64_t> ids;
    for (std::size_t i = 0; i < r.size(); ++i) ids.insert(r.u64(i, "id"));
    return ids;
}

}  // namespace purser::fleet
