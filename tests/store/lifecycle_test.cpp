#include "purser/store/ledger.hpp"

#include <catch2/catch.hpp>

#include <lmdb.h>

#include "purser/store/store.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::test::manual_clock;
using purser::test::t0_ms;
using purser::test::usdc_request;

namespace {

std::unique_ptr<store> open_at(const std::filesystem::path& p, const manual_clock& clock,
                               std::size_t map_size = std::size_t{1} << 30) {
    open_options o;
    o.clock = clock.fn();
    o.map_size_bytes = map_size;
    o.max_size_bytes = map_size;
    auto s = store::open(p, o);
    REQUIRE(s);
    return std::move(*s);
}

}  // namespace

TEST_CASE("signed is spent until settled or expired", "[store][lifecycle]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_at(dir.path(), clock);
    policy p;
    p.daily = 1'000'000;
    p.in_flight = 500'000;
    REQUIRE(s->add_agent("a", p, 2'000'000));
    const std::uint64_t expires = t0_ms / 1000 + 300;  // validBefore: five minutes from now

    auto d1 = s->reserve(usdc_request("a", 300'000, expires)).value();
    REQUIRE(d1.approved);
    CHECK(s->usage("a")->in_flight == 300'000);
    CHECK(s->usage("a")->allowance == 1'700'000u);

    // The merchant refused: failed, but still counted (invariant 2) until validBefore passes.
    auto failed = s->fail(d1.reservation_id, "merchant said 402 again, \"nope\"", 402);
    REQUIRE(failed);
    CHECK(failed->state == status::failed);
    CHECK(failed->merchant_status == 402);
    CHECK(s->usage("a")->in_flight == 300'000);
    CHECK(s->usage("a")->spent_today == 300'000);
    auto d2 = s->reserve(usdc_request("a", 300'000, expires)).value();
    CHECK(d2.why == reason::in_flight_limit_exceeded);

    // In doubt keeps counting too.
    REQUIRE(s->mark_in_doubt(d1.reservation_id, "facilitator timeout"));
    CHECK(s->get_row(d1.reservation_id)->state == status::in_doubt);
    CHECK(s->awaiting_proof(t0_ms + 299'999, 0, 100).value().empty());

    // Time alone releases nothing: past validBefore the row is still counted (a merchant can
    // settle and then answer 500), and a new reservation does not expire it.
    clock.set((expires + 60) * 1000);
    CHECK(s->reserve(usdc_request("a", 300'000)).value().why == reason::in_flight_limit_exceeded);
    CHECK(s->get_row(d1.reservation_id)->state == status::in_doubt);
    CHECK(s->usage("a")->in_flight == 300'000);
    // It is listed for a proof once past validBefore plus the skew margin, not before.
    CHECK(s->awaiting_proof(clock.now->load(), 120, 100).value().empty());
    auto due = s->awaiting_proof(clock.now->load(), 30, 100).value();
    REQUIRE(due.size() == 1);
    CHECK(due[0].id == d1.reservation_id);
    CHECK(s->expire_unsettled(d1.reservation_id, "proof", 120).error().code ==
          errc::invalid_transition);
    // With the chain's proof that the nonce is unused, the money is back.
    REQUIRE(s->expire_unsettled(d1.reservation_id,
                                "authorizationState(payer, nonce) false after validBefore", 30));
    auto d3 = s->reserve(usdc_request("a", 300'000)).value();
    REQUIRE(d3.approved);
    auto old = s->get_row(d1.reservation_id).value();
    CHECK(old.state == status::expired);
    CHECK(old.counted_usd() == 0);
    CHECK(s->usage("a")->in_flight == 300'000);
    CHECK(s->usage("a")->spent_today == 300'000);
    CHECK(s->usage("a")->allowance == 1'700'000u);

    // Settled for less than reserved (batch-settlement charges what was used).
    auto paid = s->commit(d3.reservation_id, {"0xfeed", purser::protocol::uint256(120'000), 200, 87});
    REQUIRE(paid);
    CHECK(paid->state == status::paid);
    CHECK(paid->charged_usd == 120'000);
    CHECK(paid->tx_hash == "0xfeed");
    CHECK(paid->latency_ms == 87);
    CHECK(s->usage("a")->in_flight == 0);
    CHECK(s->usage("a")->spent_today == 120'000);
    CHECK(s->usage("a")->allowance == 1'880'000u);

    // Late settlement evidence for the expired one: it is paid after all and counts again.
    auto late = s->commit(d1.reservation_id, {"0xbeef", {}, 200, 0});
    REQUIRE(late);
    CHECK(late->charged_usd == 300'000);
    CHECK(s->usage("a")->spent_today == 420'000);
    CHECK(s->usage("a")->allowance == 1'580'000u);

    // Final states do not move; errors change nothing.
    CHECK(s->commit(d3.reservation_id, {}).error().code == errc::invalid_transition);
    CHECK(s->fail(d3.reservation_id, "x").error().code == errc::invalid_transition);
    CHECK(s->release(d3.reservation_id, "x").error().code == errc::invalid_transition);
    CHECK(s->commit(d2.ledger_id, {}).error().code == errc::reservation_not_found);  // a decline

    // Release: the signature never left the process, so the money comes straight back.
    auto d4 = s->reserve(usdc_request("a", 200'000)).value();
    REQUIRE(d4.approved);
    auto released = s->release(d4.reservation_id, "signing failed");
    REQUIRE(released);
    CHECK(released->state == status::released);
    CHECK(s->usage("a")->spent_today == 420'000);
    CHECK(s->usage("a")->in_flight == 0);
    CHECK(s->release(d4.reservation_id, "again").error().code == errc::invalid_transition);

    // A failed reservation cannot be released (its signature left the process).
    auto d5 = s->reserve(usdc_request("a", 1000, expires + 100)).value();
    REQUIRE(s->fail(d5.reservation_id, "503", 503));
    CHECK(s->release(d5.reservation_id, "x").error().code == errc::invalid_transition);
    // Still inside its window: no proof can release it yet.
    CHECK(s->expire_unsettled(d5.reservation_id, "proof", 0).error().code ==
          errc::invalid_transition);
    clock.set((expires + 100) * 1000);
    REQUIRE(s->expire_unsettled(d5.reservation_id, "proof", 0));
    CHECK(s->get_row(d5.reservation_id)->state == status::expired);
    // A reserved row (its request still in progress) is never listed for proof.
    auto d6 = s->reserve(usdc_request("a", 1000, expires)).value();
    REQUIRE(d6.approved);
    const auto listed = s->awaiting_proof(clock.now->load(), 0, 100).value();
    for (const auto& r : listed) CHECK(r.id != d6.reservation_id);
    CHECK(s->expire_unsettled(d6.reservation_id, "proof", 0).error().code ==
          errc::invalid_transition);
    REQUIRE(s->release(d6.reservation_id, "never sent"));

    CHECK(s->check_counters().value() == "");
}

TEST_CASE("a newer schema is refused and left untouched", "[store][lmdb]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    { auto s = open_at(dir.path(), clock); }
    // Write schema_version 6 directly, as a future Purser would.
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_maxdbs(env, 16) == 0);
    REQUIRE(mdb_env_open(env, dir.path().c_str(), 0, 0600) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    MDB_dbi meta = 0;
    REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
    std::string key = "schema_version";
    const char value[] = {1, 0, 0, 0, 6};
    MDB_val k{key.size(), key.data()};
    MDB_val v{sizeof value, const_cast<char*>(value)};
    REQUIRE(mdb_put(txn, meta, &k, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);

    const auto before = purser::test::read_file(dir.path() / "data.mdb");
    open_options o;
    o.clock = clock.fn();
    auto s = store::open(dir.path(), o);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == errc::schema_too_new);
    CHECK(purser::test::read_file(dir.path() / "data.mdb") == before);
}

TEST_CASE("a full map is a named error and the failed decision writes nothing", "[store][lmdb]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_at(dir.path(), clock, 256 * 1024);  // 64 pages
    REQUIRE(s->add_agent("a", {}));
    auto q = usdc_request("a", 1);
    q.url = "https://api.example.com/" + std::string(2000, 'x');
    std::size_t approved = 0;
    purser::error last;
    for (int i = 0; i < 10'000; ++i) {
        auto d = s->reserve(q);
        if (!d) {
            last = d.error();
            break;
        }
        ++approved;
    }
    REQUIRE(last.code == errc::map_full);
    CHECK(last.detail.find("mdb_") != std::string::npos);
    // Everything that committed is intact and consistent; the failed one left no trace.
    CHECK(s->list_ledger({})->size() == approved);
    CHECK(s->usage("a")->spent_lifetime == approved);
    CHECK(s->check_counters().value() == "");
}

TEST_CASE("reservations of a process that ended are found in doubt on open", "[store][lifecycle]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    std::uint64_t mine = 0;
    {
        auto s = open_at(dir.path(), clock);
        REQUIRE(s->add_agent("a", {}));
        mine = s->reserve(usdc_request("a", 5)).value().reservation_id;
        // While this store is open, another opener must not touch its live reservation: the
        // live session is detected through its lock, not guessed.
    }
    // The first store closed without resolving: that is what a crash leaves behind.
    auto s = open_at(dir.path(), clock);
    auto row = s->get_row(mine).value();
    CHECK(row.state == status::in_doubt);
    CHECK(row.counted_usd() == 5);
    CHECK(s->check_counters().value() == "");
}
