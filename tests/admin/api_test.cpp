// Every admin route against a real store: the token guards all but the probes, a refused call
// changes nothing, and the JSON says what the store says.
#include "purser/admin/api.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "prom_text.hpp"
#include "purser/store/store.hpp"
#include "test_support.hpp"

using namespace purser;
using nlohmann::json;

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
    store::reserve_request q;
    q.agent = "a";
    q.method = "GET";
    q.url = "http://api.example/x";
    q.host = "api.example";
    q.scheme = "exact";
    q.network = "eip155:8453";
    q.asset = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
    q.asset_symbol = "USDC";
    q.usd_pegged = true;
    q.amount_atomic = purser::protocol::uint256(1000);
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
    auto reserved = body_of(f.call("GET", "/ledger?status=reserved&host=API.EXAMPLE"));
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
                                       {{"asset", q.asset}, {"network", "eip155:8453"}}) == "1000");
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
