// An operator's reconcile of a vanished proxy against a real PostgreSQL: its active leases are
// returned having spent what its shipped rows count, spread oldest lease first; nothing else
// moves, a dry run changes nothing, and a second run finds nothing to do.
#include "purser/fleet/reconcile.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <thread>

#include "ledger_entries.hpp"
#include "postgres_server.hpp"
#include "purser/fleet/budgets.hpp"
#include "purser/fleet/ledger.hpp"

using namespace purser::fleet;
using purser::test::entry;

TEST_CASE("reconciling a vanished proxy returns its leases minus what its shipped rows count", "[fleet]") {
    purser::test::postgres_server pg;
    auto opened = connection::open({pg.conninfo(), pg.password()});
    REQUIRE(opened);
    auto& c = **opened;
    REQUIRE(migrate(c));
    // Real time: a lease is stamped with the database's now(), and rows count from the first
    // lease's grant on, within the lease's window (so not in the last seconds of a UTC day).
    while (std::time(nullptr) % 86'400 > 86'400 - 10) std::this_thread::sleep_for(std::chrono::seconds(1));
    const std::uint64_t now_s = static_cast<std::uint64_t>(std::time(nullptr));
    const std::uint64_t now_ms = now_s * 1000;
    REQUIRE(add_budget(c, "team", period::day, 100'000));
    auto first = *acquire_lease(c, "team", "gone", 30'000, 30'000, now_s);
    auto second = *acquire_lease(c, "team", "gone", 20'000, 20'000, now_s);
    auto alive = *acquire_lease(c, "team", "alive", 10'000, 10'000, now_s);
    REQUIRE(first);
    REQUIRE(second);
    REQUIRE(alive);

    // The vanished proxy's rows: $0.001 paid, $0.001 in doubt and $0.033 reserved count (signed
    // is spent); a released row and a decline do not; a row from before its first lease and
    // another proxy's row are not its leases' business.
    auto big = entry(3, 1, "reserved", "bot", now_ms + 2'000);
    big.amount_micros = big.counted_micros = 33'000;
    REQUIRE(ship_rows(c, "gone", {entry(1, 1, "paid", "bot", now_ms + 2'000), entry(2, 1, "in_doubt", "bot", now_ms + 2'000),
                                  big, entry(4, 1, "released", "bot", now_ms + 2'000),
                                  entry(5, 1, "declined", "bot", now_ms + 2'000),
                                  entry(6, 1, "paid", "bot", now_ms - 3'600'000)}));
    REQUIRE(ship_rows(c, "alive", {entry(1, 1, "paid", "bot", now_ms + 2'000)}));

    auto before = **get_budget(c, "team", now_s);
    REQUIRE(before.committed_micros == 60'000);

    SECTION("a dry run reports and changes nothing") {
        auto dry = reconcile_proxy_leases(c, "gone", true);
        REQUIRE(dry);
        REQUIRE(dry->size() == 2);
        CHECK((*dry)[0].held.id == first->id);
        CHECK((*dry)[0].spent_micros == 30'000);
        CHECK((*dry)[1].spent_micros == 5'000);
        auto after = **get_budget(c, "team", now_s);
        CHECK(after.committed_micros == 60'000);
        CHECK(after.active_leases == 3);
    }

    SECTION("35,000 counted: the first lease spent whole, 5,000 of the second, 15,000 back") {
        auto done = reconcile_proxy_leases(c, "gone", false);
        REQUIRE(done);
        REQUIRE(done->size() == 2);
        CHECK((*done)[0].held.granted_micros == 30'000);
        CHECK((*done)[0].spent_micros == 30'000);
        CHECK((*done)[1].held.id == second->id);
        CHECK((*done)[1].spent_micros == 5'000);
        auto after = **get_budget(c, "team", now_s);
        CHECK(after.committed_micros == 35'000 + 10'000);  // the living proxy's lease untouched
        CHECK(after.spent_micros == 35'000);
        CHECK(after.active_leases == 1);
        // Once: nothing left to do, and the proxy's own late return changes nothing.
        auto again = reconcile_proxy_leases(c, "gone", false);
        REQUIRE(again);
        CHECK(again->empty());
        REQUIRE(return_lease(c, second->id, "gone", 0));
        CHECK((**get_budget(c, "team", now_s)).committed_micros == 45'000);
        CHECK(active_lease_ids(c, "gone")->empty());
        CHECK(active_lease_ids(c, "alive")->contains(alive->id));
    }

    SECTION("another proxy's reconcile counts its own rows only") {
        auto none = reconcile_proxy_leases(c, "alive", false);
        REQUIRE(none);
        REQUIRE(none->size() == 1);
        CHECK((*none)[0].spent_micros == 1'000);  // its one paid row
        CHECK((**get_budget(c, "team", now_s)).committed_micros == 50'000 + 1'000);
    }
}
