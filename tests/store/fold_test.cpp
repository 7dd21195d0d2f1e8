// Bounded rows under a runaway agent: identical declines fold into one row with a count, so an
// agent retrying a refused call (even with huge URLs) costs the store kilobytes, not gigabytes.
#include <catch2/catch.hpp>

#include <lmdb.h>

#include "purser/store/store.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::test::manual_clock;
using purser::test::usdc_request;

namespace {

std::unique_ptr<store> open_at(const purser::test::temp_dir& dir, const manual_clock& clock) {
    return purser::test::open_store(dir.path(), clock);
}

reserve_request long_url_request(const std::string& agent, std::size_t i) {
    auto q = usdc_request(agent, 1000);
    q.url = "https://api.example.com/" + std::string(15'000, 'a') + std::to_string(i);
    return q;
}

}  // namespace

TEST_CASE("a frozen agent's repeated declines fold into one row a minute", "[store][fold]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_at(dir, clock);
    REQUIRE(s->add_agent("runaway", {}));
    REQUIRE(s->add_agent("other", {}));
    REQUIRE(s->set_frozen("runaway", true));
    const auto used_before = s->stats().value().used_bytes;

    // 6,000 declines at 100 per second: one minute of a client retrying as fast as it can.
    std::uint64_t first_id = 0;
    for (std::size_t i = 0; i < 6000; ++i) {
        auto d = s->reserve(long_url_request("runaway", i)).value();
        REQUIRE(d.why == reason::agent_frozen);
        if (i == 0) first_id = d.ledger_id;
        CHECK(d.ledger_id == first_id);  // the agent is told which row counts it
        clock.advance_ms(10);
    }
    auto rows = s->list_ledger({}).value();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].repeats == 6000);
    CHECK(rows[0].updated_ms == rows[0].at_ms + 59'990);
    CHECK(rows[0].url.size() < 2100);  // cut with a marker
    // Kilobytes, not 6,000 rows of 15 KB (90 MB).
    CHECK(s->stats().value().used_bytes - used_before < 256 * 1024);

    // Past the window a new row starts; another reason or host, or another agent, is its own row.
    auto next = s->reserve(long_url_request("runaway", 0)).value();
    CHECK(next.ledger_id != first_id);
    auto elsewhere = long_url_request("runaway", 0);
    elsewhere.host = "api.other.example";
    CHECK(s->reserve(elsewhere).value().ledger_id != next.ledger_id);
    CHECK(s->record_decline(long_url_request("runaway", 0), reason::no_supported_offer, "x").value() !=
          next.ledger_id);
    CHECK(s->record_decline(long_url_request("runaway", 1), reason::no_supported_offer, "y").value() ==
          s->record_decline(long_url_request("runaway", 2), reason::no_supported_offer, "z").value());
    // Other agents keep paying.
    CHECK(s->reserve(usdc_request("other", 1000)).value().approved);
    CHECK(s->list_ledger({}).value().size() == 5);

    // spend counts every decline, folded or not.
    auto by_agent = s->spend(spend_group::agent, std::nullopt, std::nullopt).value();
    REQUIRE(by_agent.size() == 2);
    CHECK(by_agent[1].key == "runaway");
    CHECK(by_agent[1].declined == 6000 + 1 + 1 + 1 + 2);
    CHECK(s->check_counters().value().empty());
}

TEST_CASE("decline folding can be turned off", "[store][fold]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    open_options o;
    o.clock = clock.fn();
    o.decline_fold_ms = 0;
    auto s = std::move(store::open(dir.path() / "store", o).value());
    REQUIRE(s->add_agent("a", {}));
    REQUIRE(s->set_frozen("a", true));
    for (int i = 0; i < 3; ++i) CHECK(s->reserve(usdc_request("a", 1)).value().why == reason::agent_frozen);
    CHECK(s->list_ledger({}).value().size() == 3);
}

TEST_CASE("a schema 1 store is upgraded to the current schema on open, its rows intact", "[store][fold]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    {
        auto s = open_at(dir, clock);
        REQUIRE(s->add_agent("a", {}));
        REQUIRE(s->reserve(usdc_request("a", 1000)).value().approved);
    }
    auto schema_of = [&]() {
        MDB_env* env = nullptr;
        REQUIRE(mdb_env_create(&env) == 0);
        REQUIRE(mdb_env_set_maxdbs(env, 16) == 0);
        REQUIRE(mdb_env_open(env, (dir.path() / "store").c_str(), 0, 0600) == 0);
        MDB_txn* txn = nullptr;
        REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
        MDB_dbi meta = 0;
        REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
        std::string key = "schema_version";
        MDB_val k{key.size(), key.data()};
        MDB_val v{};
        REQUIRE(mdb_get(txn, meta, &k, &v) == 0);
        const std::string value(static_cast<const char*>(v.mv_data), v.mv_size);
        // Downgrade it, as a store written by the previous release would read.
        const char old[] = {1, 0, 0, 0, 1};
        MDB_val ov{sizeof old, const_cast<char*>(old)};
        REQUIRE(mdb_put(txn, meta, &k, &ov, 0) == 0);
        REQUIRE(mdb_txn_commit(txn) == 0);
        mdb_env_close(env);
        return value;
    };
    CHECK(schema_of() == std::string("\x01\x00\x00\x00\x05", 5));
    {
        auto s = open_at(dir, clock);
        CHECK(s->list_ledger({}).value().size() == 1);
    }
    CHECK(schema_of() == std::string("\x01\x00\x00\x00\x05", 5));  // upgraded again on open
}

TEST_CASE("prune: declines go, paid rows only with an archive, open rows never, counters stay",
          "[store][prune]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_at(dir, clock);
    policy p;
    p.daily = 10'000'000;
    REQUIRE(s->add_agent("a", p));
    settlement facts;
    facts.tx_hash = "0x" + std::string(64, 'c');
    // Day 0: two paid, one open (in doubt), one declined.
    auto paid1 = s->reserve(usdc_request("a", 1000)).value();
    REQUIRE(s->commit(paid1.reservation_id, facts));
    auto paid2 = s->reserve(usdc_request("a", 2000)).value();
    REQUIRE(s->commit(paid2.reservation_id, facts));
    auto open = s->reserve(usdc_request("a", 4000)).value();
    REQUIRE(s->mark_in_doubt(open.reservation_id, "merchant stalled"));
    auto big = usdc_request("a", 20'000'000);
    REQUIRE(s->reserve(big).value().why == reason::daily_limit_exceeded);
    // Day 3: one more paid, recent.
    clock.advance_ms(3 * 86'400'000ULL);
    auto recent = s->reserve(usdc_request("a", 8000)).value();
    REQUIRE(s->commit(recent.reservation_id, facts));
    const auto lifetime = s->usage("a")->spent_lifetime;
    const auto cutoff = clock.now->load() - 86'400'000ULL;

    CHECK(s->prune(clock.now->load() - 60'000).error().code == errc::invalid_argument);

    // Without an archive: the decline goes, paid and open rows stay.
    auto first = s->prune(cutoff).value();
    CHECK(first.rows == 1);
    CHECK(first.kept_paid == 2);
    CHECK(first.kept_open == 1);
    CHECK(s->list_ledger({}).value().size() == 4);

    // With an archive: the paid rows go too, after the archive saw them; the open row stays.
    std::vector<ledger_row> archived;
    auto second = s->prune(cutoff, [&](const std::vector<ledger_row>& rows) -> purser::result<void> {
        archived.insert(archived.end(), rows.begin(), rows.end());
        return {};
    }).value();
    CHECK(second.rows == 2);
    CHECK(second.paid == 2);
    CHECK(second.kept_open == 1);
    REQUIRE(archived.size() == 2);
    CHECK(archived[0].id == paid1.reservation_id);
    auto left = s->list_ledger({}).value();
    REQUIRE(left.size() == 2);
    CHECK(left[0].id == open.reservation_id);
    CHECK(left[1].id == recent.reservation_id);
    CHECK(s->get_row(paid1.reservation_id).error().code == errc::reservation_not_found);

    // An archive that fails stops the prune and deletes nothing of its batch.
    clock.advance_ms(3 * 86'400'000ULL);
    auto refused = s->prune(clock.now->load() - 86'400'000ULL,
                            [](const std::vector<ledger_row>&) -> purser::result<void> {
                                return purser::fail(errc::io_failed, "disk full");
                            });
    CHECK_FALSE(refused);
    CHECK(s->list_ledger({}).value().size() == 2);

    // Counters never moved, and still agree with the ledger plus what was pruned.
    CHECK(s->usage("a")->spent_lifetime == lifetime);
    CHECK(s->check_counters().value().empty());
    CHECK(s->reserve(usdc_request("a", 1000)).value().approved);
    CHECK(s->check_counters().value().empty());
}
