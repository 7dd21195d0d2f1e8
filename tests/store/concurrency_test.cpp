// Two processes x 64 threads race for one agent's budget: the budget admits exactly N, with group
// commit (concurrent decisions share a transaction) and with one transaction per decision.
#include "purser/store/store.hpp"

#include <catch2/catch.hpp>

#include <mutex>
#include <thread>
#include <vector>

#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::test::usdc_request;

namespace {

constexpr int processes = 2;
constexpr int threads_per_process = 64;
constexpr int attempts_per_thread = 2;  // 256 attempts in all
constexpr std::uint64_t price = 10'000;  // $0.01
constexpr int budget_payments = 50;

/// The child: open its own store (never one inherited across fork), race, exit 0 when every
/// call returned a decision. Any error exits non-zero.
[[noreturn]] void child(const std::filesystem::path& dir, bool group_commit) {
    open_options o;
    o.group_commit = group_commit;
    auto s = store::open(dir, o);
    if (!s) ::_exit(10);
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_per_process; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < attempts_per_thread; ++i) {
                if (!(*s)->reserve(usdc_request("racer", price))) ++errors;
            }
        });
    }
    for (auto& t : threads) t.join();
    s->reset();
    ::_exit(errors.load() == 0 ? 0 : 11);
}

void race(const policy& p, std::optional<usd_micros> allowance, reason expected) {
    const bool group_commit = GENERATE(true, false);
    INFO("group_commit " << group_commit);
    purser::test::temp_dir dir;
    const auto path = dir.path() / "store";
    {
        auto s = store::open(path);
        REQUIRE(s);
        REQUIRE((*s)->add_agent("racer", p, allowance));
    }  // closed before fork: children must not inherit an open environment
    std::vector<pid_t> pids;
    for (int i = 0; i < processes; ++i) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) child(path, group_commit);
        pids.push_back(pid);
    }
    for (pid_t pid : pids) CHECK(purser::test::wait_exit(pid) == 0);

    auto s = std::move(store::open(path).value());
    const auto rows = s->list_ledger({}).value();
    // Declines of one reason fold into rows with a count: every attempt is still accounted for.
    std::size_t decisions = 0;
    int approved = 0;
    int declined_expected = 0;
    for (const auto& r : rows) {
        decisions += r.repeats;
        if (r.state == status::declined) {
            if (r.why == expected) declined_expected += static_cast<int>(r.repeats);
        } else {
            CHECK(r.repeats == 1);
            ++approved;
        }
    }
    REQUIRE(decisions == processes * threads_per_process * attempts_per_thread);
    CHECK(approved == budget_payments);
    CHECK(declined_expected == static_cast<int>(decisions) - budget_payments);
    CHECK(s->check_counters().value() == "");
    const auto u = s->usage("racer").value();
    CHECK(u.spent_lifetime == budget_payments * price);
    CHECK(u.in_flight == budget_payments * price);  // nothing settled: all still in flight
    if (allowance) CHECK(u.allowance == 0u);
}

}  // namespace

TEST_CASE("concurrent reservations never pass the daily cap", "[store][concurrency]") {
    policy p;
    p.daily = budget_payments * price;
    race(p, std::nullopt, reason::daily_limit_exceeded);
}

TEST_CASE("concurrent reservations never pass the allowance", "[store][concurrency]") {
    race(policy{}, budget_payments * price, reason::insufficient_allowance);
}

TEST_CASE("concurrent reservations never pass the in-flight limit", "[store][concurrency]") {
    policy p;
    p.in_flight = budget_payments * price;
    race(p, std::nullopt, reason::in_flight_limit_exceeded);
}

TEST_CASE("concurrent reservers filling the map: batches grow it, then map_full, all or nothing",
          "[store][concurrency][group_commit]") {
    const bool group_commit = GENERATE(true, false);
    INFO("group_commit " << group_commit);
    purser::test::temp_dir dir;
    open_options o;
    o.map_size_bytes = 2 * 1024 * 1024;
    o.max_size_bytes = 8 * 1024 * 1024;
    o.group_commit = group_commit;
    auto s = store::open(dir.path() / "store", o).value();
    REQUIRE(s->add_agent("a", {}));
    auto q = usdc_request("a", 1);
    q.url = "https://api.example.com/" + std::string(2000, 'x');
    std::atomic<std::size_t> approved{0};
    std::mutex errors_mutex;
    std::vector<purser::error> errors;
    std::vector<std::thread> threads;
    for (int t = 0; t < 64; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10'000; ++i) {
                auto d = s->reserve(q);
                if (!d) {
                    const std::lock_guard<std::mutex> lock(errors_mutex);
                    errors.push_back(d.error());
                    return;
                }
                if (d->approved) ++approved;
            }
        });
    }
    for (auto& t : threads) t.join();
    REQUIRE(errors.size() == 64);  // every thread ran until the store was full
    for (const auto& e : errors) {
        INFO(e.message());
        CHECK(e.code == errc::map_full);
    }
    // A batch that met map_full below the maximum grew the map and ran again: full means full.
    CHECK(s->stats().value().map_bytes == 8 * 1024 * 1024);
    CHECK(s->list_ledger({}).value().size() == approved.load());
    CHECK(s->check_counters().value() == "");
}

TEST_CASE("refused steps amid concurrent ones change nothing, and the others all land",
          "[store][concurrency][group_commit]") {
    const bool group_commit = GENERATE(true, false);
    INFO("group_commit " << group_commit);
    purser::test::temp_dir dir;
    open_options o;
    o.group_commit = group_commit;
    auto s = store::open(dir.path() / "store", o).value();
    policy p;
    p.in_flight = 64 * price;
    REQUIRE(s->add_agent("a", p));
    std::atomic<int> unexpected{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 64; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 3; ++i) {
                auto d = s->reserve(usdc_request("a", price));
                if (!d || !d->approved) {
                    ++unexpected;
                    return;
                }
                // Every other payment is settled, the rest released; then each is settled once
                // more, which its status refuses: under group commit that refusal shares a
                // transaction with other callers' steps, and must take nothing of theirs along.
                const bool settle = (t + i) % 2 == 0;
                auto moved = settle ? s->commit(d->reservation_id, {"0x1", {}, 200, 1})
                                    : s->release(d->reservation_id, "never sent");
                if (!moved) ++unexpected;
                auto again = s->commit(d->reservation_id, {"0x2", {}, 200, 1});
                if (again || again.error().code != errc::invalid_transition) ++unexpected;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(unexpected.load() == 0);
    const auto rows = s->list_ledger({}).value();
    REQUIRE(rows.size() == 64 * 3);
    std::size_t paid = 0;
    for (const auto& r : rows) {
        CHECK((r.state == status::paid || r.state == status::released));
        if (r.state == status::paid) {
            ++paid;
            CHECK(r.tx_hash == "0x1");
        }
    }
    CHECK(paid == 96);
    CHECK(s->check_counters().value() == "");
    const auto u = s->usage("a").value();
    CHECK(u.in_flight == 0u);
    CHECK(u.spent_lifetime == 96 * price);
}

TEST_CASE("the store lingers a batch for the payments it holds reserved, and only with enough of them",
          "[store][concurrency][group_commit]") {
    purser::test::temp_dir dir;
    open_options o;
    o.commit_delay_us = 600'000'000;  // ten minutes: only the early end lets the test finish
    o.commit_siblings = 2;
    auto s = store::open(dir.path() / "store", o).value();
    REQUIRE(s->add_agent("a", {}));
    // Two reservations, each counted with fewer than two in flight: no linger.
    const auto first = s->reserve(usdc_request("a", 1)).value();
    const auto second = s->reserve(usdc_request("a", 1)).value();
    REQUIRE((first.approved && second.approved));
    CHECK(s->stats().value().lingered_batches == 0);
    // Now two are in flight: the first outcome's batch waits until the other has queued too.
    std::thread one([&] { CHECK(s->commit(first.reservation_id, settlement{})); });
    while (s->stats().value().lingered_batches == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto batches = s->stats().value().write_batches;
    std::thread other([&] { CHECK(s->commit(second.reservation_id, settlement{})); });
    one.join();
    other.join();
    const auto st = s->stats().value();
    CHECK(st.lingered_batches == 1);
    CHECK(st.write_batches == batches + 1);  // both outcomes in the one lingered batch
    CHECK(s->usage("a").value().in_flight == 0);
}
