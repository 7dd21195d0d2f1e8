#include "paid_path_fleet.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "paid_path_harness.hpp"
#include "postgres_server.hpp"
#include "purser/store/text.hpp"

namespace purser::bench {
namespace {

namespace fs = std::filesystem;

constexpr double target = 0.90;  // issue 14: at least 90 % of local-only throughput

/// CPU of the PostgreSQL server: the postmaster, its live backends (the proxy's lease keeper
/// and ledger shipper each hold one) and its exited ones, in milliseconds.
double postgres_cpu_ms(const fs::path& data_dir) {
    std::ifstream pidfile(data_dir / "postmaster.pid");
    long postmaster = 0;
    if (!(pidfile >> postmaster) || postmaster <= 0) return 0;
    double ticks = 0;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        const auto f = stat_fields(static_cast<pid_t>(std::atol(name.c_str())));
        if (f.size() <= 17) continue;
        const long pid = std::atol(f[1].c_str()), ppid = std::atol(f[4].c_str());
        if (pid != postmaster && ppid != postmaster) continue;
        ticks += std::stod(f[14]) + std::stod(f[15]);
        if (pid == postmaster) ticks += std::stod(f[16]) + std::stod(f[17]);  // reaped backends
    }
    return ticks_ms(ticks);
}

}  // namespace

bool compare_fleet_budget(const fs::path& root, const fs::path& testnet_env, const std::string& keystore,
                          const std::string& url, pid_t testnet_pid) {
    std::optional<test::postgres_server> pg;
    try {
        // Durable, as an operator runs it: the shipper's commits pay PostgreSQL's fsync.
        pg.emplace(test::postgres_server::durability::durable);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fleet: %s\n", e.what());
        return false;
    }
    const std::string db = "PURSER_FLEET_DB='" + pg->conninfo() + "' PURSER_FLEET_PASSWORD_FILE='" +
                           pg->password_file().string() + "' ";
    if (!shell(db + bin() + "fleet migrate >/dev/null") ||
        !shell(db + bin() + "budget add org --period day --cap 1000000 >/dev/null")) {
        return false;
    }
    // What an operator writes: the database, its password file, this proxy's id, every agent on
    // the organisation's budget; lease bounds left at their defaults ($0.10 to $10).
    const fs::path config = root / "fleet.json";
    std::ofstream(config) << nlohmann::json{{"fleet",
                                             {{"database", pg->conninfo()},
                                              {"password_file", pg->password_file().string()},
                                              {"proxy_id", "bench-fleet"},
                                              {"budgets", {{"*", {"org"}}}}}}}
                                 .dump();
    // The same local caps on both sides, checked on every payment and never reached here.
    const std::string caps = "--per-request 0.01 --daily 100000";
    auto fleet = start_proxy("fleet budget", root / "fleet", testnet_env,
                             keystore + " --config '" + config.string() + "'", caps);
    auto local = start_proxy("local caps only", root / "local", testnet_env, keystore, caps);
    bool ok = fleet && local;
    if (ok) {
        std::printf("\nfleet budget (PostgreSQL on 127.0.0.1:%d, fsync on; lease keeper and ledger shipper on) "
                    "against local caps only: GET %s, pids fleet %d, local %d\n",
                    pg->port(), url.c_str(), fleet->pid, local->pid);
        std::vector<peer> peers{{"fleet budget", &*fleet, {}}, {"local caps only", &*local, {}}};
        round_rates rates;
        const double pg_before = postgres_cpu_ms(pg->data_dir());
        ok = compare_peers(peers, url, testnet_pid, {}, &rates, 512);
        const double pg_used = postgres_cpu_ms(pg->data_dir()) - pg_before;
        for (auto& [conns, by_peer] : rates) {
            const double local_median = median_of(by_peer["local caps only"]);
            if (local_median <= 0) continue;
            const double ratio = median_of(by_peer["fleet budget"]) / local_median;
            std::printf("       median of 3 at %u: fleet budget / local caps only = %.2f (target >= %.2f: %s)\n",
                        conns, ratio, target, ratio >= target ? "met" : "missed");
        }
        stop(fleet->pid);  // returns its leases: the budget's `spent` is then every payment
        fleet.reset();
        auto shown = shell(db + bin() + "budget show org --format json");
        auto j = nlohmann::json::parse(shown.value_or(""), nullptr, false);
        if (!j.is_object() || !j.contains("spent")) {
            ok = false;
        } else {
            const auto spent = store::parse_usd(j["spent"].get<std::string>());
            const auto paid = spent ? *spent / 1000 : 0;  // GET /weather costs $0.001
            std::printf("       budget org after the run: %s; PostgreSQL CPU %.0f ms for %llu fleet payments "
                        "= %.3f ms per paid request\n",
                        j.dump().c_str(), pg_used, static_cast<unsigned long long>(paid),
                        paid != 0 ? pg_used / static_cast<double>(paid) : 0.0);
        }
    }
    if (fleet) stop(fleet->pid);
    if (local) stop(local->pid);
    return ok;
}

}  // namespace purser::bench
