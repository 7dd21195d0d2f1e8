// Fleet budget leases in the local store: reserve spends them inside its own transaction, the
// lifecycle gives back exactly what never moved money, and closing fixes what each lease spent.
#include "purser/store/budget_lease.hpp"

#include <catch2/catch.hpp>

#include <lmdb.h>

#include <thread>

#include "purser/store/store.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::test::manual_clock;
using purser::test::open_store;
using purser::test::t0_ms;
using purser::test::usdc_request;

namespace {

budget_lease_grant grant(const std::string& budget, std::uint64_t id, usd_micros amount,
                         std::uint64_t valid_until_ms = 0, const std::string& window = "2026-11-23") {
    return budget_lease_grant{budget, id, window, amount, valid_until_ms};
}

usd_micros remaining(store& s, const std::string& budget) {
    const auto accounts = s.budget_accounts().value();
    for (const auto& a : accounts)
        if (a.budget == budget) return a.remaining(s.now_ms());
    return 0;
}

reserve_request drawing(std::uint64_t micro_usd, std::vector<std::string> budgets,
                        std::uint64_t expires_at = 0) {
    auto q = usdc_request("a", micro_usd, expires_at);
    q.budgets = std::move(budgets);
    return q;
}

}  // namespace

TEST_CASE("reserve needs lease headroom in every budget the agent draws on", "[store][fleet]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_store(dir.path(), clock);
    REQUIRE(s->add_agent("a", policy{}));

    // No lease yet: declined, and nothing counted against the agent.
    auto none = s->reserve(drawing(100'000, {"org"})).value();
    CHECK(none.why == reason::budget_unavailable);
    CHECK(s->usage("a")->spent_today == 0);
    CHECK(s->get_row(none.ledger_id)->why == reason::budget_unavailable);

    REQUIRE(s->add_budget_lease(grant("org", 11, 250'000)));
    REQUIRE(s->add_budget_lease(grant("team", 12, 1'000'000)));
    auto d1 = s->reserve(drawing(200'000, {"org", "team"})).value();
    REQUIRE(d1.approved);
    CHECK(remaining(*s, "org") == 50'000);
    CHECK(remaining(*s, "team") == 800'000);
    // One budget short is enough to decline, and then neither is touched.
    auto d2 = s->reserve(drawing(60'000, {"org", "team"})).value();
    CHECK(d2.why == reason::budget_unavailable);
    CHECK(remaining(*s, "org") == 50'000);
    CHECK(remaining(*s, "team") == 800'000);
    // The agent's own caps come first: they name their own reason.
    policy tight;
    tight.per_request = 10'000;
    REQUIRE(s->set_policy("a", tight));
    CHECK(s->reserve(drawing(60'000, {"org"}))->why == reason::per_request_limit_exceeded);
    REQUIRE(s->set_policy("a", policy{}));
    // A refill of the same window adds to the account.
    REQUIRE(s->add_budget_lease(grant("org", 13, 100'000)));
    CHECK(remaining(*s, "org") == 150'000);
    CHECK(s->reserve(drawing(60'000, {"org", "team"}))->approved);
    CHECK(remaining(*s, "org") == 90'000);
    // A payment drawing on no budget never looks at them.
    CHECK(s->reserve(drawing(5'000'000, {}))->approved);
    // Bad requests change nothing.
    CHECK_FALSE(s->reserve(drawing(1, {"org", "org"})));
    CHECK_FALSE(s->reserve(drawing(1, {""})));
    CHECK(remaining(*s, "org") == 90'000);
    CHECK(s->check_counters().value().empty());
}

TEST_CASE("released and proven-expired payments give lease back, signed ones keep it", "[store][fleet]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_store(dir.path(), clock);
    REQUIRE(s->add_agent("a", policy{}));
    REQUIRE(s->add_budget_lease(grant("org", 1, 1'000'000)));
    const std::uint64_t expires = t0_ms / 1000 + 300;

    auto released = s->reserve(drawing(100'000, {"org"}, expires)).value();
    auto paid = s->reserve(drawing(200'000, {"org"}, expires)).value();
    auto doubt = s->reserve(drawing(300'000, {"org"}, expires)).value();
    auto failed = s->reserve(drawing(50'000, {"org"}, expires)).value();
    REQUIRE((released.approved && paid.approved && doubt.approved && failed.approved));
    CHECK(remaining(*s, "org") == 350'000);

    REQUIRE(s->release(released.reservation_id, "signing failed"));  // never sent: back
    CHECK(remaining(*s, "org") == 450'000);
    REQUIRE(s->commit(paid.reservation_id, settlement{}));              // paid: stays
    REQUIRE(s->mark_in_doubt(doubt.reservation_id, "timeout"));         // in doubt: stays
    REQUIRE(s->fail(failed.reservation_id, "refused", 402));            // failed: stays
    CHECK(remaining(*s, "org") == 450'000);

    // The chain proves the failed one can never settle: back.
    clock.set((expires + 61) * 1000);
    REQUIRE(s->expire_unsettled(failed.reservation_id, "authorizationState false", 60));
    CHECK(remaining(*s, "org") == 500'000);
    // Late evidence that it settled after all: spent again.
    REQUIRE(s->commit(failed.reservation_id, settlement{}, "found on chain"));
    CHECK(remaining(*s, "org") == 450'000);
    CHECK(s->check_counters().value().empty());
}

TEST_CASE("closing an account fixes each lease's spend and stops draws", "[store][fleet]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_store(dir.path(), clock);
    REQUIRE(s->add_agent("a", policy{}));
    REQUIRE(s->add_budget_lease(grant("org", 7, 300'000)));
    REQUIRE(s->add_budget_lease(grant("org", 9, 500'000)));
    auto in_flight = s->reserve(drawing(400'000, {"org"})).value();
    REQUIRE(in_flight.approved);

    auto closed = s->close_budget_account("org").value();
    CHECK(closed.closing);
    CHECK(closed.serial == 7);
    REQUIRE(closed.leases.size() == 2);
    CHECK(closed.leases[0].spent == 300'000);  // filled in order
    CHECK(closed.leases[1].spent == 100'000);
    CHECK(s->reserve(drawing(1, {"org"}))->why == reason::budget_unavailable);
    // What was in flight at the close stays reported spent, even when it is released later.
    REQUIRE(s->release(in_flight.reservation_id, "never sent"));
    auto again = s->close_budget_account("org").value();
    CHECK(again.leases[0].spent == 300'000);
    CHECK(again.leases[1].spent == 100'000);
    // A lease of a closing account is refused; once forgotten, a new account starts clean and
    // the old row's later steps do not reach it.
    CHECK(s->add_budget_lease(grant("org", 20, 100'000)).error().code == errc::invalid_transition);
    CHECK_FALSE(s->forget_budget_account("org", 8).value());
    CHECK(s->forget_budget_account("org", 7).value());
    CHECK(s->add_budget_lease(grant("org", 20, 100'000)));
    CHECK(remaining(*s, "org") == 100'000);
    CHECK(s->forget_budget_account("org", 20).error().code == errc::invalid_transition);
    // Another window's lease needs the old account returned first.
    CHECK(s->add_budget_lease(grant("org", 21, 100'000, 0, "2026-11-24")).error().code ==
          errc::invalid_transition);
    CHECK(s->add_budget_lease(grant("org", 20, 5)).error().code == errc::invalid_argument);  // twice
}

TEST_CASE("a lease stops at the end of its window", "[store][fleet]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_store(dir.path(), clock);
    REQUIRE(s->add_agent("a", policy{}));
    REQUIRE(s->add_budget_lease(grant("org", 1, 1'000'000, t0_ms + 1000)));
    CHECK(s->reserve(drawing(1, {"org"}))->approved);
    clock.set(t0_ms + 1000);
    CHECK(s->reserve(drawing(1, {"org"}))->why == reason::budget_unavailable);
    CHECK(s->reserve(drawing(0, {"org"}))->why == reason::budget_unavailable);
}

TEST_CASE("leases survive reopening the store", "[store][fleet]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    {
        auto s = open_store(dir.path(), clock);
        REQUIRE(s->add_agent("a", policy{}));
        REQUIRE(s->add_budget_lease(grant("org", 1, 1'000'000)));
        REQUIRE(s->reserve(drawing(250'000, {"org"}))->approved);
    }
    auto s = open_store(dir.path(), clock);
    auto accounts = s->budget_accounts().value();
    REQUIRE(accounts.size() == 1);
    CHECK(accounts[0].granted == 1'000'000);
    CHECK(accounts[0].consumed == 250'000);
    CHECK(accounts[0].window == "2026-11-23");
}

TEST_CASE("concurrent reservations never draw more than the lease", "[store][fleet]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_store(dir.path(), clock);
    REQUIRE(s->add_agent("a", policy{}));
    REQUIRE(s->add_budget_lease(grant("org", 1, 1'000'000)));
    std::atomic<int> approved{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            for (int k = 0; k < 20; ++k)
                if (s->reserve(drawing(10'000, {"org"}))->approved) ++approved;
        });
    }
    for (auto& t : threads) t.join();
    CHECK(approved.load() == 100);  // 160 asked, $1.00 / $0.01
    CHECK(remaining(*s, "org") == 0);
}

TEST_CASE("pruning a row drops what it drew from fleet leases", "[store][fleet]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    {
        auto s = open_store(dir.path(), clock);
        REQUIRE(s->add_agent("a", policy{}));
        REQUIRE(s->add_budget_lease(grant("org", 1, 1'000'000)));
        auto d = s->reserve(drawing(100'000, {"org"})).value();
        REQUIRE(d.approved);
        REQUIRE(s->commit(d.reservation_id, settlement{}));
        clock.advance_ms(3 * 86'400'000ULL);
        auto report = s->prune(clock.now->load() - 86'400'000ULL,
                               [](const std::vector<ledger_row>&) -> purser::result<void> { return {}; });
        REQUIRE(report);
        CHECK(report->rows == 1);
        CHECK(remaining(*s, "org") == 900'000);  // pruning moves no money
    }
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_maxdbs(env, 32) == 0);
    REQUIRE(mdb_env_open(env, (dir.path() / "store").c_str(), MDB_RDONLY, 0600) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0);
    MDB_dbi draws = 0;
    REQUIRE(mdb_dbi_open(txn, "lease_draws", 0, &draws) == 0);
    MDB_stat st{};
    REQUIRE(mdb_stat(txn, draws, &st) == 0);
    CHECK(st.ms_entries == 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}
