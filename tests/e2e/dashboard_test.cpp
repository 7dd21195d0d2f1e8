// The spend dashboard of the real `purser proxy`, in Debian's headless Chromium: after paid and
// declined requests through the proxy, the page loads with no console errors, its charts carry
// exactly the ledger's numbers (`purser spend`), each agent's "left" is its cap minus its spend,
// hostile ledger text stays text, and its Freeze button freezes the agent for the very next
// request through the proxy.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>


#include "purser/store/money.hpp"
#include "purser/store/store.hpp"
#include "purser/store/text.hpp"
#include "world.hpp"

using nlohmann::json;
using purser::test::world;
namespace store = purser::store;

namespace {

const std::string admin_token = "e2e-dashboard-token-0123456789";
const std::string hostile_markup = "<img src=x onerror=\"document.body.dataset.pwned='yes'\">";

/// `purser spend --by BY --format json` as key -> spent micro-USD.
std::map<std::string, std::uint64_t> spend_by(const world& w, const std::string& by) {
    auto r = w.purser({"spend", "--by", by, "--since", "7d", "--format", "json"});
    REQUIRE(r.exit_code == 0);
    std::map<std::string, std::uint64_t> out;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        auto j = json::parse(line);
        auto micros = store::parse_usd(j["spent_usd"].get<std::string>());
        REQUIRE(micros);
        if (*micros != 0) out[j[by].get<std::string>()] = *micros;
    }
    return out;
}

/// Runs the browser driver; its JSON report.
json run_browser(const world& w, const std::string& freeze_agent) {
    const std::string npm_dir = PURSER_DASHBOARD_NPM_DIR;
    auto install = purser::test::run({PURSER_NPM_INSTALL, npm_dir, PURSER_DASHBOARD_PACKAGE_DIR}, {},
                                     std::chrono::seconds(300));
    INFO(install.out << install.err);
    REQUIRE(install.exit_code == 0);
    const std::string script = npm_dir + "/check_dashboard.mjs";
    std::filesystem::copy_file(std::string(PURSER_DASHBOARD_PACKAGE_DIR) + "/check_dashboard.mjs", script,
                               std::filesystem::copy_options::overwrite_existing);
    const std::string url = "http://" + w.admin_address() + "/#token=" + admin_token;
    auto r = purser::test::run({"node", script, url, freeze_agent}, {{"PURSER_CHROMIUM", PURSER_CHROMIUM}},
                               std::chrono::seconds(120));
    INFO(r.err);
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
}

}  // namespace

TEST_CASE("the spend dashboard in headless Chromium shows the ledger and its Freeze button freezes",
          "[e2e][admin][browser]") {
    world w;
    auto alpha = w.add_agent("alpha", {"--per-request", "0.10", "--daily", "5"});
    auto beta = w.add_agent("beta", {"--per-request", "0.10", "--daily", "1", "--monthly", "20"});
    auto frugal = w.add_agent("frugal", {"--per-request", "0.000001"});
    w.start_proxy({"--admin-token-file", w.write_admin_token(admin_token)});
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    for (int i = 0; i < 3; ++i) REQUIRE(w.via_proxy("alpha", alpha, {url}).status == 200);
    for (int i = 0; i < 2; ++i) REQUIRE(w.via_proxy("beta", beta, {url}).status == 200);
    REQUIRE(w.via_proxy("frugal", frugal, {url}).status == 402);

    // A decline whose host, URL and detail carry markup, as a merchant's text could.
    {
        auto s = store::store::open(w.dir() / "home" / "store");
        REQUIRE(s);
        store::reserve_request q;
        q.agent = "frugal";
        q.method = "GET";
        q.host = "evil.example" + hostile_markup;
        q.url = "http://evil.example/" + hostile_markup;
        q.scheme = "exact";
        REQUIRE((*s)->record_decline(q, store::reason::no_supported_offer, hostile_markup));
    }

    const auto by_agent = spend_by(w, "agent");
    REQUIRE(by_agent.size() == 2);  // alpha and beta paid; frugal did not
    const auto by_day = spend_by(w, "day");

    auto report = run_browser(w, "beta");
    INFO(report.dump(2));
    CHECK(report["consoleErrors"].empty());
    CHECK(report["pageErrors"].empty());
    CHECK(report["failedRequests"].empty());
    // The token came in the fragment and was taken out of the address bar.
    CHECK(report["addressAfterLoad"].get<std::string>().find(admin_token) == std::string::npos);

    // Spend per agent: one bar each, exactly the ledger's sum.
    std::map<std::string, std::uint64_t> bars;
    for (const auto& bar : report["agentBars"])
        if (bar["micros"] != "0") bars[bar["agent"]] = std::stoull(bar["micros"].get<std::string>());
    CHECK(bars == by_agent);
    // Spend per day: the day's segments add up to the ledger's day, and per agent to its total.
    std::map<std::string, std::uint64_t> days, agents_over_days;
    for (const auto& seg : report["daySegments"]) {
        const auto micros = std::stoull(seg["micros"].get<std::string>());
        days[seg["day"]] += micros;
        agents_over_days[seg["agent"]] += micros;
        CHECK(seg["height"].get<double>() > 0);
    }
    CHECK(days == by_day);
    CHECK(agents_over_days == by_agent);
    std::uint64_t total = 0;
    for (const auto& [agent, micros] : by_agent) total += micros;
    REQUIRE(report["totals"].size() >= 3);
    const std::string spent_card = report["totals"][0];
    REQUIRE(spent_card.rfind("$", 0) == 0);
    CHECK(store::parse_usd(spent_card.substr(1)) == total);
    CHECK(report["totals"][1] == "5");

    // Caps and what is left: beta's day cap $1 and month cap $20 less what it spent.
    bool saw_beta = false;
    for (const auto& a : report["agents"]) {
        if (a["name"] != "beta") continue;
        saw_beta = true;
        CHECK(a["state"] == "active");
        REQUIRE(a["left"].size() == 2);
        CHECK(a["left"][0] == std::to_string(1'000'000 - by_agent.at("beta")));
        CHECK(a["left"][1] == std::to_string(20'000'000 - by_agent.at("beta")));
    }
    CHECK(saw_beta);

    // Recent decisions: every ledger row, the hostile one shown as the text it is.
    CHECK(report["decisions"].size() == 7);
    bool saw_markup = false;
    for (const auto& cells : report["decisions"])
        for (const auto& cell : cells)
            saw_markup = saw_markup || cell.get<std::string>() == "evil.example" + hostile_markup;
    CHECK(saw_markup);  // shown literally, as the text it is
    CHECK(report["injectedImages"] == 0);
    CHECK(report["pwned"].is_null());

    // The Freeze button: the page says frozen, the store agrees, and the proxy declines.
    CHECK(report["frozenState"] == "frozen");
    CHECK(report["buttonAfterFreeze"] == "Unfreeze");
    auto declined = w.via_proxy("beta", beta, {url});
    CHECK(declined.status == 402);
    REQUIRE(declined.header("purser-decision"));
    CHECK(declined.header("purser-decision")->rfind("declined; reason=agent_frozen", 0) == 0);
    CHECK(w.via_proxy("alpha", alpha, {url}).status == 200);  // only beta
}
