// purser ledger --fleet and purser spend --fleet: the rows every proxy shipped to the fleet
// database, with the same filters and formats as one store's `purser ledger` and `purser spend`.
#include <cstdio>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "listing_text.hpp"
#include "options.hpp"
#include "fleet_open.hpp"
#include "purser/fleet/ledger.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"
#include "purser/store/views.hpp"

namespace purser::cli {
namespace {

namespace st = purser::store;

/// The columns of `ledger --fleet` in CSV and JSON, in order.
std::vector<std::pair<std::string, std::string>> fleet_fields(const fleet::fleet_row& f) {
    const fleet::ledger_entry& e = f.entry;
    const bool paid = e.status == "paid";
    return {
        {"proxy_id", f.proxy_id},
        {"id", std::to_string(e.row_id)},
        {"time", st::iso8601_utc(e.at_ms)},
        {"agent", e.agent},
        {"method", e.method},
        {"url", e.url},
        {"host", e.host},
        {"scheme", e.scheme},
        {"network", e.network},
        {"asset", e.asset},
        {"amount", e.amount_atomic},
        {"amount_usd", e.amount_atomic.empty() && e.amount_micros == 0 ? "" : st::format_usd(e.amount_micros)},
        {"status", e.status},
        {"reason", e.reason},
        {"detail", e.detail},
        {"tx_hash", e.tx_hash},
        {"charged_usd", paid ? st::format_usd(e.charged_micros) : ""},
        {"updated", st::iso8601_utc(e.updated_ms)},
        {"repeats", std::to_string(e.repeats)},
        {"kind", e.kind},
    };
}

std::uint64_t wall_ms() { return st::system_clock_ms(); }

}  // namespace

int fleet_ledger_listing(const options& o, const std::string& format) {
    auto q = st::ledger_filters([&](const std::string& name) { return o.get(name); }, wall_ms());
    if (!q) return report("--" + q.error().detail, 2);
    fleet::fleet_query fq;
    fq.since_ms = q->since_ms;
    fq.until_ms = q->until_ms;
    fq.agent = q->agent;
    fq.host = q->host;
    if (q->state) fq.status = std::string(st::to_string(*q->state));
    fq.proxy_id = o.get("proxy");
    fq.limit = q->limit;
    auto c = open_fleet(o);
    if (!c) return report(c.error());
    auto rows = fleet::list_fleet_ledger(**c, fq);
    if (!rows) return report(rows.error());

    if (format == "json") {
        for (const auto& r : *rows) {
            nlohmann::ordered_json line = nlohmann::ordered_json::object();
            for (auto& [k, v] : fleet_fields(r)) {
                if (k == "id" || k == "repeats") line[k] = std::stoull(v);
                else line[k] = v;
            }
            std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        }
        return 0;
    }
    if (format == "csv") {
        print_csv_line(fleet_fields(fleet::fleet_row{}), true);
        for (const auto& r : *rows) print_csv_line(fleet_fields(r), false);
        return 0;
    }
    std::printf("%-16s %-8s %-24s %-14s %-9s %-28s %12s %-66s %s\n", "PROXY", "ID", "TIME", "AGENT",
                "STATUS", "REASON", "USD", "TX", "URL");
    for (const auto& r : *rows) {
        const auto f = fleet_fields(r);
        std::string why = r.entry.reason;
        if (!why.empty() && r.entry.repeats > 1) why += " x" + std::to_string(r.entry.repeats);
        if (why.empty() && r.entry.status != "paid" && r.entry.status != "reserved") why = r.entry.detail;
        std::printf("%-16s %-8s %-24s %-14s %-9s %-28s %12s %-66s %s\n",
                    shorten(st::printable(r.proxy_id), 16).c_str(), f[1].second.c_str(),
                    f[2].second.c_str(), shorten(st::printable(r.entry.agent), 14).c_str(),
                    r.entry.status.c_str(), shorten(st::printable(why), 28).c_str(),
                    f[11].second.c_str(), st::printable(r.entry.tx_hash).c_str(),
                    st::printable(r.entry.url).c_str());
    }
    if (rows->empty()) std::cout << "(no fleet ledger rows in that range)\n";
    return 0;
}

int fleet_spend_listing(const options& o, const std::string& by_text, const std::string& format) {
    fleet::fleet_group by = fleet::fleet_group::agent;
    if (by_text == "host") by = fleet::fleet_group::host;
    else if (by_text == "day") by = fleet::fleet_group::day;
    else if (by_text == "proxy") by = fleet::fleet_group::proxy;
    const std::uint64_t now = wall_ms();
    auto since = st::parse_time(o.get_or("since", "30d"), now);
    if (!since) return report(since.error(), 2);
    std::optional<std::uint64_t> until;
    if (auto u = o.get("until")) {
        auto t = st::parse_time(*u, now);
        if (!t) return report(t.error(), 2);
        until = *t;
    }
    auto c = open_fleet(o);
    if (!c) return report(c.error());
    auto rows = fleet::fleet_spend(**c, by, *since, until);
    if (!rows) return report(rows.error());
    // The same shape as one store's `purser spend` (spend_cmd.cpp), keyed by the grouping.
    std::vector<st::spend_row> lines;
    for (const auto& r : *rows) {
        lines.push_back({r.key, r.approved, r.paid, r.declined, r.spent_micros, r.paid_micros, {}});
    }
    return print_spend(by_text, format, lines);
}

}  // namespace purser::cli
