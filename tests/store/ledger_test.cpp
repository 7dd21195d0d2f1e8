#include "purser/store/store.hpp"

#include <catch2/catch.hpp>

#include <iostream>
#include <map>
#include <random>

#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::test::manual_clock;
using purser::test::t0_ms;
using purser::test::usdc_request;

namespace {

std::vector<std::uint64_t> ids(const std::vector<ledger_row>& rows) {
    std::vector<std::uint64_t> out;
    for (const auto& r : rows) out.push_back(r.id);
    return out;
}

}  // namespace

TEST_CASE("indexed ledger queries agree with a full scan", "[store][ledger]") {
    const std::uint32_t seed = 20261123;
    std::cout << "ledger query test seed " << seed << "\n";
    std::mt19937 rng(seed);
    purser::test::temp_dir dir;
    manual_clock clock;
    open_options o;
    o.clock = clock.fn();
    o.decline_fold_ms = 0;  // random rows, each its own
    auto s = std::move(store::open(dir.path(), o).value());
    const std::vector<std::string> agents = {"alpha", "beta", "gamma"};
    const std::vector<std::string> hosts = {"a.example.com", "b.example.com", "api.weather.io"};
    policy p;
    p.daily = 3'000'000;
    for (const auto& a : agents) REQUIRE(s->add_agent(a, p));
    for (int i = 0; i < 600; ++i) {
        clock.advance_ms(rng() % 1'000'000);  // up to ~17 minutes: spans about four days
        auto q = usdc_request(agents[rng() % 3], 10'000 + rng() % 90'000);
        q.host = hosts[rng() % 3];
        if (rng() % 10 == 0) q.agent = "stranger";
        auto d = s->reserve(q).value();
        if (!d.approved) continue;
        switch (rng() % 5) {
            case 0: REQUIRE(s->commit(d.reservation_id, {"0x01", {}, 200, 5})); break;
            case 1: REQUIRE(s->fail(d.reservation_id, "no", 402)); break;
            case 2: REQUIRE(s->mark_in_doubt(d.reservation_id, "timeout")); break;
            case 3: REQUIRE(s->release(d.reservation_id, "not sent")); break;
            default: break;
        }
    }
    REQUIRE(s->check_counters().value() == "");
    const std::uint64_t end = clock.now->load();
    for (int i = 0; i < 200; ++i) {
        ledger_query q;
        if (rng() % 2) q.since_ms = t0_ms + rng() % (end - t0_ms);
        if (rng() % 2) q.until_ms = t0_ms + rng() % (end - t0_ms);
        if (rng() % 2) q.agent = rng() % 4 == 3 ? std::string("stranger") : agents[rng() % 3];
        if (rng() % 3 == 0) q.host = hosts[rng() % 3];
        if (rng() % 3 == 0) q.state = static_cast<status>(1 + rng() % 7);
        if (rng() % 4 == 0) q.limit = rng() % 20;
        auto fast = s->list_ledger(q);
        auto slow = s->list_ledger_full_scan(q);
        REQUIRE(fast);
        REQUIRE(slow);
        REQUIRE(ids(*fast) == ids(*slow));
    }
    // Aggregates: by day they add up to by agent, and spent equals the counters.
    auto by_agent = s->spend(spend_group::agent, std::nullopt, std::nullopt).value();
    auto by_day = s->spend(spend_group::day, std::nullopt, std::nullopt).value();
    auto by_host = s->spend(spend_group::host, std::nullopt, std::nullopt).value();
    CHECK(by_day.size() >= 3);
    auto total = [](const std::vector<spend_row>& rows) {
        spend_row t;
        for (const auto& r : rows) {
            t.approved += r.approved;
            t.declined += r.declined;
            t.spent_usd += r.spent_usd;
            t.paid_usd += r.paid_usd;
        }
        return t;
    };
    CHECK(total(by_agent).spent_usd == total(by_day).spent_usd);
    CHECK(total(by_agent).spent_usd == total(by_host).spent_usd);
    CHECK(total(by_agent).declined == total(by_day).declined);
    for (const auto& r : by_agent) {
        if (r.key == "stranger") {
            CHECK(r.approved == 0);
            continue;
        }
        CHECK(r.spent_usd == s->usage(r.key)->spent_lifetime);
    }
    CHECK(total(by_agent).approved + total(by_agent).declined == s->list_ledger({})->size());

    // Per agent and day (the dashboard's chart): each agent's days add up to its own line, and
    // each day's agents to that day's line.
    auto by_agent_day = s->spend(spend_group::agent_day, std::nullopt, std::nullopt).value();
    std::map<std::string, spend_row> agent_sums, day_sums;
    for (const auto& r : by_agent_day) {
        REQUIRE(r.day.size() == 10);
        for (auto* sum : {&agent_sums[r.key], &day_sums[r.day]}) {
            sum->approved += r.approved;
            sum->declined += r.declined;
            sum->spent_usd += r.spent_usd;
            sum->paid_usd += r.paid_usd;
        }
    }
    REQUIRE(agent_sums.size() == by_agent.size());
    for (const auto& r : by_agent) {
        CHECK(agent_sums[r.key].spent_usd == r.spent_usd);
        CHECK(agent_sums[r.key].paid_usd == r.paid_usd);
        CHECK(agent_sums[r.key].declined == r.declined);
    }
    REQUIRE(day_sums.size() == by_day.size());
    for (const auto& r : by_day) {
        CHECK(r.day.empty());
        CHECK(day_sums[r.key].spent_usd == r.spent_usd);
        CHECK(day_sums[r.key].approved == r.approved);
    }
}

TEST_CASE("ledger with a limit reads only the newest rows of 20000", "[store][ledger]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    open_options o;
    o.clock = clock.fn();
    o.decline_fold_ms = 0;  // 20,000 rows, each its own
    auto s = store::open(dir.path() / "store", o).value();
    REQUIRE(s->add_agent("a", {}));
    REQUIRE(s->add_agent("b", {}));
    for (int i = 0; i < 20'000; ++i) {
        clock.advance_ms(7);
        if (i % 100 == 0) {
            REQUIRE(s->reserve(usdc_request(i % 200 == 0 ? "a" : "b", 1)));
        } else {
            REQUIRE(s->record_decline(usdc_request("b", 1), reason::no_supported_offer));
        }
    }
    auto visited = [&](const ledger_query& q, std::size_t expect_rows) {
        const auto before = s->stats().value().rows_visited;
        auto rows = s->list_ledger(q).value();
        const auto cost = s->stats().value().rows_visited - before;
        CHECK(rows.size() == expect_rows);
        CHECK(ids(rows) == ids(s->list_ledger_full_scan(q).value()));
        return cost;
    };
    ledger_query newest;
    newest.limit = 20;
    CHECK(visited(newest, 20) == 20);
    ledger_query of_b = newest;
    of_b.agent = "b";
    CHECK(visited(of_b, 20) == 20);
    ledger_query on_host = newest;
    on_host.host = "api.example.com";
    CHECK(visited(on_host, 20) == 20);
    ledger_query declined = newest;
    declined.state = status::declined;
    CHECK(visited(declined, 20) == 20);
    ledger_query until = newest;
    until.until_ms = t0_ms + 7 * 10'000;
    CHECK(visited(until, 20) == 20);
    // Agent "a" has one row in 200: reading back to its 20th newest passes over no other agent's
    // rows, because the agent index holds only its own.
    ledger_query of_a = newest;
    of_a.agent = "a";
    CHECK(visited(of_a, 20) == 20);
    // A filter the index does not cover costs the rows it skips, still far from all of them.
    ledger_query reserved_of_a = of_a;
    reserved_of_a.state = status::reserved;
    CHECK(visited(reserved_of_a, 20) == 20);

    const auto before = s->stats().value().rows_visited;
    auto by_agent = s->spend(spend_group::agent, std::nullopt, std::nullopt).value();
    CHECK(s->stats().value().rows_visited - before == 20'000);  // one pass, each row once
    REQUIRE(by_agent.size() == 2);
    CHECK(by_agent[0].approved == 100);
    CHECK(by_agent[1].approved == 100);
    CHECK(by_agent[1].declined == 19'800);
}
