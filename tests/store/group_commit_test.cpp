// The group committer on a bare LMDB environment: batches are lined up by holding the leader at
// its begin until the callers wanted are queued, so what shares a batch is certain, not timing.
#include "purser/store/group_commit.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "purser/store/errc.hpp"
#include "test_support.hpp"

namespace detail = purser::store::detail;
using purser::result;
using purser::store::errc;

namespace {

MDB_env* open_env(const std::filesystem::path& dir, unsigned flags = 0) {
    MDB_env* e = nullptr;
    if (mdb_env_create(&e) != MDB_SUCCESS) return nullptr;
    if (mdb_env_open(e, dir.c_str(), MDB_NOTLS | flags, 0600) != MDB_SUCCESS) {
        mdb_env_close(e);
        return nullptr;
    }
    return e;
}

struct fixture {
    purser::test::temp_dir dir;
    detail::env env;
    detail::gate_mutex gate;
    MDB_dbi dbi = 0;
    /// Each batch's begin waits for this (the test releases it once its batch is lined up).
    std::shared_future<void> go;
    /// The second and later batches' begins wait for this too.
    std::shared_future<void> go_later;
    std::atomic<int> begins{0};
    bool refuse_begin = false;
    detail::group_committer group{[this]() -> result<detail::write_txn> {
        if (go.valid()) go.wait();
        if (++begins > 1 && go_later.valid()) go_later.wait();
        if (refuse_begin) return purser::fail(errc::lmdb_failed, "begin refused");
        return detail::write_txn::begin(env.get(), gate);
    }};

    /// `env_flags` MDB_NOMETASYNC: as the store opens its environment.
    explicit fixture(unsigned env_flags = 0) : env(open_env(dir.path(), env_flags)) {
        REQUIRE(env.get() != nullptr);
        auto t = detail::write_txn::begin(env.get(), gate);
        REQUIRE(t);
        REQUIRE(mdb_dbi_open(t->handle(), nullptr, 0, &dbi) == MDB_SUCCESS);
        REQUIRE(t->commit());
    }
    [[nodiscard]] bool has(const std::string& key) {
        auto t = detail::read_txn::begin(env.get(), gate);
        REQUIRE(t);
        auto v = t->get(dbi, key);
        REQUIRE(v);
        return v->has_value();
    }
    [[nodiscard]] detail::group_committer::op_fn put(std::string key) {
        return [this, key](detail::write_txn& t) { return t.put(dbi, key, "v"); };
    }
};

/// Runs `ops` from a thread each, queued in order behind a leader held at its begin, then lets
/// the batch go. Returns each caller's result.
std::vector<result<void>> line_up(fixture& f, const std::vector<detail::group_committer::op_fn>& ops) {
    std::promise<void> release;
    f.go = release.get_future().share();
    std::vector<result<void>> out(ops.size());
    std::vector<std::thread> callers;
    for (std::size_t i = 0; i < ops.size(); ++i) {
        callers.emplace_back([&, i] { out[i] = f.group.run(ops[i]); });
        // The first caller leads and waits at begin with its operation still queued; each next
        // one queues behind it. Waiting here for the queue fixes the order.
        while (f.group.queued() < i + 1) std::this_thread::yield();
    }
    release.set_value();
    for (auto& c : callers) c.join();
    return out;
}

}  // namespace

TEST_CASE("one operation's error undoes only its own changes, and the batch commits the rest",
          "[store][group_commit]") {
    fixture f;
    bool c_saw_a = false;
    bool c_saw_b = true;
    const auto fails = [&](detail::write_txn& t) -> result<void> {
        PURSER_CHECK(t.put(f.dbi, "b", "v"));
        return purser::fail(errc::invalid_transition, "b refuses after writing");
    };
    // Runs after a and b in the same transaction: sees a's change, not the undone b's.
    const auto reads = [&](detail::write_txn& t) -> result<void> {
        PURSER_TRY(a, t.get(f.dbi, "a"));
        PURSER_TRY(b, t.get(f.dbi, "b"));
        c_saw_a = a.has_value();
        c_saw_b = b.has_value();
        return t.put(f.dbi, "c", "v");
    };
    const auto out = line_up(f, {f.put("a"), fails, reads, f.put("d")});
    CHECK(out[0]);
    REQUIRE_FALSE(out[1]);
    CHECK(out[1].error().code == errc::invalid_transition);
    CHECK(out[2]);
    CHECK(out[3]);
    CHECK(c_saw_a);
    CHECK_FALSE(c_saw_b);
    CHECK(f.group.batches() == 1);  // one durable commit for all four
    CHECK(f.group.operations() == 4);
    CHECK(f.has("a"));
    CHECK_FALSE(f.has("b"));
    CHECK(f.has("c"));
    CHECK(f.has("d"));
}

TEST_CASE("a batch that cannot begin gives every caller its error and runs nothing",
          "[store][group_commit]") {
    fixture f;
    f.refuse_begin = true;
    int runs = 0;
    const auto counted = [&](detail::write_txn& t) -> result<void> {
        ++runs;
        return t.put(f.dbi, "x", "v");
    };
    const auto out = line_up(f, {counted, counted, counted});
    for (const auto& r : out) {
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::lmdb_failed);
    }
    CHECK(runs == 0);
    CHECK(f.group.batches() == 0);
    f.refuse_begin = false;
    CHECK(f.group.run(counted));
    CHECK(f.has("x"));
}

TEST_CASE("an operation that meets map_full runs again first in a fresh batch, once",
          "[store][group_commit]") {
    fixture f;
    int full_runs = 0;
    // map_full the first time only, as when the next batch's begin has grown the map.
    const auto full_once = [&](detail::write_txn& t) -> result<void> {
        if (++full_runs == 1) return purser::fail(errc::map_full, "simulated");
        return t.put(f.dbi, "m", "v");
    };
    int always_runs = 0;
    const auto always_full = [&](detail::write_txn&) -> result<void> {
        ++always_runs;
        return purser::fail(errc::map_full, "simulated, at the maximum size");
    };
    const auto out = line_up(f, {f.put("a"), full_once, f.put("c"), always_full});
    CHECK(out[0]);
    CHECK(out[1]);
    CHECK(out[2]);
    REQUIRE_FALSE(out[3]);
    CHECK(out[3].error().code == errc::map_full);
    CHECK(full_runs == 2);
    CHECK(always_runs == 2);  // retried once, then its error is the answer
    // {a}; then {m, c}, where always_full met map_full for the first time and went on to a third
    // batch, in which its second map_full was its answer.
    CHECK(f.group.batches() == 3);
    CHECK(f.has("a"));
    CHECK(f.has("m"));
    CHECK(f.has("c"));
}

TEST_CASE("with MDB_NOMETASYNC, a durable caller is answered after the next flush, a committed one "
          "at its commit", "[store][group_commit]") {
    fixture f(MDB_NOMETASYNC);
    SECTION("alone, a durable caller's batch flushes for it") {
        CHECK(f.group.run(f.put("a")));
        CHECK(f.group.own_flushes() == 1);
        CHECK(f.has("a"));
    }
    SECTION("a committed caller waits for no flush") {
        CHECK(f.group.run(f.put("a"), detail::group_committer::wait_for::committed));
        CHECK(f.group.own_flushes() == 0);
        CHECK(f.has("a"));
    }
    SECTION("the next batch's data flush carries the batch before it") {
        std::promise<void> second_may_begin;
        f.go_later = second_may_begin.get_future().share();
        // a's operation holds its batch open until b is queued, so b is the next batch.
        const detail::group_committer::op_fn a = [&](detail::write_txn& t) -> result<void> {
            while (f.group.queued() < 1) std::this_thread::yield();
            return t.put(f.dbi, "a", "v");
        };
        auto first = std::async(std::launch::async, [&] { return f.group.run(a); });
        // a's batch has begun and taken a from the queue: b queues for the next one.
        while (f.begins < 1 || f.group.queued() > 0) std::this_thread::yield();
        auto second = std::async(std::launch::async, [&] { return f.group.run(f.put("b")); });
        // a's batch committed (b's batch is waiting at its begin), but a's meta page is not
        // flushed: a is not answered yet, and nobody flushed for it.
        while (f.group.batches() < 1) std::this_thread::yield();
        CHECK(first.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
        CHECK(f.group.own_flushes() == 0);
        second_may_begin.set_value();
        CHECK(first.get());
        CHECK(second.get());
        // b's commit flushed a's meta page; b, with nobody queued after it, had its own flush.
        CHECK(f.group.batches() == 2);
        CHECK(f.group.own_flushes() == 1);
        CHECK(f.has("a"));
        CHECK(f.has("b"));
    }
}

TEST_CASE("without MDB_NOMETASYNC every commit is durable by itself: no flush of the committer's own",
          "[store][group_commit]") {
    fixture f;
    CHECK(f.group.run(f.put("a")));
    CHECK(f.group.run(f.put("b"), detail::group_committer::wait_for::committed));
    CHECK(f.group.own_flushes() == 0);
}

TEST_CASE("many callers over many batches: each gets its own answer, once, and every change lands",
          "[store][group_commit]") {
    // Callers are woken after the leader lets go of the queue's lock, so a caller can see its
    // answer before its wake-up has been made; it must not return (and free what the wake-up
    // touches) until then. Run under ThreadSanitizer or AddressSanitizer, a caller that did
    // would show; here every caller must come back with its own result.
    fixture f(MDB_NOMETASYNC);
    constexpr int threads = 24;
    constexpr int each = 60;
    std::vector<std::thread> callers;
    std::atomic<int> ok{0};
    std::atomic<int> refused_as_asked{0};
    for (int t = 0; t < threads; ++t) {
        callers.emplace_back([&, t] {
            for (int i = 0; i < each; ++i) {
                const std::string key = std::to_string(t) + "-" + std::to_string(i);
                const auto until = i % 2 == 0 ? detail::group_committer::wait_for::durable
                                              : detail::group_committer::wait_for::committed;
                if (i % 7 == 3) {
                    // A refusal must come back to this caller, not to a neighbour in its batch.
                    const detail::group_committer::op_fn refuses = [&](detail::write_txn& w) -> result<void> {
                        PURSER_CHECK(w.put(f.dbi, key, "v"));
                        return purser::fail(errc::invalid_transition, key);
                    };
                    auto r = f.group.run(refuses, until);
                    if (!r && r.error().code == errc::invalid_transition && r.error().detail == key) {
                        ++refused_as_asked;
                    }
                } else if (f.group.run(f.put(key), until)) {
                    ++ok;
                }
            }
        });
    }
    for (auto& c : callers) c.join();
    int refusals = 0;
    for (int i = 0; i < each; ++i) refusals += i % 7 == 3 ? 1 : 0;
    CHECK(refused_as_asked == threads * refusals);
    CHECK(ok == threads * (each - refusals));
    CHECK(f.group.operations() == static_cast<std::uint64_t>(threads * each));
    CHECK(f.group.queued() == 0);
    for (int t = 0; t < threads; ++t) {
        for (int i = 0; i < each; ++i) {
            const std::string key = std::to_string(t) + "-" + std::to_string(i);
            CHECK(f.has(key) == (i % 7 != 3));
        }
    }
}

namespace {

/// A committer on `f`'s environment that lingers as `in_flight` says, for up to `delay`.
detail::group_committer lingering(fixture& f, const std::atomic<std::size_t>& in_flight,
                                  std::chrono::microseconds delay, std::size_t siblings) {
    detail::group_committer::linger_policy p;
    p.delay = delay;
    p.siblings = siblings;
    p.in_flight = [&in_flight](const detail::write_txn&) { return in_flight.load(); };
    return detail::group_committer(
        [&f]() -> result<detail::write_txn> { return detail::write_txn::begin(f.env.get(), f.gate); },
        std::move(p));
}

void wait_until(const std::function<bool()>& done) {
    while (!done()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace

TEST_CASE("with enough payments in flight a leader lingers, and stops once they have all queued",
          "[store][group_commit]") {
    fixture f;
    std::atomic<std::size_t> in_flight{3};
    // A delay no test run would sit out: only the early end lets this test finish in time.
    constexpr auto forever = std::chrono::minutes(10);
    auto g = lingering(f, in_flight, forever, 3);
    const auto start = std::chrono::steady_clock::now();
    std::thread leader([&] { CHECK(g.run(f.put("a"))); });
    wait_until([&] { return g.lingered() == 1; });
    std::thread second([&] { CHECK(g.run(f.put("b"))); });
    wait_until([&] { return g.queued() == 2; });
    CHECK(g.batches() == 0);  // two queued of the three in flight: still lingering
    std::thread third([&] { CHECK(g.run(f.put("c"))); });
    leader.join();
    second.join();
    third.join();
    CHECK(std::chrono::steady_clock::now() - start < forever);
    CHECK(g.batches() == 1);
    CHECK(g.operations() == 3);
    CHECK(g.lingered() == 1);
    CHECK((f.has("a") && f.has("b") && f.has("c")));
}

TEST_CASE("with fewer payments in flight than siblings a leader never lingers", "[store][group_commit]") {
    fixture f;
    std::atomic<std::size_t> in_flight{4};
    auto g = lingering(f, in_flight, std::chrono::minutes(10), 5);
    CHECK(g.run(f.put("a")));
    in_flight = 0;
    CHECK(g.run(f.put("b")));
    CHECK(g.lingered() == 0);
    CHECK(g.batches() == 2);
}

TEST_CASE("a linger for payments that never come ends after its delay and commits", "[store][group_commit]") {
    fixture f(MDB_NOMETASYNC);
    std::atomic<std::size_t> in_flight{50};
    auto g = lingering(f, in_flight, std::chrono::milliseconds(20), 5);
    CHECK(g.run(f.put("a")));
    CHECK(g.run(f.put("b"), detail::group_committer::wait_for::committed));
    CHECK(g.lingered() == 2);
    CHECK((f.has("a") && f.has("b")));
}

TEST_CASE("a commit says what its durability still needs", "[store][lmdb]") {
    for (const unsigned flags : {0U, static_cast<unsigned>(MDB_NOMETASYNC)}) {
        fixture f(flags);
        auto wrote = detail::write_txn::begin(f.env.get(), f.gate);
        REQUIRE(wrote);
        REQUIRE(wrote->put(f.dbi, "k", "v"));
        auto state = wrote->commit_leaving_meta_sync();
        REQUIRE(state);
        CHECK(*state == (flags == 0 ? detail::commit_sync::durable : detail::commit_sync::meta_unsynced));
        auto nothing = detail::write_txn::begin(f.env.get(), f.gate);
        REQUIRE(nothing);
        auto none = nothing->commit_leaving_meta_sync();
        REQUIRE(none);
        CHECK(*none == detail::commit_sync::unchanged);
        CHECK(detail::sync_env(f.env.get()));
        CHECK(f.has("k"));
    }
}
