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

#include "postgres_server.hpp"
#include "purser/fleet/pg.hpp"
#include "world.hpp"

using namespace purser;
using namespace purser::test;

namespace {

/// One proxy of the fleet: its own store (its own agents and ledger) and proxy id, sharing the
/// world's testnet and wallet.
class fleet_proxy {
public:
    fleet_proxy(world& w, const postgres_server& pg, std::string id) : w_(w), id_(std::move(id)) {
        env_ = w.base_env();
        env_["PURSER_STORE_DIR"] = (w.dir() / ("store-" + id_)).string();
        env_["PURSER_FLEET_DB"] = pg.conninfo();
        env_["PURSER_FLEET_PASSWORD_FILE"] = pg.password_file().string();
        env_["PURSER_FLEET_PROXY_ID"] = id_;
    }

    std::string add_agent(const std::string& name) {
        auto r = purser({"agent", "add", name, "--unlimited"});
        if (r.exit_code != 0) throw std::runtime_error("agent add: " + r.err);
        std::smatch m;
        if (!std::regex_search(r.out, m, std::regex(name + ":([0-9a-fA-F]{32,})@")))
            throw std::runtime_error("no token in: " + r.out);
        tokens_[name] = m[1].str();
        return m[1].str();
    }

    void start() {
        const std::string testnet_env = (w_.dir() / "testnet" / "testnet.env").string();
        proxy_ = std::make_unique<process>(
            std::vector<std::string>{PURSER_BIN, "proxy", "--listen", "127.0.0.1:0", "--keystore",
                                     w_.env("PURSER_TESTNET_KEYSTORE"), "--testnet-env", testnet_env,
                                     "--log", (w_.dir() / "logs" / (id_ + ".jsonl")).string(),
                                     "--admin-listen", "off"},
            env_, w_.dir() / "logs", "proxy-" + id_ + "-" + std::to_string(++starts_));
        address_ = proxy_->wait_for(std::regex("proxy listening on ([0-9.]+:[0-9]+)"), std::chrono::seconds(30));
    }
    int stop(int sig) { return proxy_->signal_and_wait(sig); }

    /// One paid GET of the merchant through this proxy as `agent`.
    http_reply pay(const std::string& agent) const {
        return curl({"-x", "http://" + agent + ":" + tokens_.at(agent) + "@" + address_,
                     w_.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather"});
    }

    run_result purser(std::vector<std::string> args) const {
        args.insert(args.begin(), PURSER_BIN);
        return run(args, env_);
    }

    /// This proxy's own ledger (its store): row id -> status.
    std::map<std::uint64_t, std::string> local_ledger() const {
        auto r = purser({"ledger", "--since", "1d", "--format", "json"});
        if (r.exit_code != 0) throw std::runtime_error("ledger: " + r.err);
        std::map<std::uint64_t, std::string> out;
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);) {
            auto j = nlohmann::json::parse(line);
            out[j["id"].get<std::uint64_t>()] = j["status"].get<std::string>();
        }
        return out;
    }

    const std::string& id() const { return id_; }
    std::string output() const { return proxy_ ? proxy_->output() : ""; }

private:
    world& w_;
    std::string id_;
    env_map env_;
    std::map<std::string, std::string> tokens_;
    std::unique_ptr<process> proxy_;
    std::string address_;
    int starts_ = 0;
};

std::unique_ptr<fleet::connection> connect(const postgres_server& pg) {
    auto c = fleet::connection::open({pg.conninfo(), pg.password()});
    if (!c) throw std::runtime_error(c.error().detail);
    return std::move(*c);
}

/// The fleet ledger's rows of one proxy: row id -> status, and how many rows in all (a
/// duplicate would make the count exceed the map).
struct shipped {
    std::map<std::uint64_t, std::string> rows;
    std::size_t count = 0;
};

shipped fleet_rows(fleet::connection& c, const std::string& proxy_id) {
    auto r = c.exec("SELECT row_id, status FROM fleet_ledger WHERE proxy_id = $1", {proxy_id});
    if (!r) throw std::runtime_error(r.error().detail);
    shipped out;
    out.count = r->size();
    for (std::size_t i = 0; i < r->size(); ++i) out.rows[r->u64(i, "row_id")] = r->text(i, "status");
    return out;
}

/// Polls until the fleet ledger holds exactly `want` for `proxy_id` (the shipper works in the
/// background), at most `limit`.
bool wait_for_fleet(fleet::connection& c, const std::string& proxy_id,
                    const std::map<std::uint64_t, std::string>& want, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (fleet_rows(c, proxy_id).rows == want) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

void migrate(world& w, const postgres_server& pg) {
    auto r = run({PURSER_BIN, "fleet", "migrate", "--db", pg.conninfo(), "--db-password-file",
                  pg.password_file().string()},
                 w.base_env());
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("two proxies paying ship every ledger row to PostgreSQL exactly once", "[fleet][e2e]") {
    postgres_server pg;
    world w;
    migrate(w, pg);
    std::vector<std::unique_ptr<fleet_proxy>> proxies;
    for (const char* id : {"pod-a", "pod-b"}) {
        auto p = std::make_unique<fleet_proxy>(w, pg, id);
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
                    if (proxy->pay("agent" + std::to_string(a)).status == 200) ++paid;
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
    fleet_proxy p(w, pg, "pod-k");
    p.add_agent("bot");
    p.add_agent("bot2");
    p.start();
    auto c = connect(pg);
    REQUIRE(p.pay("bot").status == 200);
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
                if (p.pay(agent).status == 200) ++paid;
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
