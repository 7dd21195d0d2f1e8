// The fleet ledger through the real binary: proxies paying the testnet merchant ship every
// ledger row to a real PostgreSQL exactly once, and a proxy killed with SIGKILL while the database
// is away ships what it left in its outbox after a restart with the same proxy id.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "fleet_node.hpp"

using namespace purser;
using namespace purser::test;

namespace {

std::string weather(const world& w) { return w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather"; }

void migrate(const world& w, const postgres_server& pg) {
    auto r = migrate_fleet(w, pg);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("two proxies paying ship every ledger row to PostgreSQL exactly once", "[fleet][e2e]") {
    postgres_server pg;
    world w;
    migrate(w, pg);
    std::vector<std::unique_ptr<fleet_node>> proxies;
    for (const char* id : {"pod-a", "pod-b"}) {
        auto p = std::make_unique<fleet_node>(w, pg, id);
        for (int a = 0; a < 4; ++a) p->add_agent("agent" + std::to_string(a));
        p->start();
        proxies.push_back(std::move(p));
    }
    // 4 agents on each proxy, 5 paid requests each, all at once.
    std::atomic<int> paid{0};
    std::vector<std::thread> agents;
    for (auto& p : proxies) {
        for (int a = 0; a < 4; ++a) {
            agents.emplace_back([&, proxy = p.get(), a] {
                for (int i = 0; i < 5; ++i) {
                    if (proxy->pay("agent" + std::to_string(a), weather(w)).status == 200) ++paid;
                }
            });
        }
    }
    for (auto& t : agents) t.join();
    CHECK(paid == 40);
    // SIGTERM: the last drain ships what is left before the proxy exits.
    for (auto& p : proxies) CHECK(p->stop(SIGTERM) == 0);

    auto c = connect(pg);
    for (auto& p : proxies) {
        INFO(p->id() << "\n" << p->output());
        const auto local = p->local_ledger();
        CHECK(local.size() == 20);
        for (const auto& [id, status] : local) CHECK(status == "paid");
        const auto remote = fleet_rows(*c, p->id());
        CHECK(remote.count == local.size());  // once each
        CHECK(remote.rows == local);          // every row, at its final status
    }

    // The CLI answers for the whole fleet.
    auto by_proxy = proxies[0]->purser({"spend", "--fleet", "--by", "proxy", "--format", "json"});
    INFO(by_proxy.err);
    REQUIRE(by_proxy.exit_code == 0);
    std::istringstream lines(by_proxy.out);
    std::vector<nlohmann::json> totals;
    for (std::string line; std::getline(lines, line);) totals.push_back(nlohmann::json::parse(line));
    REQUIRE(totals.size() == 2);
    CHECK(totals[0]["proxy"] == "pod-a");
    CHECK(totals[0]["paid"] == 20);
    CHECK(totals[1]["proxy"] == "pod-b");
    CHECK(totals[1]["paid"] == 20);
    auto listing = proxies[1]->purser({"ledger", "--fleet", "--agent", "agent1", "--format", "json"});
    REQUIRE(listing.exit_code == 0);
    std::size_t rows_of_agent1 = 0;
    std::istringstream listed(listing.out);
    for (std::string line; std::getline(listed, line);) {
        auto j = nlohmann::json::parse(line);
        CHECK(j["agent"] == "agent1");
        CHECK(j["url"].get<std::string>().find('?') == std::string::npos);
        ++rows_of_agent1;
    }
    CHECK(rows_of_agent1 == 10);  // 5 on each proxy
    auto table = proxies[1]->purser({"ledger", "--fleet", "--proxy", "pod-b"});
    CHECK(table.out.find("PROXY") != std::string::npos);
    CHECK(table.out.find("pod-a") == std::string::npos);
    CHECK(table.out.find("pod-b") != std::string::npos);
}

TEST_CASE("SIGKILL while PostgreSQL is down: a restart with the same proxy id ships the outbox, nothing lost or doubled",
          "[fleet][e2e][crash]") {
    postgres_server pg;
    world w;
    migrate(w, pg);
    fleet_node p(w, pg, "pod-k");
    p.add_agent("bot");
    p.add_agent("bot2");
    p.start();
    auto c = connect(pg);
    REQUIRE(p.pay("bot", weather(w)).status == 200);
    REQUIRE(wait_for_fleet(*c, "pod-k", p.local_ledger(), std::chrono::seconds(20)));

    // The database goes away; payments go on (shipping is never on the payment path) and
    // their rows wait in the outbox.
    c.reset();
    pg.stop();
    std::atomic<bool> run_agents{true};
    std::atomic<int> paid{0};
    std::vector<std::thread> agents;
    for (const char* agent : {"bot", "bot2"}) {
        agents.emplace_back([&, agent] {
            while (run_agents) {
                if (p.pay(agent, weather(w)).status == 200) ++paid;
            }
        });
    }
    while (paid < 10) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(p.stop(SIGKILL) == 128 + SIGKILL);  // mid-run: some payments are in flight
    run_agents = false;
    for (auto& t : agents) t.join();

    pg.start();
    p.start();  // the same store and proxy id; recovery marks the dead run's reservations in doubt
    c = connect(pg);
    const auto local = p.local_ledger();
    REQUIRE(local.size() >= 11);
    INFO(p.output());
    CHECK(wait_for_fleet(*c, "pod-k", local, std::chrono::seconds(20)));
    CHECK(p.stop(SIGTERM) == 0);
    const auto remote = fleet_rows(*c, "pod-k");
    CHECK(remote.count == local.size());
    CHECK(remote.rows == p.local_ledger());
}
