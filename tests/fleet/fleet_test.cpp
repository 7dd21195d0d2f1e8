// Fleet budgets against a real PostgreSQL: migrations, budgets, and leases that never
// oversubscribe a cap however many proxies ask at once.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "postgres_server.hpp"
#include "purser/fleet/budgets.hpp"
#include "purser/fleet/leases.hpp"

using namespace purser::fleet;

namespace {

std::unique_ptr<connection> connect(const purser::test::postgres_server& pg) {
    auto c = connection::open({pg.conninfo(), pg.password()});
    if (!c) FAIL(c.error().message());
    return std::move(*c);
}

// 2026-12-02T12:00:00Z and the next day.
constexpr std::uint64_t noon = 1'796'212'800;
constexpr std::uint64_t next_day = noon + 86'400;

}  // namespace

TEST_CASE("fleet migrations apply once, also when several proxies migrate at the same time", "[fleet]") {
    purser::test::postgres_server pg;
    auto c = connect(pg);
    CHECK(*current_schema(*c) == 0);
    std::vector<std::thread> starters;
    std::atomic<int> ok{0};
    for (int i = 0; i < 4; ++i) {
        starters.emplace_back([&] {
            auto mine = connection::open({pg.conninfo(), pg.password()});
            if (mine && migrate(**mine)) ++ok;
        });
    }
    for (auto& t : starters) t.join();
    CHECK(ok == 4);
    CHECK(*current_schema(*c) == schema_version);
    CHECK(*migrate(*c) == schema_version);
    auto versions = c->exec("SELECT count(*) AS n FROM purser_schema");
    REQUIRE(versions);
    CHECK(versions->text(0, "n") == std::to_string(schema_version));
}

TEST_CASE("a wrong fleet password is refused and never appears in the error", "[fleet]") {
    purser::test::postgres_server pg;
    auto c = connection::open({pg.conninfo(), "not-the-password-xyzzy"});
    REQUIRE_FALSE(c);
    CHECK(c.error().message().find("xyzzy") == std::string::npos);
    CHECK(c.error().message().find("password authentication failed") != std::string::npos);
}

TEST_CASE("budgets are added, changed, listed, and refuse bad names and caps", "[fleet]") {
    purser::test::postgres_server pg;
    auto c = connect(pg);
    REQUIRE(migrate(*c));
    REQUIRE(add_budget(*c, "research", period::day, 200'000'000));
    REQUIRE(add_budget(*c, "org", period::month, 5'000'000'000));
    auto again = add_budget(*c, "research", period::day, 1);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == std::make_error_code(std::errc::file_exists));
    for (const char* bad : {"", "Research", "-x", "a b", "x'; DROP TABLE budgets; --"}) {
        INFO(bad);
        CHECK_FALSE(add_budget(*c, bad, period::day, 1));
    }
    CHECK_FALSE(add_budget(*c, "huge", period::day, std::uint64_t{1} << 63));
    REQUIRE(set_budget_cap(*c, "research", 150'000'000));
    CHECK(set_budget_cap(*c, "nobody", 1).error().code == std::make_error_code(std::errc::no_such_file_or_directory));

    auto all = list_budgets(*c, noon);
    REQUIRE(all);
    REQUIRE(all->size() == 2);
    CHECK((*all)[0].name == "org");
    CHECK((*all)[0].window == "2026-12");
    CHECK((*all)[1].name == "research");
    CHECK((*all)[1].cap_micros == 150'000'000);
    CHECK((*all)[1].window == "2026-12-02");
    CHECK((*all)[1].committed_micros == 0);
    CHECK_FALSE(*get_budget(*c, "nobody", noon));
}

TEST_CASE("leases granted to many proxies at once never pass the budget's cap", "[fleet]") {
    purser::test::postgres_server pg;
    {
        auto c = connect(pg);
        REQUIRE(migrate(*c));
        REQUIRE(add_budget(*c, "team", period::day, 1'000'000));  // $1.00
    }
    // 8 proxies asking for $0.03 at a time (taking any remainder of at least 1 micro-USD).
    std::atomic<std::uint64_t> granted{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> proxies;
    for (int p = 0; p < 8; ++p) {
        proxies.emplace_back([&, p] {
            auto c = connection::open({pg.conninfo(), pg.password()});
            if (!c) {
                ++failures;
                return;
            }
            for (;;) {
                auto l = acquire_lease(**c, "team", "proxy-" + std::to_string(p), 30'000, 1, noon);
                if (!l) {
                    ++failures;
                    return;
                }
                if (!*l) return;
                granted += (*l)->granted_micros;
            }
        });
    }
    for (auto& t : proxies) t.join();
    CHECK(failures == 0);
    CHECK(granted == 1'000'000);
    auto c = connect(pg);
    auto b = get_budget(*c, "team", noon);
    REQUIRE(*b);
    CHECK((*b)->committed_micros == 1'000'000);
    CHECK((*b)->leased_micros == 1'000'000);
    // A new day is a new window with the whole cap.
    auto tomorrow = acquire_lease(*c, "team", "proxy-0", 30'000, 30'000, next_day);
    REQUIRE(tomorrow);
    REQUIRE(*tomorrow);
    CHECK((*tomorrow)->window == "2026-12-03");
}

TEST_CASE("a returned lease gives back what it did not spend, once, and a lost one stays counted", "[fleet]") {
    purser::test::postgres_server pg;
    auto c = connect(pg);
    REQUIRE(migrate(*c));
    REQUIRE(add_budget(*c, "team", period::lifetime, 100'000));
    auto a = *acquire_lease(*c, "team", "a", 60'000, 60'000, noon);
    auto b = *acquire_lease(*c, "team", "b", 60'000, 60'000, noon);
    REQUIRE(a);
    REQUIRE_FALSE(b);  // only 40,000 left and b wanted at least 60,000
    auto vanished = *acquire_lease(*c, "team", "gone", 40'000, 1, noon);
    REQUIRE(vanished);
    CHECK(vanished->granted_micros == 40'000);

    // a spent 25,000 of its 60,000: 35,000 comes back.
    CHECK_FALSE(return_lease(*c, a->id, "a", 60'001));  // more than granted
    CHECK_FALSE(return_lease(*c, a->id, "b", 0));       // not b's lease
    REQUIRE(return_lease(*c, a->id, "a", 25'000));
    REQUIRE(return_lease(*c, a->id, "a", 0));  // a second return changes nothing
    auto now = **get_budget(*c, "team", noon);
    CHECK(now.committed_micros == 25'000 + 40'000);
    CHECK(now.spent_micros == 25'000);
    CHECK(now.leased_micros == 40'000);  // the vanished proxy's lease, whole
    auto next = *acquire_lease(*c, "team", "b", 60'000, 1, noon);
    REQUIRE(next);
    CHECK(next->granted_micros == 35'000);
}
