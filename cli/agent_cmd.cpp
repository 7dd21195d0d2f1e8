// purser agent add | set | show | list | freeze | unfreeze | remove | fund | rotate-token
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "command_table.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "config_resolver.hpp"
#include "purser/protocol/errc.hpp"
#include "purser/proxy/config.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"

namespace purser::cli {
namespace {

namespace st = purser::store;


/// The address the proxy listens on, as `purser proxy` would resolve it: --listen, else
/// PURSER_LISTEN, else the `listen` key of the config file, else 127.0.0.1:8402. The same loader
/// as the proxy's, so the printed lines point where the proxy will be.
result<std::string> proxy_address(const options& o) {
    PURSER_TRY(cfg, resolve_config(o));
    std::string host = cfg->listen_host;
    // An IPv6 literal needs brackets inside a URL.
    if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
    return host + ":" + std::to_string(cfg->listen_port);
}

/// A USD cap option: absent = keep `current`; "none" = remove; else parsed.
result<std::optional<st::usd_micros>> usd_option(const options& o, const std::string& name,
                                                 std::optional<st::usd_micros> current) {
    auto v = o.get(name);
    if (!v) return current;
    if (*v == "none") return std::optional<st::usd_micros>{};
    auto parsed = st::parse_usd(*v);
    if (!parsed) {
        return tl::unexpected(error{make_error_code(protocol::errc::invalid_value),
                                    "--" + name + " " + *v + ": expected a dollar amount like 5 or 0.10 "
                                    "(at most 6 decimals), or none"});
    }
    return std::optional<st::usd_micros>{*parsed};
}

result<void> apply_limits(const options& o, st::policy& p, std::optional<st::usd_micros>& allowance) {
    auto take = [&](const char* name, std::optional<st::usd_micros>& field) -> result<void> {
        auto v = usd_option(o, name, field);
        if (!v) return tl::unexpected(v.error());
        field = *v;
        return {};
    };
    for (auto [name, field] : {std::pair{"per-request", &p.per_request}, {"daily", &p.daily},
                               {"monthly", &p.monthly}, {"lifetime", &p.lifetime},
                               {"in-flight", &p.in_flight}, {"allowance", &allowance}}) {
        if (auto r = take(name, *field); !r) return r;
    }
    if (auto rate = o.get("rate")) {
        if (*rate == "none") {
            p.payments_per_minute.reset();
        } else {
            std::uint64_t n = 0;
            bool ok = !rate->empty() && rate->size() <= 9;
            for (char c : *rate) {
                ok = ok && c >= '0' && c <= '9';
                if (ok) n = n * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (!ok) {
                return tl::unexpected(error{make_error_code(st::errc::invalid_argument),
                                            "--rate " + *rate + ": payments per minute, a whole number"});
            }
            p.payments_per_minute = static_cast<std::uint32_t>(n);
        }
    }
    for (auto [name, list] : {std::pair{"allow-host", &p.allow_hosts}, {"deny-host", &p.deny_hosts},
                              {"allow-network", &p.allow_networks},
                              {"allow-asset", &p.allow_assets}}) {
        if (!o.has(name)) continue;
        auto values = o.all(name);
        if (values.size() == 1 && values[0] == "none") values.clear();
        *list = std::move(values);
    }
    return {};
}

/// What `agent add` sets when no spending limit is given: enough to try a paid API, too
/// little for a runaway loop to matter. --unlimited opts out.
constexpr st::usd_micros default_per_request = 100'000;  // $0.10
constexpr st::usd_micros default_daily = 1'000'000;      // $1

/// True when any option that limits spending was given.
bool any_spending_limit(const options& o) {
    for (const char* name : {"per-request", "daily", "monthly", "lifetime", "allowance", "in-flight"})
        if (o.has(name)) return true;
    return false;
}

/// Caps that can never bind as written are usually typos (daily 0.5 with per-request 5).
void warn_inconsistent(const st::policy& p) {
    if (p.daily && p.per_request && *p.daily < *p.per_request) {
        std::cerr << "purser: warning: the daily cap ($" << st::format_usd(*p.daily)
                  << ") is below the per-request limit ($" << st::format_usd(*p.per_request)
                  << "): no single payment above the daily cap can be made\n";
    }
    if (p.monthly && p.daily && *p.monthly < *p.daily) {
        std::cerr << "purser: warning: the monthly cap ($" << st::format_usd(*p.monthly)
                  << ") is below the daily cap ($" << st::format_usd(*p.daily) << ")\n";
    }
}

std::string usd_or(const std::optional<st::usd_micros>& v, const char* none) {
    return v ? "$" + st::format_usd(*v) : none;
}

std::string join(const std::vector<std::string>& v, const char* none) {
    if (v.empty()) return none;
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

/// Lines ready to paste into a shell. Both spellings: curl and wget read only the lower-case
/// http_proxy for http:// URLs, while other runtimes look for the upper-case form.
void print_credentials(const st::agent_credentials& c, const std::string& address) {
    const std::string url = "http://" + c.who.name + ":" + c.token + "@" + address;
    std::cout << "# proxy credentials for agent '" << c.who.name
              << "': the token is shown once (Purser keeps only a hash)\n"
              << "export http_proxy=" << url << "\n"
              << "export https_proxy=" << url << "\n"
              << "export HTTP_PROXY=" << url << "\n"
              << "export HTTPS_PROXY=" << url << "\n";
}

void print_agent(const st::agent& a, const st::agent_usage& u) {
    const st::policy& p = a.limits;
    std::cout << "agent:          " << a.name << (a.frozen ? " (FROZEN)" : "") << "\n"
              << "created:        " << st::iso8601_utc(a.created_ms) << "\n"
              << "per request:    " << usd_or(p.per_request, "no limit") << "\n"
              << "daily cap:      " << usd_or(p.daily, "no limit") << "\n"
              << "monthly cap:    " << usd_or(p.monthly, "no limit") << "\n"
              << "lifetime cap:   " << usd_or(p.lifetime, "no limit") << "\n"
              << "in-flight cap:  " << usd_or(p.in_flight, "no limit") << "\n"
              << "rate:           "
              << (p.payments_per_minute ? std::to_string(*p.payments_per_minute) + " per minute"
                                        : std::string("no limit"))
              << "\n"
              << "allow hosts:    " << join(p.allow_hosts, "any") << "\n"
              << "deny hosts:     " << join(p.deny_hosts, "none") << "\n"
              << "networks:       " << join(p.allow_networks, "any") << "\n"
              << "assets:         " << join(p.allow_assets, "any USD-pegged") << "\n"
              << "spent today:    $" << st::format_usd(u.spent_today) << "\n"
              << "spent month:    $" << st::format_usd(u.spent_month) << "\n"
              << "spent lifetime: $" << st::format_usd(u.spent_lifetime) << "\n"
              << "held in doubt:  $" << st::format_usd(u.in_flight)
              << " (signed, counted until settled or proven unsettled on chain)\n"
              << "allowance left: " << usd_or(u.allowance, "unlimited") << "\n";
}

/// The single NAME positional of most subcommands.
result<std::string> one_name(const options& o, const char* sub) {
    if (o.positional().size() != 1) {
        return tl::unexpected(error{make_error_code(st::errc::invalid_argument),
                                    std::string("usage: purser agent ") + sub + " NAME"});
    }
    return o.positional()[0];
}

int run(const std::string& sub, const words& rest) {
    if (find_command("agent " + sub) == nullptr) {
        std::cerr << "purser agent: unknown command '" << sub << "'\n" << group_help("agent");
        return 2;
    }
    int rc = 0;
    auto o = parse_command("agent " + sub, rest, rc);
    if (!o) return rc;

    if (sub == "list") {
        if (!o->positional().empty()) return report("usage: purser agent list", 2);
        auto s = open_proxy_store(*o);
        if (!s) return report(s.error());
        auto agents = (*s)->list_agents();
        if (!agents) return report(agents.error());
        if (agents->empty()) {
            std::cout << "no agents (add one with: purser agent add NAME --daily 5)\n";
            return 0;
        }
        std::printf("%-24s %-7s %14s %14s %14s\n", "AGENT", "STATE", "TODAY", "DAILY CAP",
                    "ALLOWANCE");
        for (const auto& a : *agents) {
            auto u = (*s)->usage(a.name);
            if (!u) return report(u.error());
            std::printf("%-24s %-7s %14s %14s %14s\n", a.name.c_str(),
                        a.frozen ? "frozen" : "active",
                        ("$" + st::format_usd(u->spent_today)).c_str(),
                        usd_or(a.limits.daily, "-").c_str(), usd_or(u->allowance, "unlimited").c_str());
        }
        return 0;
    }

    auto name = one_name(*o, sub.c_str());
    if (!name) return report(name.error(), 2);

    std::string address;
    if (sub == "add" || sub == "rotate-token") {
        auto a = proxy_address(*o);
        if (!a) return report(a.error(), 2);
        address = *a;
    }
    if (sub == "add") {
        st::policy p;
        std::optional<st::usd_micros> allowance;
        if (auto r = apply_limits(*o, p, allowance); !r) return report(r.error(), 2);
        const bool defaults = !o->has("unlimited") && !any_spending_limit(*o);
        if (defaults) {
            p.per_request = default_per_request;
            p.daily = default_daily;
        }
        warn_inconsistent(p);
        auto s = open_proxy_store(*o);
        if (!s) return report(s.error());
        auto created = (*s)->add_agent(*name, p, allowance);
        // A container's init step runs at every start of its pod: the second time, the agent
        // (and whatever `agent set` changed since) must stay as it is, and the step succeed.
        if (!created && o->has("exists-ok") && created.error().code == st::errc::agent_exists) {
            std::cout << "# agent '" << *name << "' exists; nothing changed\n";
            return 0;
        }
        if (!created) return report(created.error());
        std::cout << "# added agent '" << *name << "'\n";
        if (defaults) {
            std::cout << "# no limits given, so the defaults apply: $"
                      << st::format_usd(default_per_request) << " per request, $"
                      << st::format_usd(default_daily)
                      << " a day (change with `purser agent set`; --unlimited for none)\n";
        }
        print_credentials(*created, address);
        return 0;
    }
    auto s = open_proxy_store(*o);
    if (!s) return report(s.error());
    st::store& db = **s;
    if (sub == "set") {
        auto current = db.get_agent(*name);
        if (!current) return report(current.error());
        st::policy p = current->limits;
        std::optional<st::usd_micros> allowance = current->allowance;
        if (auto r = apply_limits(*o, p, allowance); !r) return report(r.error(), 2);
        warn_inconsistent(p);
        // Policy and allowance are separate writes; the allowance is only touched when asked,
        // so a concurrent payment's decrement is never overwritten by a stale copy.
        auto updated = db.set_policy(*name, p);
        if (!updated) return report(updated.error());
        if (o->has("allowance")) {
            auto a = db.set_allowance(*name, allowance);
            if (!a) return report(a.error());
        }
    } else if (sub == "show") {
        // below
    } else if (sub == "freeze" || sub == "unfreeze") {
        auto a = db.set_frozen(*name, sub == "freeze");
        if (!a) return report(a.error());
        std::cout << "agent '" << *name << "' " << (sub == "freeze" ? "frozen" : "unfrozen") << "\n";
        return 0;
    } else if (sub == "remove") {
        auto a = db.remove_agent(*name);
        if (!a) return report(a.error());
        std::cout << "agent '" << *name << "' removed: its token no longer works; its ledger rows are kept"
                  << " (purser ledger --agent " << *name << ")\n";
        return 0;
    } else if (sub == "fund") {
        auto text = o->get("amount");
        if (!text) return report("usage: purser agent fund NAME --amount USD", 2);
        auto amount = st::parse_usd(*text);
        if (!amount) return report("--amount " + *text + ": expected a dollar amount like 5 or 0.10", 2);
        auto a = db.fund(*name, *amount);
        if (!a) return report(a.error());
        std::cout << "agent '" << *name << "' allowance is now $" << st::format_usd(*a->allowance)
                  << "\n";
        return 0;
    } else if (sub == "rotate-token") {
        auto c = db.rotate_token(*name);
        if (!c) return report(c.error());
        std::cout << "# new token for agent '" << *name << "'; the old one no longer works\n";
        print_credentials(*c, address);
        return 0;
    }
    auto a = db.get_agent(*name);
    if (!a) return report(a.error());
    auto u = db.usage(*name);
    if (!u) return report(u.error());
    print_agent(*a, *u);
    return 0;
}

}  // namespace

int agent_command(const words& args) {
    if (args.empty() || wants_help(args)) {
        (args.empty() ? std::cerr : std::cout) << group_help("agent");
        return args.empty() ? 2 : 0;
    }
    return run(args[0], words(args.begin() + 1, args.end()));
}

}  // namespace purser::cli
