// The paid path through the real `purser` binary against the local testnet's merchant: each
// request is answered 402, decided, signed, retried and settled by the testnet facilitator. Two
// proxies run side by side on the same testnet, one with group commit (the default) and one
// with `--no-group-commit` (the in-run peer), and are measured in interleaved rounds at 1, 16
// and 64 agent connections. Reported: paid requests per second, latency, and the CPU each
// process spent per paid request (from /proc/PID/stat), the proxy's and the testnet's, so the
// report shows which of them is the saturated one.
//
// The rate hammer (issue 18): agent A, limited to 60 payments a minute, retries on 16
// connections while agent B pays on 16 others through the same proxy; B's paid requests per
// second with A hammering against B alone, in interleaved rounds of the same run (target: within
// 20 %); and vouchers from prepaid IOU channels against `exact` and against the official
// @x402/fetch client (node, npm 2.27, paying exact as it does) on the route that offers both
// (issue 11; target: 10x the official client's paid/s at 16 connections); and an agent drawing
// on a fleet budget in a real PostgreSQL against the same agent with local caps only (issue 14,
// paid_path_fleet.cpp; target: 90 %). `paid_path_bench commits`, `rate`, `iou`, `fleet` or `floor`
// runs one scenario. `floor`: at one connection, a paid request's proxy CPU against a forwarded
// free one's on the same proxy (what the payment itself costs; floor_at_one_connection).
// PURSER_BENCH_BASELINE adds another build's proxy to `commits` (see main).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "paid_path_fleet.hpp"
#include "paid_path_harness.hpp"
#include "purser/testnet/accounts.hpp"

namespace {

namespace fs = std::filesystem;
using namespace purser::bench;

/// Agent B paying on 16 connections, alone and while agent A (--rate 60) retries on 16 more, in
/// interleaved rounds on the same proxy; false on failures.
bool rate_hammer(const proxy_run& p, const std::string& url, pid_t testnet_pid) {
    auto hammer_auth = add_agent(p.home, "hammer", "--unlimited --rate 60");
    if (!hammer_auth) return false;
    load payer;
    payer.port = p.port;
    payer.target = url;
    payer.clients = 16;
    payer.per_client = 16;
    payer.proxy_authorization = p.authorization;
    std::printf("rate hammer: agent B pays on %u connections; agent A (--rate 60) retries on 16 more\n",
                payer.clients);
    std::printf("%-14s %9s %9s %9s %16s %16s %14s\n", "B", "paid/s", "p50 ms", "p99 ms", "proxy CPU ms/req",
                "testnet ms/req", "A answers/s");
    bool ok = true;
    std::vector<double> alone, hammered;
    for (int round = 0; round < 3; ++round) {  // interleaved: the machine is shared
        for (bool with_hammer : {false, true}) {
            std::atomic<bool> stop{false};
            run_stats a_stats;
            std::thread a;
            if (with_hammer) {
                load hammer = payer;
                hammer.proxy_authorization = *hammer_auth;
                hammer.per_client = 1u << 30;
                hammer.any_status = true;  // 200 for its 60 a minute, 402 declined after
                hammer.stop = &stop;
                a = std::thread([hammer, &a_stats] { a_stats = drive(hammer); });
                std::this_thread::sleep_for(std::chrono::seconds(2));  // past its 60, hammering
            }
            const double proxy_before = cpu_ms(p.pid), testnet_before = cpu_ms(testnet_pid);
            const auto s = drive(payer);
            const double n = s.requests == 0 ? 1.0 : static_cast<double>(s.requests);
            const double proxy_used = cpu_ms(p.pid) - proxy_before, testnet_used = cpu_ms(testnet_pid) - testnet_before;
            stop = true;
            if (a.joinable()) a.join();
            std::printf("%-14s %9.0f %9.1f %9.1f %16.3f %16.3f %14s%s\n", with_hammer ? "A hammering" : "alone",
                        s.requests_per_second, s.p50_us / 1000, s.p99_us / 1000, proxy_used / n, testnet_used / n,
                        with_hammer ? std::to_string(static_cast<long>(a_stats.requests_per_second)).c_str() : "-",
                        s.failures != 0 || a_stats.failures != 0 ? "  (failures)" : "");
            if (s.failures != 0 || a_stats.failures != 0) ok = false;
            (with_hammer ? hammered : alone).push_back(s.requests_per_second);
        }
    }
    std::sort(alone.begin(), alone.end());
    std::sort(hammered.begin(), hammered.end());
    if (alone[1] > 0) {
        std::printf("       median of 3: B with A hammering / B alone = %.2f (target >= 0.80)\n",
                    hammered[1] / alone[1]);
    }
    return ok;
}

/// What a paid request costs the proxy beyond forwarding, at one connection, where the paid path
/// is furthest from its CPU target: paid GET /weather against GET /free (forwarded, no 402) on
/// the same proxy, merchant connection and agent connection, in interleaved rounds. The free
/// request's CPU is what one HTTP exchange with the agent and one with the merchant cost on
/// this machine; a paid request makes one more with the merchant, decides, signs and records.
/// false on failures.
bool floor_at_one_connection(const proxy_run& p, const std::string& paid_url,
                             const std::string& free_url, pid_t testnet_pid, unsigned requests) {
    std::printf("one connection, %u requests a round: paid %s against forwarded %s\n", requests,
                paid_url.c_str(), free_url.c_str());
    std::printf("%-10s %9s %9s %16s %16s %16s\n", "request", "req/s", "p50 ms", "proxy CPU ms/req",
                "testnet ms/req", "proxy switch/req");
    std::vector<double> paid_cpu, free_cpu;
    bool ok = true;
    for (int round = 0; round < 4; ++round) {  // the first is a warm-up, not counted
        for (bool paid : {true, false}) {
            load l;
            l.port = p.port;
            l.target = paid ? paid_url : free_url;
            l.clients = 1;
            l.per_client = requests;
            l.proxy_authorization = p.authorization;
            const double proxy_before = cpu_ms(p.pid), testnet_before = cpu_ms(testnet_pid);
            const double switches_before = context_switches(p.pid);
            const auto s = drive(l);
            const double n = s.requests == 0 ? 1.0 : static_cast<double>(s.requests);
            const double proxy = (cpu_ms(p.pid) - proxy_before) / n;
            if (s.failures != 0) ok = false;
            if (round == 0) continue;
            std::printf("%-10s %9.0f %9.2f %16.3f %16.3f %16.1f%s\n", paid ? "paid" : "forwarded",
                        s.requests_per_second, s.p50_us / 1000, proxy,
                        (cpu_ms(testnet_pid) - testnet_before) / n,
                        (context_switches(p.pid) - switches_before) / n,
                        s.failures != 0 ? "  (failures)" : "");
            (paid ? paid_cpu : free_cpu).push_back(proxy);
        }
    }
    const double paid = median_of(paid_cpu), forwarded = median_of(free_cpu);
    std::printf(
        "       median of 3: paid %.3f ms, forwarded %.3f ms, the payment's own %.3f ms "
        "(target for the paid request: 0.4 ms)\n",
        paid, forwarded, paid - forwarded);
    return ok;
}

/// The official @x402/fetch client (npm 2.27, installed as the official-client tests install it)
/// paying `url` from `conns` concurrent loops in one node process; nullopt when node or the npm
/// install is not available (the peer is then left out, and the bench says so).
std::optional<std::string> prepare_official_client() {
    if (!shell("command -v node >/dev/null && command -v npm >/dev/null")) return std::nullopt;
    const std::string work = PURSER_OFFICIAL_CLIENT_NPM;
    if (!shell("'" + std::string(PURSER_OFFICIAL_CLIENT_DIR) + "/npm_install.sh' '" + work + "' >&2")) {
        return std::nullopt;
    }
    // ESM resolves packages from the script's own folder, so the script runs beside node_modules.
    std::error_code ec;
    fs::copy_file(fs::path(PURSER_BENCH_DIR) / "official_client" / "paid_load.mjs",
                  fs::path(work) / "paid_load.mjs", fs::copy_options::overwrite_existing, ec);
    if (ec) return std::nullopt;
    return work;
}

run_stats official_load(const std::string& work, const std::map<std::string, std::string>& env,
                                       const std::string& url, unsigned conns, unsigned per_client) {
    run_stats s;
    auto out = shell("cd '" + work + "' && URL='" + url + "' CLIENTS=" + std::to_string(conns) +
                     " PER_CLIENT=" + std::to_string(per_client) + " PURSER_TESTNET_ASSET='" +
                     env.at("PURSER_TESTNET_ASSET") + "' PURSER_TESTNET_NETWORK='" +
                     env.at("PURSER_TESTNET_NETWORK") + "' PAYER_PRIVATE_KEY=" +
                     std::string(purser::testnet::payer_account.private_key) +
                     " node paid_load.mjs");
    auto j = nlohmann::json::parse(out.value_or(""), nullptr, false);
    if (!out || j.is_discarded() || !j.is_object()) {
        s.failures = 1;
        return s;
    }
    s.requests = j.value("requests", std::size_t{0});
    s.failures = j.value("failures", std::size_t{0});
    s.requests_per_second = j.value("requests_per_second", 0.0);
    s.p50_us = j.value("p50_us", 0.0);
    s.p99_us = j.value("p99_us", 0.0);
    if (s.failures != 0) std::fprintf(stderr, "official client: %s\n", j.value("first_failure", "").c_str());
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string only = argc > 1 ? argv[1] : "";
    if (!only.empty() && only != "commits" && only != "rate" && only != "iou" && only != "fleet" &&
        only != "floor") {
        std::fprintf(stderr, "usage: paid_path_bench [commits|rate|iou|fleet|floor]\n");
        return 2;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // rows as they are measured, even into a file
    // TMPDIR moves the stores and the testnet (to a tmpfs, say, to see what the disk costs).
    const char* tmpdir = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") + "/purser-paid-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return 1;
    const fs::path root = tmpl;
    ::setenv("PURSER_TESTNET_BASE_PORT", "0", 1);
    const fs::path testnet_home = root / "testnet-home";
    if (!shell("PURSER_HOME='" + testnet_home.string() + "' " + bin() + "testnet up --detach >/dev/null")) return 1;
    const fs::path testnet_env = testnet_home / "testnet" / "testnet.env";
    auto env = env_file(testnet_env);
    const pid_t testnet_pid = static_cast<pid_t>(std::atol(slurp(testnet_home / "testnet" / "testnet.pid").c_str()));
    ::setenv("PURSER_WALLET_PASSWORD_FILE", env["PURSER_TESTNET_PASSWORD_FILE"].c_str(), 1);
    const std::string keystore = "--keystore '" + env["PURSER_TESTNET_KEYSTORE"] + "'";
    const std::string url = env["PURSER_TESTNET_MERCHANT_HTTP"] + "/weather";

    int status = 0;
    std::optional<proxy_run> grouped, single, baseline;
    if (only.empty() || only == "commits" || only == "rate" || only == "floor") {
        grouped = start_proxy("group commit", root / "grouped", testnet_env, keystore);
        single = start_proxy("one commit each", root / "single", testnet_env, keystore + " --no-group-commit");
        if (!grouped || !single) status = 1;
    }
    // PURSER_BENCH_BASELINE=PATH: a proxy of another build (an older commit's purser, say) as a
    // third peer of `commits`, on the same testnet and in the same rounds, so that a change is
    // measured as a ratio within one run rather than against a figure from another day.
    const char* baseline_bin = std::getenv("PURSER_BENCH_BASELINE");
    if (status == 0 && baseline_bin != nullptr && *baseline_bin != '\0' &&
        (only.empty() || only == "commits")) {
        baseline = start_proxy("baseline", root / "baseline", testnet_env, keystore, "--unlimited",
                               "", std::string("'") + baseline_bin + "' ");
        if (!baseline) status = 1;
    }
    if (grouped && single) {
        std::printf("paid path through the real binary: GET %s (exact, testnet facilitator), %u cores\n"
                    "pids (for a profiler): testnet %d, group commit proxy %d, one commit each proxy %d\n",
                    url.c_str(), std::thread::hardware_concurrency(), testnet_pid, grouped->pid, single->pid);
        std::vector<peer> commits{{"group commit", &*grouped, {}}, {"one commit each", &*single, {}}};
        if (baseline) {
            std::printf("baseline proxy %d: %s\n", baseline->pid, baseline_bin);
            commits.push_back({"baseline", &*baseline, {}});
        }
        if ((only.empty() || only == "commits") && !compare_peers(commits, url, testnet_pid)) status = 1;
        if ((only.empty() || only == "rate") && !rate_hammer(*grouped, url, testnet_pid)) status = 1;
        if ((only.empty() || only == "floor") &&
            !floor_at_one_connection(*grouped, url, env["PURSER_TESTNET_MERCHANT_HTTP"] + "/free",
                                     testnet_pid, 2000)) {
            status = 1;
        }
    }
    // Vouchers (batch-settlement from a prepaid channel) against exact on the route that offers
    // both: the first proxy funds a channel once, then pays each call with one signature and no
    // chain transaction; the second, configured to prefer exact, settles every call on chain.
    std::optional<proxy_run> vouchers, exact;
    if (status == 0 && (only.empty() || only == "iou")) {
        const fs::path iou_json = root / "iou.json", exact_json = root / "exact.json";
        std::ofstream(iou_json) << R"({"payment": {"iou": {"deposit": "1", "channels": 64}}})";
        std::ofstream(exact_json) << R"({"payment": {"prefer": "exact"}})";
        vouchers = start_proxy("vouchers", root / "vouchers", testnet_env,
                               keystore + " --config '" + iou_json.string() + "'");
        exact = start_proxy("exact", root / "exact", testnet_env,
                            keystore + " --config '" + exact_json.string() + "'");
        const std::string metered = env["PURSER_TESTNET_MERCHANT_HTTP"] + "/metered";
        if (!vouchers || !exact) {
            status = 1;
        } else {
            std::vector<peer> peers{{"vouchers", &*vouchers, {}}, {"exact", &*exact, {}}};
            std::vector<std::pair<std::string, std::string>> more;
            const auto official = prepare_official_client();
            if (official) {
                peers.push_back({"official client", nullptr, [&](unsigned conns, unsigned per_client) {
                                     return official_load(*official, env, metered, conns, per_client);
                                 }});
                more.emplace_back("exact", "official client");
            }
            std::printf("\nvouchers against exact and the official @x402/fetch client (exact, %s): GET %s "
                        "(offers both), pids vouchers %d, exact %d\n",
                        official ? "node" : "left out: no node or npm install", metered.c_str(), vouchers->pid,
                        exact->pid);
            round_rates rates;
            // 1,500 requests a round, not the default 128: in rounds that short the official
            // client (node) is still warming up, and its rate, so the ratio, came out 1.5-2x off
            // (5.5-6x at 16 connections against 3.6x with rounds of 3,000).
            if (!compare_peers(peers, metered, testnet_pid, more, &rates, 1500)) status = 1;
            const double official_best = best_of(rates[16]["official client"]);
            if (official && official_best > 0) {
                std::printf("       target (issue 11): vouchers / official client at 16 connections = %.2fx "
                            "(target >= 10x)\n",
                            best_of(rates[16]["vouchers"]) / official_best);
            }
        }
    }
    if ((only.empty() || only == "fleet") && !compare_fleet_budget(root, testnet_env, keystore, url, testnet_pid)) {
        status = 1;
    }
    if (grouped) stop(grouped->pid);
    if (single) stop(single->pid);
    if (baseline) stop(baseline->pid);
    if (vouchers) stop(vouchers->pid);
    if (exact) stop(exact->pid);
    (void)shell("PURSER_HOME='" + testnet_home.string() + "' " + bin() + "testnet down >/dev/null");
    std::error_code ec;
    fs::remove_all(root, ec);
    return status;
}
