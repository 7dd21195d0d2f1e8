// The fleet ledger against a real PostgreSQL: shipping is idempotent by (proxy id, row id), the
// newest version wins whatever order copies arrive in, and the queries answer across proxies.
#include "purser/fleet/ledger.hpp"

#include <catch2/catch.hpp>

#include "ledger_entries.hpp"
#include "postgres_server.hpp"
#include "purser/fleet/budgets.hpp"

using namespace purser::fleet;
using purser::test::entry;
using purser::test::noon_ms;

namespace {

std::unique_ptr<connection> migrated(const purser::test::postgres_server& pg) {
    auto c = connection::open({pg.conninfo(), pg.password()});
    if (!c) FAIL(c.error().message());
    REQUIRE(migrate(**c));
    return std::move(*c);
}


}  // namespace

TEST_CASE("fleet ledger shipping is idempotent and keeps each row's newest state", "[fleet]") {
    purser::test::postgres_server pg;
    auto c = migrated(pg);
    REQUIRE(ship_rows(*c, "pod-a", {entry(1, 1, "reserved"), entry(2, 2, "reserved")}));
    // At least once: the same rows again, and a newer state of row 1.
    REQUIRE(ship_rows(*c, "pod-a", {entry(1, 1, "reserved"), entry(2, 2, "reserved")}));
    REQUIRE(ship_rows(*c, "pod-a", {entry(1, 5, "paid")}));
    // A late copy of an older state changes nothing.
    REQUIRE(ship_rows(*c, "pod-a", {entry(1, 3, "in_doubt")}));
    // Another proxy's row 1 is another row.
    REQUIRE(ship_rows(*c, "pod-b", {entry(1, 1, "declined", "other")}));

    auto all = list_fleet_ledger(*c, {}).value();
    REQUIRE(all.size() == 3);
    auto count = c->exec("SELECT count(*) AS n, count(DISTINCT (proxy_id, row_id)) AS d FROM fleet_ledger").value();
    CHECK(count.u64(0, "n") == 3);
    CHECK(count.u64(0, "d") == 3);
    fleet_query one;
    one.proxy_id = "pod-a";
    one.agent = "bot";
    one.status = "paid";
    auto paid = list_fleet_ledger(*c, one).value();
    REQUIRE(paid.size() == 1);
    const ledger_entry& p = paid[0].entry;
    CHECK(p.row_id == 1);
    CHECK(p.version == 5);
    CHECK(p.at_ms == noon_ms + 1);  // times come back to the millisecond
    CHECK(p.updated_ms == noon_ms + 6);
    CHECK(p.amount_atomic == "1000");
    CHECK(p.tx_hash == "0x" + std::string(64, 'a'));
    CHECK(p.url == "https://api.example.com/v1/weather");

    fleet_query newest;
    newest.limit = 2;
    auto last_two = list_fleet_ledger(*c, newest).value();
    REQUIRE(last_two.size() == 2);
    CHECK(last_two[0].entry.at_ms <= last_two[1].entry.at_ms);  // still oldest first
    fleet_query window;
    window.since_ms = noon_ms + 2;
    window.until_ms = noon_ms + 3;
    auto in_window = list_fleet_ledger(*c, window).value();
    REQUIRE(in_window.size() == 1);
    CHECK(in_window[0].entry.row_id == 2);

    auto by_proxy = fleet_spend(*c, fleet_group::proxy, std::nullopt, std::nullopt).value();
    REQUIRE(by_proxy.size() == 2);
    CHECK(by_proxy[0].key == "pod-a");
    CHECK(by_proxy[0].approved == 2);
    CHECK(by_proxy[0].paid == 1);
    CHECK(by_proxy[0].spent_micros == 2000);  // one paid, one still reserved
    CHECK(by_proxy[0].paid_micros == 1000);
    CHECK(by_proxy[1].key == "pod-b");
    CHECK(by_proxy[1].declined == 1);
    auto by_day = fleet_spend(*c, fleet_group::day, noon_ms, std::nullopt).value();
    REQUIRE(by_day.size() == 1);
    CHECK(by_day[0].key == "2026-12-02");
    auto by_agent = fleet_spend(*c, fleet_group::agent, std::nullopt, noon_ms).value();
    CHECK(by_agent.empty());

    // Hostile text travels as parameters, never as SQL.
    auto odd = entry(9, 1, "declined", "x'); DROP TABLE fleet_ledger; --");
    REQUIRE(ship_rows(*c, "pod-c", {odd}));
    CHECK(list_fleet_ledger(*c, {}).value().size() == 4);
    CHECK_FALSE(ship_rows(*c, "", {entry(1, 1, "paid")}));
}
