// purser fleet migrate: brings the fleet database (PostgreSQL) to this Purser's schema.
// purser budget add|set|show|list: the fleet budgets that many proxies share (issue 14).
#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "command_table.hpp"
#include "commands.hpp"
#include "fleet_open.hpp"
#include "options.hpp"
#include "purser/fleet/budgets.hpp"
#include "purser/fleet/leases.hpp"
#include "purser/fleet/reconcile.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/store/text.hpp"

namespace purser::cli {
namespace {

std::uint64_t now_s() { return static_cast<std::uint64_t>(std::time(nullptr)); }

int migrate(const options& o) {
    auto c = open_fleet(o);
    if (!c) return report(c.error());
    auto before = fleet::current_schema(**c);
    if (!before) return report(before.error());
    auto v = fleet::migrate(**c);
    if (!v) return report(v.error());
    if (*before == *v) std::cout << "fleet database already at schema " << *v << "\n";
    else std::cout << "fleet database migrated from schema " << *before << " to " << *v << "\n";
    return 0;
}

nlohmann::ordered_json budget_json(const fleet::budget& b) {
    nlohmann::ordered_json j;
    j["name"] = b.name;
    j["period"] = std::string(fleet::to_string(b.per));
    j["window"] = b.window;
    j["cap"] = store::format_usd(b.cap_micros);
    j["committed"] = store::format_usd(b.committed_micros);
    j["leased"] = store::format_usd(b.leased_micros);
    j["spent"] = store::format_usd(b.spent_micros);
    j["left"] = store::format_usd(b.cap_micros > b.committed_micros ? b.cap_micros - b.committed_micros : 0);
    j["active_leases"] = b.active_leases;
    return j;
}

void print_table(const std::vector<fleet::budget>& list) {
    std::printf("%-24s %-9s %-11s %14s %14s %14s %14s %7s\n", "BUDGET", "PERIOD", "WINDOW", "CAP", "COMMITTED",
                "LEASED", "LEFT", "LEASES");
    for (const auto& b : list) {
        const auto j = budget_json(b);
        std::printf("%-24s %-9s %-11s %14s %14s %14s %14s %7llu\n", b.name.c_str(),
                    j["period"].get<std::string>().c_str(), b.window.c_str(), j["cap"].get<std::string>().c_str(),
                    j["committed"].get<std::string>().c_str(), j["leased"].get<std::string>().c_str(),
                    j["left"].get<std::string>().c_str(), static_cast<unsigned long long>(b.active_leases));
    }
}

int reconcile(fleet::connection& c, const options& o, const std::string& format) {
    const auto proxy = o.get("proxy");
    if (!proxy || proxy->empty()) return report("--proxy ID is required", 2);
    if (!o.positional().empty()) return report(help_text(*find_command("budget reconcile")), 2);
    const bool dry_run = o.has("dry-run");
    auto done = fleet::reconcile_proxy_leases(c, *proxy, dry_run);
    if (!done) return report(done.error());
    const std::string shown_proxy = store::printable(*proxy).substr(0, 128);
    if (format == "json") {
        for (const auto& r : *done) {
            nlohmann::ordered_json j;
            j["lease"] = r.held.id;
            j["budget"] = r.held.budget;
            j["window"] = r.held.window;
            j["proxy"] = r.held.proxy_id;
            j["granted"] = store::format_usd(r.held.granted_micros);
            j["spent"] = store::format_usd(r.spent_micros);
            j["returned"] = store::format_usd(r.held.granted_micros - r.spent_micros);
            j["dry_run"] = dry_run;
            std::cout << j.dump() << "\n";
        }
        return 0;
    }
    if (done->empty()) {
        std::cout << "proxy " << shown_proxy << " holds no active lease\n";
        return 0;
    }
    std::printf("%-10s %-24s %-11s %14s %14s %14s\n", "LEASE", "BUDGET", "WINDOW", "GRANTED", "SPENT", "RETURNED");
    for (const auto& r : *done) {
        std::printf("%-10llu %-24s %-11s %14s %14s %14s\n", static_cast<unsigned long long>(r.held.id),
                    r.held.budget.c_str(), r.held.window.c_str(), store::format_usd(r.held.granted_micros).c_str(),
                    store::format_usd(r.spent_micros).c_str(),
                    store::format_usd(r.held.granted_micros - r.spent_micros).c_str());
    }
    std::cout << (dry_run ? "dry run: nothing changed; " : "") << done->size() << " lease(s) of proxy "
              << shown_proxy << (dry_run ? " would be returned\n" : " returned\n");
    return 0;
}

int budget(const std::string& sub, const options& o) {
    const std::string format = o.get_or("format", "table");
    if (format != "table" && format != "json") return report("--format " + format + ": use table or json", 2);
    auto c = open_fleet(o);
    if (!c) return report(c.error());
    const auto& pos = o.positional();
    if (sub == "list") {
        auto list = fleet::list_budgets(**c, now_s());
        if (!list) return report(list.error());
        if (format == "json") {
            for (const auto& b : *list) std::cout << budget_json(b).dump() << "\n";
        } else if (list->empty()) {
            std::cout << "no fleet budgets yet (purser budget add NAME --period day --cap 200)\n";
        } else {
            print_table(*list);
        }
        return 0;
    }
    if (sub == "reconcile") return reconcile(**c, o, format);
    if (pos.size() != 1) return report(help_text(*find_command("budget " + sub)), 2);
    const std::string& name = pos[0];
    if (sub == "show") {
        auto b = fleet::get_budget(**c, name, now_s());
        if (!b) return report(b.error());
        if (!*b) return report("no fleet budget " + store::printable(name).substr(0, 64));
        if (format == "json") std::cout << budget_json(**b).dump() << "\n";
        else print_table({**b});
        return 0;
    }
    const auto cap_text = o.get("cap");
    if (!cap_text) return report("--cap USD is required", 2);
    auto cap = store::parse_usd(*cap_text);
    if (!cap) return report("--cap " + *cap_text + ": " + cap.error().message(), 2);
    if (sub == "add") {
        auto per = fleet::parse_period(o.get_or("period", "day"));
        if (!per) return report(per.error(), 2);
        auto added = fleet::add_budget(**c, name, *per, *cap);
        if (!added) return report(added.error());
        std::cout << "budget " << name << ": $" << store::format_usd(*cap) << " a " << fleet::to_string(*per) << "\n";
        return 0;
    }
    auto set = fleet::set_budget_cap(**c, name, *cap);
    if (!set) return report(set.error());
    std::cout << "budget " << name << ": cap $" << store::format_usd(*cap) << "\n";
    return 0;
}

}  // namespace

int fleet_command(const words& args) {
    const std::string sub = args.empty() ? "" : args[0];
    if (sub != "migrate") {
        const bool help = wants_help(args);
        (help ? std::cout : std::cerr) << group_help("fleet");
        return help ? 0 : 2;
    }
    const words rest(args.begin() + 1, args.end());
    int rc = 0;
    auto o = parse_command("fleet migrate", wants_help(rest) ? words{"--help"} : rest, rc);
    if (!o) return rc;
    return migrate(*o);
}

int budget_command(const words& args) {
    const std::string sub = args.empty() ? "" : args[0];
    if (sub != "add" && sub != "set" && sub != "show" && sub != "list" && sub != "reconcile") {
        const bool help = wants_help(args);
        (help ? std::cout : std::cerr) << group_help("budget");
        return help ? 0 : 2;
    }
    const words rest(args.begin() + 1, args.end());
    int rc = 0;
    auto o = parse_command("budget " + sub, wants_help(rest) ? words{"--help"} : rest, rc);
    if (!o) return rc;
    return budget(sub, *o);
}

}  // namespace purser::cli
