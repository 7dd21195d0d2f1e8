// The proxy's fleet shipper against a real PostgreSQL and a real store: it drains the outbox,
// acknowledges only what the database committed, waits out an outage, and drains at stop.
#include "purser/proxy/fleet_shipper.hpp"

#include <catch2/catch.hpp>

#include <thread>

#include "postgres_server.hpp"
#include "purser/fleet/budgets.hpp"

using namespace purser;

namespace {

store::reserve_request request(const std::string& agent, std::uint64_t micro_usd) {
    store::reserve_request q;
    q.agent = agent;
    q.method = "GET";
    q.url = "https://api.example.com/v1/weather?key=SECRET";
    q.host = "api.example.com";
    q.scheme = "exact";
    q.network = "eip155:84532";
    q.asset = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
    q.asset_symbol = "USDC";
    q.usd_pegged = true;
    q.amount_atomic = protocol::uint256(micro_usd);
    q.pay_to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    q.nonce = "0x" + std::string(64, '1');
    return q;
}

std::uint64_t fleet_count(fleet::connection& c, const std::string& where = "true") {
    return c.exec("SELECT count(*) AS n FROM fleet_ledger WHERE " + where).value().u64(0, "n");
}

bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 300; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

}  // namespace

TEST_CASE("ship_batch upserts a batch and acknowledges it only after the database took it", "[fleet]") {
    test::postgres_server pg;
    test::temp_dir dir;
    store::open_options o;
    o.outbox = store::outbox_mode::on;
    auto s = std::move(store::store::open(dir.path() / "store", o).value());
    REQUIRE(s->add_agent("bot", {}));
    for (int i = 0; i < 5; ++i) REQUIRE(s->reserve(request("bot", 1000)).value().approved);
    auto c = std::move(fleet::connection::open({pg.conninfo(), pg.password()}).value());

    // Not migrated: the upsert fails, nothing is acknowledged.
    CHECK_FALSE(proxy::ship_batch(*s, *c, "pod-1", 3));
    CHECK(s->outbox_pending().value() == 5);

    REQUIRE(fleet::migrate(*c));
    CHECK(proxy::ship_batch(*s, *c, "pod-1", 3).value() == 3);
    CHECK(proxy::ship_batch(*s, *c, "pod-1", 3).value() == 2);
    CHECK(proxy::ship_batch(*s, *c, "pod-1", 3).value() == 0);
    CHECK(fleet_count(*c) == 5);
    auto url = c->exec("SELECT DISTINCT url FROM fleet_ledger").value();
    REQUIRE(url.size() == 1);
    CHECK(url.text(0, "url") == "https://api.example.com/v1/weather");  // no query string
}

TEST_CASE("the fleet shipper drains in the background, waits out an outage, and drains at stop", "[fleet]") {
    test::postgres_server pg;
    {
        auto c = std::move(fleet::connection::open({pg.conninfo(), pg.password()}).value());
        REQUIRE(fleet::migrate(*c));
    }
    test::temp_dir dir;
    store::open_options o;
    o.outbox = store::outbox_mode::on;
    std::shared_ptr<store::store> s = std::move(store::store::open(dir.path() / "store", o).value());
    REQUIRE(s->add_agent("bot", {}));

    proxy::shipper_options so;
    so.database = {pg.conninfo(), pg.password(), 2};
    so.proxy_id = "pod-1";
    so.batch_rows = 4;
    so.poll = std::chrono::milliseconds(20);
    so.min_backoff = std::chrono::milliseconds(20);
    so.max_backoff = std::chrono::milliseconds(200);
    proxy::fleet_shipper shipper(s, so);
    shipper.start();

    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 10; ++i) ids.push_back(s->reserve(request("bot", 1000)).value().reservation_id);
    auto c = std::move(fleet::connection::open({pg.conninfo(), pg.password()}).value());
    CHECK(eventually([&] { return fleet_count(*c) == 10; }));
    CHECK(eventually([&] { return s->outbox_pending().value() == 0; }));

    // The database goes away: payments still settle locally, their changes wait.
    c.reset();
    pg.stop();
    for (auto id : ids) REQUIRE(s->commit(id, {"0xfeed", {}, 200, 1}));
    CHECK(eventually([&] { return shipper.stats().failures > 0; }));
    CHECK(s->outbox_pending().value() == 10);

    pg.start();
    c = std::move(fleet::connection::open({pg.conninfo(), pg.password()}).value());
    CHECK(eventually([&] { return fleet_count(*c, "status = 'paid'") == 10; }));

    // Rows written just before stop ship in the last drain.
    for (int i = 0; i < 3; ++i) REQUIRE(s->record_decline(request("bot", 1), store::reason::wallet_locked));
    shipper.stop();
    CHECK(s->outbox_pending().value() == 0);
    CHECK(fleet_count(*c, "status = 'declined'") == 1);  // three declines folded into one row
    auto repeats = c->exec("SELECT repeats FROM fleet_ledger WHERE status = 'declined'").value();
    CHECK(repeats.u64(0, "repeats") == 3);
    CHECK(fleet_count(*c) == 11);
    CHECK(shipper.stats().rows_shipped >= 21);
}
