// Fleet budgets through the real binary: several proxies, each with its own store, draw on one
// budget in a real PostgreSQL while paying the testnet merchant, one of them killed mid-run; and a
// database outage mid-run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "fleet_node.hpp"
#include "purser/protocol/uint256.hpp"

using purser::protocol::uint256;
using namespace purser::test;

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

purser::test::run_result purser_cli(const std::vector<std::string>& args, const env_map& env) {
    std::vector<std::string> argv{PURSER_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    return purser::test::run(argv, env);
}

nlohmann::json budget(const std::string& name, const env_map& env) {
    auto r = purser_cli({"budget", "show", name, "--format", "json"}, env);
    if (r.exit_code != 0) throw std::runtime_error("budget show failed: " + r.err);
    return nlohmann::json::parse(r.out);
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

TEST_CASE("4 proxies with 16 agents each never pay more than one fleet budget, and one killed mid-run loses nothing",
          "[fleet][e2e][crash]") {
    postgres_server pg;
    world w(cent_weather);
    REQUIRE(migrate_fleet(w, pg).exit_code == 0);
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    REQUIRE(w.price_of(url) == uint256(10'000));

    constexpr int proxies = 4;
    constexpr int agents = 16;
    constexpr int calls = 4;         // 3 x 16 x 4 calls, and the victim's, for the 100 the budget pays
    constexpr int victim_calls = 12;  // the victim's agents are still calling when it is killed
    const std::vector<std::string> flags{"--fleet-budgets", R"({"*":["org"]})", "--fleet-lease-min", "0.02",
                                         "--fleet-lease-max", "0.16"};
    // Each proxy is its own machine: its own store and proxy id.
    std::vector<std::unique_ptr<fleet_node>> fleet;
    for (int p = 0; p < proxies; ++p) {
        auto node = std::make_unique<fleet_node>(w, pg, "proxy-" + std::to_string(p));
        for (int a = 0; a < agents; ++a) node->add_agent("agent" + std::to_string(a));
        fleet.push_back(std::move(node));
    }
    REQUIRE(fleet[0]->purser({"budget", "add", "org", "--period", "day", "--cap", "1.00"}).exit_code == 0);
    for (auto& node : fleet) node->start(flags);
    fleet_node& victim = *fleet[proxies - 1];
    const uint256 payer_before = w.balance(w.payer());

    std::vector<std::vector<std::string>> codes(proxies * agents);
    std::vector<std::thread> threads;
    for (int p = 0; p < proxies; ++p) {
        for (int a = 0; a < agents; ++a) {
            threads.emplace_back([&, p, a] {
                auto& node = *fleet[static_cast<std::size_t>(p)];
                codes[static_cast<std::size_t>(p * agents + a)] = node.pay_sequentially(
                    "agent" + std::to_string(a), url, &node == &victim ? victim_calls : calls);
            });
        }
    }
    // kill -9 the victim once it has paid a few times: some of its payments are in flight.
    auto victim_paid = [&] {
        const auto rows = victim.local_ledger();
        return std::count_if(rows.begin(), rows.end(), [](const auto& r) { return r.second == "paid"; });
    };
    for (int i = 0; i < 600 && victim_paid() < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(victim.stop(SIGKILL) == 128 + SIGKILL);
    for (auto& t : threads) t.join();
    int ok = 0, declined = 0, unanswered = 0;
    for (int p = 0; p < proxies; ++p) {
        for (int a = 0; a < agents; ++a) {
            for (const auto& c : codes[static_cast<std::size_t>(p * agents + a)]) {
                if (c == "200") ++ok;
                else if (c == "402") ++declined;
                else if (&*fleet[static_cast<std::size_t>(p)] == &victim) ++unanswered;  // killed
                else FAIL("proxy " << p << " answered " << c);
            }
        }
    }
    INFO("paid " << ok << ", declined " << declined << ", killed mid-request " << unanswered);
    CHECK(ok >= 5);
    CHECK(ok <= 100);  // the budget covers 100 at most

    // The others stop (SIGTERM: drain, report what each lease spent, return the rest); the
    // victim's lease stays counted whole while it is gone.
    for (auto& node : fleet)
        if (node.get() != &victim) CHECK(node->stop(SIGTERM) == 0);
    auto org = budget("org", fleet[0]->env());
    INFO(org.dump());
    CHECK(org["active_leases"] >= 1);
    CHECK(micros(org["leased"]) > 0);
    CHECK(micros(org["committed"]) == micros(org["spent"]) + micros(org["leased"]));
    CHECK(micros(org["committed"]) <= 1'000'000);

    // What the killed run signed and never heard back about is settled by proof on chain.
    const uint256 paid_on_chain = *payer_before.sub(w.settled_balance(w.payer(), std::chrono::seconds(2)));
    auto reconciled = victim.purser({"ledger", "reconcile", "--rpc", w.env("PURSER_TESTNET_RPC"), "--keystore",
                                     w.env("PURSER_TESTNET_KEYSTORE")});
    INFO(reconciled.out << reconciled.err);
    REQUIRE(reconciled.exit_code == 0);

    // A restart with the same store and proxy id ships what the outbox held, then returns the
    // lease at SIGTERM.
    victim.start(flags);
    auto c = connect(pg);
    INFO(victim.output());
    CHECK(wait_for_fleet(*c, victim.id(), victim.local_ledger(), std::chrono::seconds(30)));
    CHECK(victim.stop(SIGTERM) == 0);

    // On chain: at most the budget, and exactly what the ledgers count as paid (nothing lost).
    CHECK(paid_on_chain <= uint256(1'000'000));
    std::uint64_t paid_rows = 0;
    for (auto& node : fleet) {
        INFO(node->id());
        const auto local = node->local_ledger();
        for (const auto& [id, status] : local) {
            if (status == "paid") ++paid_rows;
            CHECK(status != "reserved");  // the killed run's reservations were recovered
        }
        // Every row in the fleet ledger once, at its final status.
        const auto remote = fleet_rows(*c, node->id());
        CHECK(remote.count == local.size());
        CHECK(remote.rows == local);
    }
    CHECK(paid_on_chain == uint256(paid_rows * 10'000));
    // The budget: every lease back, and spent covers all that moved (a payment signed in the
    // killed run that never settled stays counted: signed is spent until proven otherwise).
    org = budget("org", fleet[0]->env());
    INFO(org.dump());
    CHECK(org["active_leases"] == 0);
    CHECK(micros(org["committed"]) == micros(org["spent"]));
    CHECK(micros(org["spent"]) >= paid_rows * 10'000);
    CHECK(micros(org["spent"]) <= 1'000'000);

    // Every decline of every proxy says why: the fleet budget, not a local cap.
    for (const auto& node : fleet) {
        auto r = node->purser({"ledger", "--status", "declined", "--format", "json", "--since", "24h"});
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
