// purser spend --by agent|host|day [--since 30d] [--until T] [--format table|csv|json]
#include <cstdio>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "command_table.hpp"
#include "listing_text.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "config_resolver.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"
#include "purser/store/views.hpp"

namespace purser::cli {

namespace st = purser::store;

int spend_command(const words& args) {
    int rc = 0;
    auto o = parse_command("spend", wants_help(args) ? words{"--help"} : args, rc);
    if (!o) return rc;
    const auto by_text = o->get("by");
    if (!by_text || !o->positional().empty()) return report(help_text(*find_command("spend")), 2);
    const bool fleet = o->has("fleet");
    st::spend_group by{};
    if (*by_text == "agent") {
        by = st::spend_group::agent;
    } else if (*by_text == "host") {
        by = st::spend_group::host;
    } else if (*by_text == "day") {
        by = st::spend_group::day;
    } else if (*by_text != "proxy" || !fleet) {
        return report("--by " + *by_text + ": use agent, host or day (or proxy with --fleet)", 2);
    }
    const std::string format = o->get_or("format", "table");
    if (format != "table" && format != "csv" && format != "json") {
        return report("--format " + format + ": use table, csv or json", 2);
    }
    if (fleet) return fleet_spend_listing(*o, *by_text, format);
    auto s = open_proxy_store(*o);
    if (!s) return report(s.error());
    const std::uint64_t now = (*s)->now_ms();
    auto since = st::parse_time(o->get_or("since", "30d"), now);
    if (!since) return report(since.error(), 2);
    std::optional<std::uint64_t> until;
    if (auto u = o->get("until")) {
        auto t = st::parse_time(*u, now);
        if (!t) return report(t.error(), 2);
        until = *t;
    }
    auto rows = (*s)->spend(by, *since, until);
    if (!rows) return report(rows.error());
    return print_spend(*by_text, format, *rows);
}

int print_spend(const std::string& by, const std::string& format, const std::vector<st::spend_row>& rows) {
    const std::string* by_text = &by;
    if (format == "json") {
        for (const auto& r : rows) {
            std::cout << st::spend_json(r, *by_text)
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
        }
        return 0;
    }
    if (format == "csv") {
        std::cout << *by_text << ",approved,paid,declined,spent_usd,paid_usd,held_usd\r\n";
        for (const auto& r : rows) {
            const std::string key = csv_field(st::printable(r.key, true));
            std::cout << key << "," << r.approved << "," << r.paid << "," << r.declined << ","
                      << st::format_usd(r.spent_usd) << "," << st::format_usd(r.paid_usd) << ","
                      << st::format_usd(r.spent_usd - r.paid_usd) << "\r\n";
        }
        return 0;
    }
    // HELD: signed and counted, but not (yet) proven settled or unsettled: failed and in_doubt
    // rows, and reservations in progress.
    std::printf("%-32s %9s %9s %9s %14s %14s %14s\n", by_text->c_str(), "APPROVED", "PAID",
                "DECLINED", "SPENT USD", "PAID USD", "HELD USD");
    st::spend_row total;
    for (const auto& r : rows) {
        std::printf("%-32s %9llu %9llu %9llu %14s %14s %14s\n", st::printable(r.key).c_str(),
                    static_cast<unsigned long long>(r.approved),
                    static_cast<unsigned long long>(r.paid),
                    static_cast<unsigned long long>(r.declined), st::format_usd(r.spent_usd).c_str(),
                    st::format_usd(r.paid_usd).c_str(),
                    st::format_usd(r.spent_usd - r.paid_usd).c_str());
        total.approved += r.approved;
        total.paid += r.paid;
        total.declined += r.declined;
        total.spent_usd += r.spent_usd;
        total.paid_usd += r.paid_usd;
    }
    std::printf("%-32s %9llu %9llu %9llu %14s %14s %14s\n", "TOTAL",
                static_cast<unsigned long long>(total.approved),
                static_cast<unsigned long long>(total.paid),
                static_cast<unsigned long long>(total.declined),
                st::format_usd(total.spent_usd).c_str(), st::format_usd(total.paid_usd).c_str(),
                st::format_usd(total.spent_usd - total.paid_usd).c_str());
    return 0;
}

}  // namespace purser::cli
