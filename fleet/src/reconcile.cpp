#include "purser/fleet/reconcile.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "lease_return.hpp"

namespace purser::fleet {
namespace {

// The window's end as SQL: a UTC day ('2026-12-02'), a month ('2026-12'), or 'lifetime' (none).
constexpr const char* window_end_sql =
    "CASE WHEN length($2) = 10 THEN ($2::date + 1)::timestamp AT TIME ZONE 'UTC' "
    "WHEN length($2) = 7 THEN (to_date($2, 'YYYY-MM') + interval '1 month') AT TIME ZONE 'UTC' "
    "ELSE 'infinity'::timestamptz END";

}  // namespace

result<std::vector<reconciled_lease>> reconcile_proxy_leases(connection& c, const std::string& proxy_id,
                                                             bool dry_run) {
    return in_transaction(c, [&]() -> result<std::vector<reconciled_lease>> {
        // FOR UPDATE: a proxy that is not gone after all cannot return these under our feet.
        PURSER_TRY(active, c.exec("SELECT id, budget, window_key, granted_micros, "
                                  "(extract(epoch FROM created_at) * 1000000)::bigint AS created_us "
                                  "FROM leases WHERE proxy_id = $1 AND state = 'active' ORDER BY id FOR UPDATE",
                                  {proxy_id}));
        // Per window, its leases oldest first, from the first one's grant on.
        std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> windows;
        for (std::size_t i = 0; i < active.size(); ++i)
            windows[{active.text(i, "budget"), active.text(i, "window_key")}].push_back(i);
        std::vector<reconciled_lease> out;
        for (const auto& [key, rows] : windows) {
            const std::string since_us = active.text(rows.front(), "created_us");
            PURSER_TRY(evidence,
                       c.exec(std::string("SELECT coalesce(sum(counted_micros), 0)::bigint AS counted FROM fleet_ledger "
                                          "WHERE proxy_id = $1 AND at >= timestamptz 'epoch' + interval "
                                          "'1 microsecond' * $3::bigint AND at < ") +
                                  window_end_sql,
                              {proxy_id, key.second, since_us}));
            std::uint64_t left = evidence.u64(0, "counted");
            for (std::size_t i : rows) {
                reconciled_lease r;
                r.held.id = active.u64(i, "id");
                r.held.budget = key.first;
                r.held.window = key.second;
                r.held.proxy_id = proxy_id;
                r.held.granted_micros = active.u64(i, "granted_micros");
                r.spent_micros = std::min(left, r.held.granted_micros);
                left -= r.spent_micros;
                if (!dry_run) {
                    if (auto back = settle_lease(c, r.held.id, proxy_id, r.spent_micros); !back)
                        return tl::unexpected(back.error());
                }
                out.push_back(std::move(r));
            }
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.held.id < b.held.id; });
        return out;
    });
}

}  // namespace purser::fleet
