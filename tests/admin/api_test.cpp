// Every admin route against a real store: the token guards all but the probes, a refused call
// changes nothing, and the JSON says what the store says.
#include "purser/admin/api.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "prom_text.hpp"
#include "purser/store/store.hpp"
#include "store_support.hpp"

using namespace purser;
using nlohmann::json;
using purser::test::usdc_request;

namespace {

struct fixture {
    purser::test::temp_dir dir;
    std::shared_ptr<store::store> db;
    std::shared_ptr<proxy::metrics> stats = std::make_shared<proxy::metrics>();
    std::unique_ptr<admin::api> api;
    bool wallet = true;

    fixture() {
        auto opened = store::store::open(dir.path() / "store");
        REQUIRE(opened);
        db = std::move(*opened);
        admin::readiness ready;
        ready.store_open = [] { return true; };
        ready.wallet_unlocked = [this] { return wallet; };
        ready.listener_up = [] { return true; };
        api = std::make_unique<admin::api>(db, stats, ready, admin::bearer_token("tok-123"));
    }

    admin::response call(const std::string& method, const std::string& target,
                         const std::string& auth = "Bearer tok-123", const std::string& body = "") {
        return api->handle({method, target, auth, body});
    }
};

json body_of(const admin::response& r) { return json::parse(r.body); }

}  // namespace

TEST_CASE("admin probes are open and say what is not ready", "[admin][api]") {
    fixture f;
    auto health = f.call("GET", "/healthz", "");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");
    CHECK(f.call("GET", "/readyz", "").status == 200);
    f.wallet = false;
    auto ready = f.call("GET", "/readyz", "");
    CHECK(ready.status == 503);
    CHECK(body_of(ready)["checks"]["wallet"] == false);
    CHECK(body_of(ready)["checks"]["store"] == true);
}

TEST_CASE("admin routes without the right token answer 401 and change nothing", "[admin][api]") {
    fixture f;
    store::policy p;
    p.daily = 5'000'000;
    REQUIRE(f.db->add_agent("bot", p, store::usd_micros{1'000'000}));
    for (const std::string auth : {"", "Bearer wrong", "Bearer tok-1234", "Basic tok-123", "tok-123"}) {
        INFO(auth);
        for (auto [method, target] : {std::pair{"POST", "/agents/bot/freeze"},
                                      {"POST", "/agents/bot/fund"}, {"GET", "/agents"},
                                      {"GET", "/agents/bot"}, {"GET", "/ledger"},
                                      {"GET", "/metrics"}, {"GET", "/no/such/route"}}) {
            auto r = f.call(method, target, auth, R"({"amount":"1"})");
            CHECK(r.status == 401);
            CHECK(r.body.find("bot") == std::string::npos);
            bool challenged = false;
            for (const auto& [k, v] : r.headers) challenged = challenged || k == "WWW-Authenticate";
            CHECK(challenged);
        }
    }
    auto a = f.db->get_agent("bot");
    REQUIRE(a);
    CHECK_FALSE(a->frozen);
    CHECK(a->allowance == store::usd_micros{1'000'000});
}

TEST_CASE("with no token configured every protected route is 401", "[admin][api]") {
    fixture f;
    admin::api open(f.db, f.stats, {}, std::nullopt);
    CHECK(open.handle({"GET", "/agents", "", ""}).status == 401);
    CHECK(open.handle({"GET", "/agents", "Bearer ", ""}).status == 401);
    CHECK(open.handle({"GET", "/healthz", "", ""}).status == 200);
    CHECK(open.handle({"GET", "/readyz", "", ""}).status == 503);  // no checks given: not ready
}

TEST_CASE("admin agents: list and show and freeze and unfreeze and fund", "[admin][api]") {
    fixture f;
    store::policy p;
    p.per_request = 100'000;
    REQUIRE(f.db->add_agent("bot", p, store::usd_micros{1'000'000}));
    REQUIRE(f.db->add_agent("free", store::policy{}));

    auto list = f.call("GET", "/agents");
    REQUIRE(list.status == 200);
    auto agents = body_of(list);
    REQUIRE(agents.size() == 2);
    CHECK(agents[0]["name"] == "bot");
    CHECK(agents[0]["limits"]["per_request"] == "0.1");
    CHECK(agents[0]["allowance"] == "1");
    CHECK(agents[1]["allowance"].is_null());

    auto frozen = f.call("POST", "/agents/bot/freeze");
    REQUIRE(frozen.status == 200);
    CHECK(body_of(frozen)["frozen"] == true);
    CHECK(f.db->get_agent("bot")->frozen);
    CHECK(body_of(f.call("POST", "/agents/bot/unfreeze"))["frozen"] == false);
    CHECK_FALSE(f.db->get_agent("bot")->frozen);

    auto funded = f.call("POST", "/agents/bot/fund", "Bearer tok-123", R"({"amount":"1.50"})");
    REQUIRE(funded.status == 200);
    CHECK(body_of(funded)["allowance"] == "2.5");
    CHECK(f.db->get_agent("bot")->allowance == store::usd_micros{2'500'000});

    // Money is never a JSON number, never negative, never more than 6 decimals.
    for (const char* body : {R"({"amount":1.5})", R"({"amount":"-1"})", R"({"amount":"0.0000001"})",
                             R"({"amount":"0"})", R"({"amount":"1","x":1})", "not json", "[]"}) {
        INFO(body);
        CHECK(f.call("POST", "/agents/bot/fund", "Bearer tok-123", body).status == 400);
    }
    CHECK(f.db->get_agent("bot")->allowance == store::usd_micros{2'500'000});
    CHECK(f.call("POST", "/agents/free/fund", "Bearer tok-123", R"({"amount":"1"})").status == 409);
    CHECK(f.call("GET", "/agents/ghost").status == 404);
    CHECK(f.call("POST", "/agents/ghost/freeze").status == 404);
    CHECK(f.call("GET", "/agents/bad%20name").status == 404);
    CHECK(f.call("GET", "/agents/bot/freeze").status == 405);
    CHECK(f.call("POST", "/agents").status == 405);
}

TEST_CASE("admin ledger takes the CLI's filters as query parameters", "[admin][api]") {
    fixture f;
    REQUIRE(f.db->add_agent("a", store::policy{}));
    REQUIRE(f.db->add_agent("b", store::policy{}));
    REQUIRE(f.db->set_frozen("b", true));
    auto q = usdc_request("a", 1000);
    auto approved = f.db->reserve(q);
    REQUIRE(approved);
    REQUIRE(approved->approved);
    q.agent = "b";
    auto declined = f.db->reserve(q);
    REQUIRE(declined);
    REQUIRE_FALSE(declined->approved);

    auto all = body_of(f.call("GET", "/ledger"));
    CHECK(all.size() == 2);
    auto only_b = body_of(f.call("GET", "/ledger?agent=b&since=1h"));
    REQUIRE(only_b.size() == 1);
    CHECK(only_b[0]["reason"] == "agent_frozen");
    CHECK(only_b[0]["status"] == "declined");
    auto reserved = body_of(f.call("GET", "/ledger?status=reserved&host=API.EXAMPLE.COM"));
    REQUIRE(reserved.size() == 1);
    CHECK(reserved[0]["amount"] == "1000");
    CHECK(body_of(f.call("GET", "/ledger?limit=1")).size() == 1);
    CHECK(body_of(f.call("GET", "/ledger?until=2000-01-01")).empty());
    CHECK(f.call("GET", "/ledger?status=bogus").status == 400);
    CHECK(f.call("GET", "/ledger?since=yesterday").status == 400);
    CHECK(f.call("GET", "/ledger?colour=red").status == 400);
    CHECK(f.call("GET", "/ledger?agent=a&agent=b").status == 400);
    CHECK(f.call("GET", "/ledger?agent=%zz").status == 400);

    // The reserved row is in flight; /metrics shows it from the store.
    auto m = f.call("GET", "/metrics");
    REQUIRE(m.status == 200);
    CHECK(m.content_type.rfind("text/plain; version=0.0.4", 0) == 0);
    auto e = purser::test::prom::parse(m.body);
    CHECK(purser::test::prom::value_of(e, "purser_in_flight_atomic", "purser_in_flight_atomic",
                                       {{"asset", q.asset}, {"network", "eip155:31337"}}) == "1000");
}

TEST_CASE("admin spend groups like the CLI and by agent and day for the dashboard", "[admin][api]") {
    fixture f;
    REQUIRE(f.db->add_agent("a", store::policy{}));
    REQUIRE(f.db->add_agent("b", store::policy{}));
    for (auto [agent, atomic] : {std::pair{"a", 250'000}, {"a", 1}, {"b", 40'000}}) {
        auto d = f.db->reserve(usdc_request(agent, static_cast<std::uint64_t>(atomic)));
        REQUIRE(d);
        REQUIRE(d->approved);
    }
    auto by_agent_day = body_of(f.call("GET", "/spend?by=agent_day&since=7d"));
    REQUIRE(by_agent_day.size() == 2);
    CHECK(by_agent_day[0]["agent"] == "a");
    CHECK(by_agent_day[0]["day"].get<std::string>().size() == 10);
    CHECK(by_agent_day[0]["spent_usd"] == "0.250001");
    CHECK(by_agent_day[0]["approved"] == 2);
    CHECK(by_agent_day[1]["agent"] == "b");
    CHECK(by_agent_day[1]["spent_usd"] == "0.04");
    auto by_host = body_of(f.call("GET", "/spend?by=host"));
    REQUIRE(by_host.size() == 1);
    CHECK(by_host[0]["host"] == "api.example.com");
    CHECK(by_host[0]["spent_usd"] == "0.290001");
    CHECK(body_of(f.call("GET", "/spend"))[0].contains("agent"));
    CHECK(body_of(f.call("GET", "/spend?until=2000-01-01")).empty());
    CHECK(f.call("GET", "/spend?by=colour").status == 400);
    CHECK(f.call("GET", "/spend?since=soon").status == 400);
    CHECK(f.call("GET", "/spend?by=agent&by=host").status == 400);
    CHECK(f.call("GET", "/spend?agent=a").status == 400);
    CHECK(f.call("GET", "/spend", "Bearer wrong").status == 401);
    CHECK(f.call("POST", "/spend").status == 405);
}

TEST_CASE("the dashboard's files are open, compiled in, and locked to their own origin", "[admin][api]") {
    fixture f;
    auto page = f.call("GET", "/", "");
    REQUIRE(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    CHECK(page.body.find("<script src=\"/dashboard.js\"") != std::string::npos);
    // No inline script anywhere in the page: the policy below would refuse it anyway.
    CHECK(page.body.find("<script>") == std::string::npos);
    auto header = [](const admin::response& r, const std::string& name) {
        for (const auto& [k, v] : r.headers)
            if (k == name) return v;
        return std::string();
    };
    const std::string csp = header(page, "Content-Security-Policy");
    CHECK(csp.find("default-src 'none'") != std::string::npos);
    CHECK(csp.find("script-src 'self'") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(header(page, "X-Content-Type-Options") == "nosniff");
    CHECK(header(page, "X-Frame-Options") == "DENY");

    auto script = f.call("GET", "/dashboard.js", "");
    REQUIRE(script.status == 200);
    CHECK(script.content_type == "text/javascript; charset=utf-8");
    // The page writes ledger text only as text: no HTML sink in the script.
    CHECK(script.body.find("innerHTML") == std::string::npos);
    CHECK(script.body.find("insertAdjacentHTML") == std::string::npos);
    CHECK(script.body.find("document.write") == std::string::npos);
    CHECK(f.call("GET", "/dashboard.css", "").content_type == "text/css; charset=utf-8");
    CHECK(f.call("POST", "/", "").status == 405);
    // Nothing else is served openly: an unknown path still asks for the token first.
    CHECK(f.call("GET", "/dashboard.map", "").status == 401);
    CHECK(f.call("GET", "/index.html", "").status == 401);
}

TEST_CASE("query strings decode percent escapes and plus", "[admin][api]") {
    auto q = admin::parse_query("a=1&b=x%20y+z&&c=%3A");
    REQUIRE(q);
    REQUIRE(q->size() == 3);
    CHECK((*q)[1].second == "x y z");
    CHECK((*q)[2].second == ":");
    CHECK_FALSE(admin::parse_query("a=%4"));
    CHECK_FALSE(admin::parse_query("a=%00"));
}
