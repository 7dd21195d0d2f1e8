// Fleet budgets through the real binary: several proxies, each with its own store, draw on one
// budget in a real PostgreSQL while paying the testnet merchant; and a database outage mid-run.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "postgres_server.hpp"
#include "purser/protocol/uint256.hpp"
#include "world.hpp"

using purser::protocol::uint256;
using purser::test::env_map;
using purser::test::postgres_server;
using purser::test::world;

namespace {

/// The testnet's v2 merchant with GET /weather at 0.01 USDC: 100 payments make $1.00.
void cent_weather(const std::filesystem::path& testnet_dir) {
    nlohmann::json route = {{"method", "GET"},   {"path", "/weather"}, {"handler", "weather"},
                            {"description", "Weather at a cent"},      {"price", "10000"},
                            {"schemes", {"exact"}}};
    nlohmann::json cfg = {{"x402Version", 2},
                          {"asset", "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
                          {"withdrawDelay", 900},
                          {"maxTimeoutSeconds", 300},
                          {"routes", {route}}};
    std::ofstream(testnet_dir / "merchant-v2.json") << cfg.dump(2) << "\n";
}

env_map with(env_map base, const env_map& more) {
    for (const auto& [k, v] : more) base[k] = v;
    return base;
}

purser::test::run_result purser_cli(const std::vector<std::string>& args, const env_map& env) {
    std::vector<std::string> argv{PURSER_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    return purser::test::run(argv, env);
}

std::string add_agent(const std::string& name, const env_map& env) {
    auto r = purser_cli({"agent", "add", name, "--unlimited"}, env);
    if (r.exit_code != 0) throw std::runtime_error("agent add failed: " + r.err);
    std::smatch m;
    if (!std::regex_search(r.out, m, std::regex(name + ":([0-9a-fA-F]{32,})@")))
        throw std::runtime_error("no token in: " + r.out);
    return m[1].str();
}

nlohmann::json budget(const std::string& name, const env_map& env) {
    auto r = purser_cli({"budget", "show", name, "--format", "json"}, env);
    if (r.exit_code != 0) throw std::runtime_error("budget show failed: " + r.err);
    return nlohmann::json::parse(r.out);
}

/// Status codes of `n` sequential requests to `url` by one curl process through `proxy_url`.
std::vector<std::string> pay_sequentially(const std::string& proxy_url, const std::string& url, int n,
                                          const std::filesystem::path& cfg_file) {
    {
        std::ofstream cfg(cfg_file);
        for (int i = 0; i < n; ++i)
            cfg << "url = \"" << url << "?i=" << i << "\"\noutput = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\"\n";
    }
    auto r = purser::test::run({"curl", "-sS", "--max-time", "60", "-x", proxy_url, "-K", cfg_file.string()});
    std::vector<std::string> codes;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) codes.push_back(line);
    return codes;
}

/// micro-USD from the budget CLI's decimal text ("0.37").
std::uint64_t micros(const nlohmann::json& usd) {
    const std::string text = usd.get<std::string>();
    const auto dot = text.find('.');
    std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
    frac.resize(6, '0');
    return std::stoull(text.substr(0, dot)) * 1'000'000 + std::stoull(frac);
}

}  // namespace

TEST_CASE("4 proxies with 16 agents each never pay more than their one fleet budget", "[fleet][e2e]") {
    postgres_server pg;
    world w(cent_weather);
    const env_map fleet_env{{"PURSER_FLEET_DB", pg.conninfo()},
                            {"PURSER_FLEET_PASSWORD_FILE", pg.password_file().string()}};
    const env_map env = with(w.base_env(), fleet_env);
    REQUIRE(purser_cli({"fleet", "migrate"}, env).exit_code == 0);
    REQUIRE(purser_cli({"budget", "add", "org", "--period", "day", "--cap", "1.00"}, env).exit_code == 0);
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    REQUIRE(w.price_of(url) == uint256(10'000));

    constexpr int proxies = 4;
    constexpr int agents = 16;
    constexpr int calls = 4;  // 256 calls for the 100 the budget pays
    struct one_proxy {
        env_map env;
        std::unique_ptr<purser::test::process> proc;
        std::string address;
        std::vector<std::string> tokens;
    };
    std::vector<one_proxy> fleet(proxies);
    for (int p = 0; p < proxies; ++p) {
        auto& f = fleet[static_cast<std::size_t>(p)];
        // Each proxy is its own machine: its own home, store and proxy id.
        f.env = with(env, {{"PURSER_HOME", (w.dir() / ("home" + std::to_string(p))).string()},
                           {"PURSER_FLEET_PROXY_ID", "proxy-" + std::to_string(p)}});
        for (int a = 0; a < agents; ++a) f.tokens.push_back(add_agent("agent" + std::to_string(a), f.env));
        f.proc = std::make_unique<purser::test::process>(
            std::vector<std::string>{PURSER_BIN, "proxy", "--listen", "127.0.0.1:0", "--admin-listen", "off",
                                     "--keystore", w.env("PURSER_TESTNET_KEYSTORE"), "--testnet-env",
                                     (w.dir() / "testnet" / "testnet.env").string(), "--log", "off",
                                     "--fleet-budgets", R"({"*":["org"]})", "--fleet-lease-min", "0.02",
                                     "--fleet-lease-max", "0.16"},
            f.env, w.dir() / "logs", "proxy" + std::to_string(p));
        f.address = f.proc->wait_for(std::regex("proxy listening on ([0-9.]+:[0-9]+)"));
    }
    const uint256 payer_before = w.balance(w.payer());

    std::vector<std::vector<std::string>> codes(proxies * agents);
    std::vector<std::thread> threads;
    for (int p = 0; p < proxies; ++p) {
        for (int a = 0; a < agents; ++a) {
            threads.emplace_back([&, p, a] {
                const auto& f = fleet[static_cast<std::size_t>(p)];
                const std::string name = "agent" + std::to_string(a);
                codes[static_cast<std::size_t>(p * agents + a)] = pay_sequentially(
                    "http://" + name + ":" + f.tokens[static_cast<std::size_t>(a)] + "@" + f.address, url, calls,
                    w.dir() / ("curl-" + std::to_string(p) + "-" + std::to_string(a) + ".cfg"));
            });
        }
    }
    for (auto& t : threads) t.join();
    int ok = 0, declined = 0, other = 0;
    for (const auto& list : codes)
        for (const auto& c : list) (c == "200" ? ok : c == "402" ? declined : other)++;
    INFO("paid " << ok << ", declined " << declined << ", other " << other);
    CHECK(ok + declined + other == proxies * agents * calls);
    CHECK(other == 0);
    CHECK(ok >= 1);
    CHECK(declined >= proxies * agents * calls - 100);  // the budget covers 100 at most

    // SIGTERM: each proxy drains and returns what its leases did not spend.
    for (auto& f : fleet) CHECK(f.proc->signal_and_wait(SIGTERM) == 0);
    const uint256 paid_on_chain = *payer_before.sub(w.balance(w.payer()));
    CHECK(paid_on_chain <= uint256(1'000'000));
    CHECK(paid_on_chain == uint256(static_cast<std::uint64_t>(ok) * 10'000));
    const auto org = budget("org", env);
    INFO(org.dump());
    CHECK(org["active_leases"] == 0);
    CHECK(micros(org["spent"]) == static_cast<std::uint64_t>(ok) * 10'000);
    CHECK(micros(org["committed"]) == micros(org["spent"]));

    // Every decline of every proxy says why: the fleet budget, not a local cap.
    for (const auto& f : fleet) {
        auto r = purser_cli({"ledger", "--status", "declined", "--format", "json", "--since", "24h"}, f.env);
        REQUIRE(r.exit_code == 0);
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);) {
            if (line.empty()) continue;
            CHECK(nlohmann::json::parse(line)["reason"] == "budget_unavailable");
        }
    }
}

TEST_CASE("PostgreSQL down: a proxy spends only its lease, declines, then resumes by itself", "[fleet][e2e]") {
    postgres_server pg;
    world w;
    w.set_env("PURSER_FLEET_DB", pg.conninfo());
    w.set_env("PURSER_FLEET_PASSWORD_FILE", pg.password_file().string());
    REQUIRE(w.purser({"fleet", "migrate"}).exit_code == 0);
    REQUIRE(w.purser({"budget", "add", "org", "--period", "month", "--cap", "10"}).exit_code == 0);
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";  // $0.001
    const auto token = w.add_agent("bot");
    w.set_env("PURSER_ADMIN_TOKEN", "fleet-test-admin-token");
    // Leases of $0.005: five payments each.
    w.start_proxy({"--fleet-budgets", R"({"bot":["org"]})", "--fleet-lease-min", "0.005", "--fleet-lease-max",
                   "0.005"});
    const uint256 payer_before = w.balance(w.payer());
    auto admin = [&](const std::string& path) {
        return purser::test::curl({"--noproxy", "*", "-H", "Authorization: Bearer fleet-test-admin-token",
                                   "http://" + w.admin_address() + path});
    };
    auto pay = [&] { return w.via_proxy("bot", token, {url}); };
    for (int i = 0; i < 3; ++i) REQUIRE(pay().status == 200);
    CHECK(admin("/readyz").status == 200);

    pg.stop();
    // Paying goes on from the lease in hand, then stops with budget_unavailable.
    int paid_in_outage = 0;
    int declined = 0;
    for (int i = 0; i < 20; ++i) {
        auto r = pay();
        if (r.status == 200) {
            CHECK(declined == 0);  // nothing is paid once the lease is spent
            ++paid_in_outage;
            continue;
        }
        REQUIRE(r.status == 402);
        CHECK(r.header("purser-decision").value_or("").find("reason=budget_unavailable") != std::string::npos);
        ++declined;
    }
    INFO("paid during the outage: " << paid_in_outage);
    // At most what the leases held: one lease plus the rest of the one before (below half).
    CHECK(paid_in_outage <= 7);
    CHECK(declined >= 13);
    // Readiness and metrics say so (the proxy checks the database every second).
    purser::test::http_reply ready;
    for (int i = 0; i < 100 && (ready = admin("/readyz")).status != 503; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(ready.status == 503);
    CHECK(nlohmann::json::parse(ready.body)["checks"]["fleet_database"] == false);
    const std::string down = admin("/metrics").body;
    CHECK(down.find("\npurser_fleet_database_up 0\n") != std::string::npos);
    CHECK(down.find("purser_fleet_lease_remaining_micros{budget=\"org\"}") != std::string::npos);

    pg.start();
    // Back by itself, without a restart: the next lease comes and payments resume.
    int resumed = 0;
    for (int i = 0; i < 100 && resumed == 0; ++i) {
        if (pay().status == 200) ++resumed;
        else std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(resumed == 1);
    for (int i = 0; i < 100 && (ready = admin("/readyz")).status != 200; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(ready.status == 200);
    CHECK(admin("/metrics").body.find("\npurser_fleet_database_up 1\n") != std::string::npos);

    CHECK(w.stop_proxy() == 0);
    const uint256 paid_on_chain = *payer_before.sub(w.balance(w.payer()));
    const auto org = budget("org", w.base_env());
    INFO(org.dump());
    CHECK(org["active_leases"] == 0);
    CHECK(paid_on_chain == uint256(static_cast<std::uint64_t>(3 + paid_in_outage + 1) * 1000));
    CHECK(micros(org["spent"]) == (3 + static_cast<std::uint64_t>(paid_in_outage) + 1) * 1000);
}
