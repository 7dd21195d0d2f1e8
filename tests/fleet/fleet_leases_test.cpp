// The proxy's lease keeper (proxy::fleet_leases) against a real PostgreSQL and a real store on a
// clock the test moves: acquire, refill and grow, fair shares near the end of a budget, window
// rollover, return on stop, and an outage.
#include "purser/proxy/fleet_leases.hpp"

#include <catch2/catch.hpp>

#include "postgres_server.hpp"
#include "purser/fleet/budgets.hpp"
#include "purser/fleet/leases.hpp"
#include "purser/fleet/pg.hpp"
#include "purser/fleet/reconcile.hpp"
#include "store_support.hpp"

using purser::proxy::fleet_lease_options;
using purser::proxy::fleet_leases;
using purser::test::manual_clock;

namespace {

// 2026-12-02T12:00:00Z.
constexpr std::uint64_t noon_ms = 1'796'212'800'000;

std::unique_ptr<purser::fleet::connection> connect(const purser::test::postgres_server& pg) {
    auto c = purser::fleet::connection::open({pg.conninfo(), pg.password()});
    if (!c) FAIL(c.error().message());
    return std::move(*c);
}

/// A migrated fleet database with the budget "org".
std::unique_ptr<purser::fleet::connection> with_org_budget(const purser::test::postgres_server& pg,
                                                           purser::fleet::period per, std::uint64_t cap_micros) {
    auto c = connect(pg);
    REQUIRE(purser::fleet::migrate(*c));
    REQUIRE(purser::fleet::add_budget(*c, "org", per, cap_micros));
    return c;
}

fleet_lease_options options_for(const purser::test::postgres_server& pg, const std::string& proxy_id,
                                 std::uint64_t min_micros, std::uint64_t max_micros) {
    fleet_lease_options o;
    o.settings.database = pg.conninfo();
    o.settings.proxy_id = proxy_id;
    o.settings.budgets = {{"*", {"org"}}};
    o.settings.lease_min_micros = min_micros;
    o.settings.lease_max_micros = max_micros;
    o.password = pg.password();
    return o;
}

std::shared_ptr<purser::store::store> store_at(const std::filesystem::path& dir, const manual_clock& clock) {
    auto s = std::shared_ptr<purser::store::store>(purser::test::open_store(dir, clock));
    REQUIRE(s->add_agent("a", purser::store::policy{}));
    return s;
}

purser::store::usd_micros remaining(purser::store::store& s) {
    const auto accounts = s.budget_accounts().value();
    for (const auto& a : accounts)
        if (a.budget == "org" && !a.closing) return a.remaining(s.now_ms());
    return 0;
}

bool pay(purser::store::store& s, std::uint64_t micro_usd) {
    auto q = purser::test::usdc_request("a", micro_usd);
    q.budgets = {"org"};
    auto d = s.reserve(q);
    if (!d) FAIL("reserve: " << d.error().message());
    return d->approved;
}

purser::fleet::budget org(purser::fleet::connection& c, std::uint64_t now_ms) {
    return purser::fleet::get_budget(c, "org", now_ms / 1000).value().value();
}

}  // namespace

TEST_CASE("leases are acquired, refilled larger when spent fast, and returned on stop", "[fleet][proxy]") {
    purser::test::postgres_server pg;
    auto c = with_org_budget(pg, purser::fleet::period::day, 1'000'000);
    purser::test::temp_dir dir;
    manual_clock clock;
    clock.set(noon_ms);
    auto s = store_at(dir.path(), clock);
    auto stats = std::make_shared<purser::proxy::metrics>();
    fleet_leases keeper(s, options_for(pg, "p1", 100'000, 400'000), stats);

    keeper.tick();
    CHECK(keeper.database_up());
    CHECK(remaining(*s) == 100'000);
    CHECK(org(*c, noon_ms).committed_micros == 100'000);
    const std::string shown = stats->render({});
    CHECK(shown.find("purser_fleet_lease_remaining_micros{budget=\"org\"} 100000") != std::string::npos);

    // Below half a lease: refilled; again within seconds, so the lease doubles.
    REQUIRE(pay(*s, 60'000));
    clock.advance_ms(1'000);
    keeper.tick();
    CHECK(remaining(*s) == 40'000 + 200'000);
    CHECK(org(*c, noon_ms).committed_micros == 300'000);
    CHECK(org(*c, noon_ms).active_leases == 2);
    // Above the low-water mark nothing is asked for.
    clock.advance_ms(1'000);
    keeper.tick();
    CHECK(org(*c, noon_ms).active_leases == 2);

    keeper.stop();
    const auto after = org(*c, noon_ms);
    CHECK(after.active_leases == 0);
    CHECK(after.spent_micros == 60'000);
    CHECK(after.committed_micros == 60'000);
    CHECK(s->budget_accounts().value().empty());
    CHECK_FALSE(pay(*s, 1));  // nothing held any more
}

TEST_CASE("near the end of a budget leases shrink and never oversubscribe it", "[fleet][proxy]") {
    purser::test::postgres_server pg;
    auto c = with_org_budget(pg, purser::fleet::period::day, 250'000);
    purser::test::temp_dir d1, d2, d3;
    manual_clock clock;
    clock.set(noon_ms);
    auto s1 = store_at(d1.path(), clock);
    auto s2 = store_at(d2.path(), clock);
    auto s3 = store_at(d3.path(), clock);
    fleet_leases k1(s1, options_for(pg, "p1", 100'000, 1'000'000));
    fleet_leases k2(s2, options_for(pg, "p2", 100'000, 1'000'000));
    fleet_leases k3(s3, options_for(pg, "p3", 100'000, 1'000'000));
    k1.tick();
    k2.tick();
    k3.tick();
    CHECK(remaining(*s1) == 100'000);
    CHECK(remaining(*s2) == 100'000);
    CHECK(remaining(*s3) == 50'000);  // the last of it, below lease_min
    CHECK(org(*c, noon_ms).committed_micros == 250'000);
    // Spent out: no more to lease, so payments decline while others hold the rest.
    REQUIRE(pay(*s3, 50'000));
    clock.advance_ms(2'000);
    k3.tick();
    CHECK(remaining(*s3) == 0);
    CHECK_FALSE(pay(*s3, 1));
    // p1 returns its unspent lease: p3 may take it.
    k1.stop();
    clock.advance_ms(2'000);
    k3.tick();
    CHECK(remaining(*s3) == 100'000);
    CHECK(org(*c, noon_ms).committed_micros == 250'000);
}

TEST_CASE("at the end of a budget's window the rest goes back and the new window leases", "[fleet][proxy]") {
    purser::test::postgres_server pg;
    auto c = with_org_budget(pg, purser::fleet::period::day, 1'000'000);
    purser::test::temp_dir dir;
    manual_clock clock;
    const std::uint64_t late = noon_ms + 11 * 3'600'000 + 59 * 60'000;  // 23:59
    clock.set(late);
    auto s = store_at(dir.path(), clock);
    fleet_leases keeper(s, options_for(pg, "p1", 100'000, 100'000));
    keeper.tick();
    REQUIRE(pay(*s, 30'000));
    clock.set(late + 60'000);  // 00:00 the next day: the lease stops
    CHECK_FALSE(pay(*s, 1));
    keeper.tick();
    const auto yesterday = org(*c, late);
    CHECK(yesterday.active_leases == 0);
    CHECK(yesterday.spent_micros == 30'000);
    const auto today = org(*c, late + 60'000);
    CHECK(today.window != yesterday.window);
    CHECK(today.committed_micros == 100'000);
    CHECK(remaining(*s) == 100'000);
    CHECK(pay(*s, 1));
}

TEST_CASE("with the database down a proxy spends its lease, then declines, then recovers", "[fleet][proxy]") {
    purser::test::postgres_server pg;
    {
        auto c = connect(pg);
        REQUIRE(purser::fleet::migrate(*c));
        REQUIRE(purser::fleet::add_budget(*c, "org", purser::fleet::period::lifetime, 10'000'000));
    }
    purser::test::temp_dir dir;
    manual_clock clock;
    clock.set(noon_ms);
    auto s = store_at(dir.path(), clock);
    auto o = options_for(pg, "p1", 100'000, 100'000);
    o.retry_ms = 10;
    fleet_leases keeper(s, o);
    keeper.tick();
    REQUIRE(remaining(*s) == 100'000);

    pg.stop();
    clock.advance_ms(1'000);
    keeper.tick();
    CHECK_FALSE(keeper.database_up());
    int paid = 0;
    while (paid < 100 && pay(*s, 10'000)) ++paid;
    CHECK(paid == 10);  // the lease, and not a cent more
    clock.advance_ms(1'000);
    keeper.tick();
    CHECK_FALSE(pay(*s, 1));

    pg.start();
    clock.advance_ms(1'000);
    keeper.tick();
    CHECK(keeper.database_up());
    CHECK(pay(*s, 10'000));
    keeper.stop();
    auto c = connect(pg);
    const auto b = org(*c, noon_ms);
    CHECK(b.active_leases == 0);
    CHECK(b.spent_micros == 110'000);
}

TEST_CASE("a lease an operator reconciled is no longer drawn on, and a new one is leased", "[fleet][proxy]") {
    purser::test::postgres_server pg;
    auto c = with_org_budget(pg, purser::fleet::period::lifetime, 1'000'000);
    purser::test::temp_dir dir;
    manual_clock clock;
    clock.set(noon_ms);
    auto s = store_at(dir.path(), clock);
    fleet_leases keeper(s, options_for(pg, "p1", 100'000, 100'000));
    keeper.tick();
    REQUIRE(remaining(*s) == 100'000);
    const auto first = s->budget_accounts().value().at(0).leases.at(0).lease_id;
    REQUIRE(pay(*s, 10'000));

    // The operator took p1 for gone (its 10,000 never shipped: the reconcile counts none of it).
    auto done = purser::fleet::reconcile_proxy_leases(*c, "p1", false);
    REQUIRE(done);
    REQUIRE(done->size() == 1);
    CHECK(org(*c, noon_ms).committed_micros == 0);

    // Within a second of reaching the database, p1 stops drawing on that lease and leases anew.
    clock.advance_ms(1'000);
    keeper.tick();
    const auto accounts = s->budget_accounts().value();
    REQUIRE(accounts.size() == 1);
    REQUIRE(accounts[0].leases.size() == 1);
    CHECK(accounts[0].leases[0].lease_id != first);
    CHECK(remaining(*s) == 100'000);
    const auto b = org(*c, noon_ms);
    CHECK(b.active_leases == 1);
    CHECK(b.committed_micros == 100'000);  // the operator's figure for the first lease stands
    keeper.stop();
    CHECK(org(*c, noon_ms).active_leases == 0);
}

TEST_CASE("a lease granted to a proxy that died before holding it goes back unspent when it restarts",
          "[fleet][proxy]") {
    purser::test::postgres_server pg;
    auto c = with_org_budget(pg, purser::fleet::period::lifetime, 1'000'000);
    purser::test::temp_dir dir;
    manual_clock clock;
    clock.set(noon_ms);
    auto s = store_at(dir.path(), clock);
    {
        fleet_leases keeper(s, options_for(pg, "p1", 100'000, 100'000));
        keeper.tick();
        REQUIRE(remaining(*s) == 100'000);
        REQUIRE(pay(*s, 10'000));
    }  // stopped: the lease went back with what it spent
    REQUIRE(org(*c, noon_ms).active_leases == 0);
    // The grant committed in the database, then the proxy was killed before its store held it.
    auto orphan = purser::fleet::acquire_lease(*c, "org", "p1", 200'000, 1, noon_ms / 1000);
    REQUIRE(orphan);
    REQUIRE(orphan->has_value());
    // Another proxy's lease is not this proxy's to return.
    auto other = purser::fleet::acquire_lease(*c, "org", "p2", 50'000, 1, noon_ms / 1000);
    REQUIRE(other);
    REQUIRE(other->has_value());
    REQUIRE(org(*c, noon_ms).committed_micros == 10'000 + 200'000 + 50'000);

    // Restarted with the same store and proxy id: the orphan goes back whole, a new lease comes.
    fleet_leases keeper(s, options_for(pg, "p1", 100'000, 100'000));
    keeper.tick();
    auto b = org(*c, noon_ms);
    CHECK(b.active_leases == 2);  // p1's new one and p2's
    CHECK(b.committed_micros == 10'000 + 100'000 + 50'000);
    CHECK(b.spent_micros == 10'000);
    auto mine = purser::fleet::active_lease_ids(*c, "p1");
    REQUIRE(mine);
    REQUIRE(mine->size() == 1);
    CHECK(!mine->contains((*orphan)->id));
    CHECK(remaining(*s) == 100'000);
    keeper.stop();
    b = org(*c, noon_ms);
    CHECK(b.active_leases == 1);  // p2's only
    CHECK(b.committed_micros == 10'000 + 50'000);
}
