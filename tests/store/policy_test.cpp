#include "purser/store/store.hpp"

#include <catch2/catch.hpp>

#include <lmdb.h>

#include <map>

#include "purser/store/text.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::test::manual_clock;
using purser::test::usdc_request;

namespace {

std::unique_ptr<store> open_at(const purser::test::temp_dir& dir, const manual_clock& clock) {
    open_options o;
    o.decline_fold_ms = 0;  // these tests count a row per decision (fold_test.cpp covers folding)
    return purser::test::open_store(dir.path(), clock, o);
}

/// Reserves and expects a decline with `why`; checks the decline left exactly one ledger row,
/// counted nothing, and reports the reason in the row.
void expect_decline(store& s, const reserve_request& q, reason why) {
    const auto before = s.list_ledger({}).value().size();
    const auto usage_before = s.get_agent(q.agent) ? s.usage(q.agent).value() : agent_usage{};
    auto d = s.reserve(q);
    REQUIRE(d);
    INFO("expected " << to_string(why));
    REQUIRE_FALSE(d->approved);
    REQUIRE(d->why == why);
    CHECK(d->reservation_id == 0);
    auto rows = s.list_ledger({}).value();
    REQUIRE(rows.size() == before + 1);
    CHECK(rows.back().id == d->ledger_id);
    CHECK(rows.back().state == status::declined);
    CHECK(rows.back().why == why);
    CHECK(rows.back().counted_usd() == 0);
    if (s.get_agent(q.agent)) {
        const auto after = s.usage(q.agent).value();
        CHECK(after.spent_today == usage_before.spent_today);
        CHECK(after.in_flight == usage_before.in_flight);
        CHECK(after.allowance == usage_before.allowance);
    }
    CHECK(s.check_counters().value() == "");
}

decision expect_approve(store& s, const reserve_request& q) {
    auto d = s.reserve(q);
    REQUIRE(d);
    INFO("declined: " << (d->why ? to_string(*d->why) : "-"));
    REQUIRE(d->approved);
    CHECK(d->reservation_id == d->ledger_id);
    return *d;
}

}  // namespace

TEST_CASE("every store reason code is produced by its policy", "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_at(dir, clock);
    std::map<reason, int> produced;
    auto decline = [&](const reserve_request& q, reason why) {
        expect_decline(*s, q, why);
        ++produced[why];
    };

    decline(usdc_request("ghost", 1000), reason::agent_unknown);

    REQUIRE(s->add_agent("frozen", {}));
    REQUIRE(s->set_frozen("frozen", true));
    decline(usdc_request("frozen", 1000), reason::agent_frozen);

    policy hosts;
    hosts.allow_hosts = {"*.example.com", "weather.io"};
    hosts.deny_hosts = {"evil.example.com"};
    REQUIRE(s->add_agent("hosts", hosts));
    expect_approve(*s, usdc_request("hosts", 1000));  // api.example.com
    auto q = usdc_request("hosts", 1000);
    q.host = "weather.io";
    expect_approve(*s, q);
    q.host = "EVIL.example.com";
    decline(q, reason::host_not_allowed);  // deny wins over *.example.com
    q.host = "example.com";
    decline(q, reason::host_not_allowed);  // the apex is not a subdomain
    q.host = "api.other.com";
    decline(q, reason::host_not_allowed);

    policy nets;
    nets.allow_networks = {"eip155:31337"};
    nets.allow_assets = {"usdc"};
    REQUIRE(s->add_agent("nets", nets));
    expect_approve(*s, usdc_request("nets", 1000));
    q = usdc_request("nets", 1000);
    q.network = "eip155:8453";
    decline(q, reason::network_not_allowed);
    q = usdc_request("nets", 1000);
    q.asset = "0x0000000000000000000000000000000000000001";
    q.asset_symbol = "DAI";
    decline(q, reason::asset_not_allowed);
    q = usdc_request("nets", 1000);
    q.usd_pegged = false;  // an asset without a known USD peg
    decline(q, reason::asset_not_allowed);

    policy caps;
    caps.per_request = 100'000;  // $0.10
    caps.daily = 250'000;
    REQUIRE(s->add_agent("caps", caps));
    decline(usdc_request("caps", 100'001), reason::per_request_limit_exceeded);
    // Far too large to count at all: also above the per-request limit.
    q = usdc_request("caps", 0);
    q.amount_atomic = purser::protocol::uint256::max();
    decline(q, reason::per_request_limit_exceeded);
    expect_approve(*s, usdc_request("caps", 100'000));
    expect_approve(*s, usdc_request("caps", 100'000));
    decline(usdc_request("caps", 50'001), reason::daily_limit_exceeded);
    expect_approve(*s, usdc_request("caps", 50'000));  // exactly at the cap

    policy monthly;
    monthly.monthly = 1'000'000;
    REQUIRE(s->add_agent("monthly", monthly));
    expect_approve(*s, usdc_request("monthly", 600'000));
    decline(usdc_request("monthly", 400'001), reason::monthly_limit_exceeded);

    policy lifetime;
    lifetime.lifetime = 2'000'000;
    REQUIRE(s->add_agent("lifetime", lifetime));
    expect_approve(*s, usdc_request("lifetime", 1'500'000));
    decline(usdc_request("lifetime", 500'001), reason::lifetime_limit_exceeded);

    REQUIRE(s->add_agent("allowance", {}, 300'000));
    auto d = expect_approve(*s, usdc_request("allowance", 200'000));
    CHECK(d.allowance_remaining == 100'000u);
    decline(usdc_request("allowance", 100'001), reason::insufficient_allowance);
    d = expect_approve(*s, usdc_request("allowance", 100'000));
    CHECK(d.allowance_remaining == 0u);
    // Zero left declines even a free payment.
    decline(usdc_request("allowance", 0), reason::insufficient_allowance);

    policy flight;
    flight.in_flight = 20'000;
    REQUIRE(s->add_agent("flight", flight));
    auto r1 = expect_approve(*s, usdc_request("flight", 10'000));
    expect_approve(*s, usdc_request("flight", 10'000));
    decline(usdc_request("flight", 1), reason::in_flight_limit_exceeded);
    // Settling one frees its share of the in-flight limit.
    REQUIRE(s->commit(r1.reservation_id, {"0xabc", {}, 200, 12}));
    expect_approve(*s, usdc_request("flight", 10'000));

    policy rate;
    rate.payments_per_minute = 3;
    REQUIRE(s->add_agent("rate", rate));
    for (int i = 0; i < 3; ++i) {
        expect_approve(*s, usdc_request("rate", 1));
        clock.advance_ms(10'000);
    }
    decline(usdc_request("rate", 1), reason::rate_limited);  // 3 in the last 30 s
    clock.advance_ms(30'001);                                // the first is now 60.001 s old
    expect_approve(*s, usdc_request("rate", 1));
    decline(usdc_request("rate", 1), reason::rate_limited);

    // A fleet budget without lease headroom here.
    REQUIRE(s->add_agent("fleet", {}));
    auto fleet_request = usdc_request("fleet", 1000);
    fleet_request.budgets = {"org"};
    decline(fleet_request, reason::budget_unavailable);

    // The proxy's codes are recorded through record_decline, one row each.
    for (reason r : {reason::no_supported_offer, reason::price_changed,
                     reason::body_too_large_to_replay, reason::wallet_locked,
                     reason::iou_insufficient, reason::store_unavailable,
                     reason::iou_quarantined}) {
        auto id = s->record_decline(usdc_request("caps", 1000), r, "from the proxy");
        REQUIRE(id);
        auto row = s->get_row(*id).value();
        CHECK(row.state == status::declined);
        CHECK(row.why == r);
        CHECK(row.detail == "from the proxy");
        ++produced[r];
    }
    CHECK(produced.size() == std::size(all_reasons));
    CHECK(s->check_counters().value() == "");
}

TEST_CASE("daily and monthly caps reset at UTC midnight and month start", "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    clock.set(purser::store::parse_time("2026-11-30T23:59:59Z", 0).value());
    auto s = open_at(dir, clock);
    policy p;
    p.daily = 1'000'000;
    p.monthly = 1'500'000;
    REQUIRE(s->add_agent("a", p));
    expect_approve(*s, usdc_request("a", 1'000'000));
    expect_decline(*s, usdc_request("a", 1), reason::daily_limit_exceeded);
    clock.advance_ms(1000);  // 2026-12-01T00:00:00Z: new day and new month
    expect_approve(*s, usdc_request("a", 1'000'000));
    CHECK(s->usage("a")->spent_today == 1'000'000);
    CHECK(s->usage("a")->spent_month == 1'000'000);
    CHECK(s->usage("a")->spent_lifetime == 2'000'000);
    clock.advance_ms(86'400'000);  // 2026-12-02: daily resets, monthly does not
    expect_approve(*s, usdc_request("a", 500'000));
    expect_decline(*s, usdc_request("a", 1), reason::monthly_limit_exceeded);
}

TEST_CASE("18-decimal dust counts against caps, rounded up", "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_at(dir, clock);
    policy p;
    p.daily = 2;  // two micro-USD
    REQUIRE(s->add_agent("dust", p));
    auto q = usdc_request("dust", 0);
    q.asset_decimals = 18;
    q.amount_atomic = purser::protocol::uint256(1);  // 1e-18 USD counts as 1 micro-USD
    auto d = expect_approve(*s, q);
    CHECK(d.amount == 1);
    expect_approve(*s, q);
    expect_decline(*s, q, reason::daily_limit_exceeded);
}

TEST_CASE("agents: tokens are shown once, hashed, checked, rotated", "[store][agent]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_at(dir, clock);
    auto c = s->add_agent("bot", {});
    REQUIRE(c);
    CHECK(c->token.size() == 64);
    CHECK(s->authenticate("bot", c->token)->name == "bot");
    CHECK(s->authenticate("bot", c->token + "0").error().code == errc::bad_credentials);
    CHECK(s->authenticate("nobody", c->token).error().code == errc::agent_not_found);
    // The token is not stored anywhere in the environment's files.
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path())) {
        if (f.is_regular_file()) {
            CHECK(purser::test::read_file(f.path()).find(c->token) == std::string::npos);
        }
    }
    auto rotated = s->rotate_token("bot");
    REQUIRE(rotated);
    CHECK(rotated->token != c->token);
    CHECK(s->authenticate("bot", c->token).error().code == errc::bad_credentials);
    CHECK(s->authenticate("bot", rotated->token));

    CHECK(s->add_agent("bot", {}).error().code == errc::agent_exists);
    CHECK(s->add_agent("bad name", {}).error().code == errc::invalid_name);
    policy bad;
    bad.allow_hosts = {"a.*.com"};
    CHECK(s->add_agent("other", bad).error().code == errc::invalid_pattern);
    bad.allow_hosts = {"256.1.1.1"};  // numeric, but no single address
    CHECK(s->add_agent("other", bad).error().code == errc::invalid_pattern);
    CHECK(s->get_agent("other").error().code == errc::agent_not_found);
    CHECK(s->set_policy("bot", bad).error().code == errc::invalid_pattern);
    CHECK(s->get_agent("bot")->limits == policy{});

    CHECK(s->fund("bot", 1).error().code == errc::no_allowance_limit);
    REQUIRE(s->set_allowance("bot", 5));
    CHECK(s->fund("bot", 10)->allowance == 15u);
    CHECK(s->fund("bot", max_countable_usd_micros).error().code == errc::overflow);
    CHECK(s->get_agent("bot")->allowance == 15u);
    CHECK(s->fund("ghost", 1).error().code == errc::agent_not_found);
    CHECK(s->list_agents()->size() == 1);
}

TEST_CASE("a host policy holds for every spelling of an address", "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_at(dir, clock);
    policy local;
    local.deny_hosts = {"127.0.0.1", "LOCALHOST."};
    REQUIRE(s->add_agent("bot", local));
    // The store canonicalises the host it is given instead of trusting the caller's text.
    for (const char* host : {"127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1",
                             "0x7f.1", "127.0.0.1.", "::ffff:127.0.0.1", "localhost", "LocalHost."}) {
        INFO(host);
        auto q = usdc_request("bot", 1000);
        q.host = host;
        expect_decline(*s, q, reason::host_not_allowed);
    }
    // The ledger records the canonical host, so spend by host adds up per destination.
    auto q = usdc_request("bot", 1000);
    q.host = "2130706433";
    expect_decline(*s, q, reason::host_not_allowed);
    CHECK(s->list_ledger({}).value().back().host == "127.0.0.1");

    // A deny pattern written in another spelling denies the canonical host too.
    policy octal;
    octal.deny_hosts = {"0177.1"};
    REQUIRE(s->add_agent("octal", octal));
    q = usdc_request("octal", 1000);
    q.host = "127.0.0.1";
    expect_decline(*s, q, reason::host_not_allowed);
    q.host = "127.0.0.2";
    expect_approve(*s, q);

    // Numeric text that is not exactly one address is never admitted, even with no host lists:
    // a resolver could read it as a host the policy never saw.
    REQUIRE(s->add_agent("open", {}));
    for (const char* host : {"256.1.1.1", "1.2.3.4.5", "0x1g", ""}) {
        INFO(host);
        q = usdc_request("open", 1000);
        q.host = host;
        expect_decline(*s, q, reason::host_not_allowed);
    }
    // An allow list admits any spelling of an allowed address, and "*" admits every host.
    policy allow;
    allow.allow_hosts = {"127.0.0.1"};
    REQUIRE(s->add_agent("allow", allow));
    q = usdc_request("allow", 1000);
    q.host = "0x7f000001";
    expect_approve(*s, q);
    allow.allow_hosts = {"*"};
    REQUIRE(s->set_policy("allow", allow));
    expect_approve(*s, usdc_request("allow", 1000));
}

TEST_CASE("bad reserve input is an error and writes nothing, long merchant text is cut", "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_at(dir, clock);
    REQUIRE(s->add_agent("a", {}));
    auto q = usdc_request("a", 1000);
    q.host = std::string(256, 'h');
    CHECK(s->reserve(q).error().code == errc::invalid_argument);
    q = usdc_request("a", 1000);
    q.asset_decimals = 78;
    CHECK(s->reserve(q).error().code == errc::invalid_argument);
    q = usdc_request("a", 1000);
    q.agent = std::string(256, 'a');
    CHECK(s->record_decline(q, reason::wallet_locked).error().code == errc::invalid_argument);
    CHECK(s->list_ledger({})->empty());
    CHECK(s->usage("a")->spent_lifetime == 0);

    // Text that comes from a merchant or an agent's URL is never a reason to drop a row: it is
    // cut with a marker to a size that keeps rows small.
    q = usdc_request("a", 1000);
    q.url = std::string(20000, 'u');
    q.network = std::string(1500, 'n');
    auto id = s->record_decline(q, reason::no_supported_offer, std::string(5000, 'd'));
    REQUIRE(id);
    auto row = s->get_row(*id).value();
    CHECK(row.url.size() <= max_row_url_bytes);
    CHECK(row.network.size() <= max_row_field_bytes);
    CHECK(row.detail.size() <= max_row_field_bytes);
    CHECK(row.detail.find("...[cut ") != std::string::npos);
    q.network = usdc_request("a", 1000).network;
    auto d = s->reserve(q);
    REQUIRE(d);
    CHECK(d->approved);
    REQUIRE(s->release(d->reservation_id, "test"));
    CHECK(s->commit(12345, {}).error().code == errc::reservation_not_found);
    CHECK(s->fail(0, "x").error().code == errc::reservation_not_found);
}

namespace {

/// A store at `dir` with agent `name` limited to `per_minute` payments a minute.
std::unique_ptr<store> with_rate_agent(const purser::test::temp_dir& dir, const manual_clock& clock,
                                       const std::string& name, std::uint32_t per_minute) {
    auto s = open_at(dir, clock);
    policy rate;
    rate.payments_per_minute = per_minute;
    REQUIRE(s->add_agent(name, rate));
    return s;
}

}  // namespace

TEST_CASE("the rate check reads no rows however many declines an agent piles up", "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = with_rate_agent(dir, clock, "busy", 2);
    const auto first = expect_approve(*s, usdc_request("busy", 1));
    expect_approve(*s, usdc_request("busy", 1));

    auto visited_by_one_decline = [&] {
        const auto before = s->stats().value().rows_visited;
        auto d = s->reserve(usdc_request("busy", 1));
        REQUIRE(d);
        CHECK(d->why == reason::rate_limited);
        return s->stats().value().rows_visited - before;
    };
    visited_by_one_decline();
    const auto at_start = visited_by_one_decline();
    for (int i = 0; i < 2'000; ++i) REQUIRE(s->reserve(usdc_request("busy", 1)));
    const auto after_many = visited_by_one_decline();
    INFO("rows read by one decision: " << at_start << " then " << after_many);
    CHECK(after_many == at_start);
    CHECK(after_many <= 1);
    CHECK(s->check_counters().value() == "");

    // A release gives its approval back to the window; a settlement keeps it counted.
    REQUIRE(s->release(first.reservation_id, "never sent"));
    const auto again = expect_approve(*s, usdc_request("busy", 1));
    REQUIRE(s->commit(again.reservation_id, {"0xabc", {}, 200, 5}));
    auto d = s->reserve(usdc_request("busy", 1));
    REQUIRE(d);
    CHECK(d->why == reason::rate_limited);
    CHECK(s->check_counters().value() == "");
    // Past the window the approvals no longer count; entries older than the kept span are pruned.
    clock.advance_ms(60'000);
    expect_approve(*s, usdc_request("busy", 1));
    clock.advance_ms(10 * 60'000);
    expect_approve(*s, usdc_request("busy", 1));
    CHECK(s->check_counters().value() == "");
}

TEST_CASE("a rate check reads at most a second of milliseconds and a minute of seconds",
          "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    // 1,500 approvals one millisecond apart, then the clock moved on until the window starts in
    // their middle, 300 ms before the end of a second: the window holds 1,500 of them, whose
    // first 300 are in its first, partial second and the rest in whole seconds.
    const std::uint64_t t0 = 1'800'000'000'000 + 200;  // t0 + 1,500 ends in 700
    clock.set(t0);
    auto s = with_rate_agent(dir, clock, "fast", 1'000'000);
    for (int i = 0; i < 3'000; ++i) {
        expect_approve(*s, usdc_request("fast", 1));
        clock.advance_ms(1);
    }
    clock.set(t0 + 1'500 + 60'000 - 1);  // the window: the last 60,000 ms, now included
    policy limit;
    limit.payments_per_minute = 1'501;
    REQUIRE(s->set_policy("fast", limit));
    const auto before = s->stats().value().rate_entries_visited;
    expect_approve(*s, usdc_request("fast", 1));  // the 1,501st in the window
    const auto read = s->stats().value().rate_entries_visited - before;
    INFO("rate entries read by one decision: " << read);
    CHECK(read <= 300 + 61);  // the partial second's milliseconds and the whole seconds
    auto d = s->reserve(usdc_request("fast", 1));
    REQUIRE(d);
    CHECK(d->why == reason::rate_limited);
    // The oldest approval in the window, made at t0 + 1,500, leaves it in 1 ms.
    CHECK(d->retry_after_ms == 1);
    // With room for 1,000, 502 must leave first: the 502nd oldest, made at t0 + 2,001 (in a
    // whole second), leaves in 502 ms.
    limit.payments_per_minute = 1'000;
    REQUIRE(s->set_policy("fast", limit));
    d = s->reserve(usdc_request("fast", 1));
    REQUIRE(d);
    CHECK(d->why == reason::rate_limited);
    CHECK(d->retry_after_ms == 502);
    CHECK(s->check_counters().value() == "");
}

namespace {

/// Runs `edit(txn)` in a write transaction straight through LMDB on the closed store in `dir`:
/// to make a store look as an earlier Purser left it, or to read what the store API hides.
template <class Edit>
void edit_closed_store(const purser::test::temp_dir& dir, Edit&& edit) {
    MDB_env* e = nullptr;
    REQUIRE(mdb_env_create(&e) == MDB_SUCCESS);
    REQUIRE(mdb_env_set_maxdbs(e, 32) == MDB_SUCCESS);
    REQUIRE(mdb_env_open(e, (dir.path() / "store").c_str(), MDB_NOTLS, 0600) == MDB_SUCCESS);
    MDB_txn* t = nullptr;
    REQUIRE(mdb_txn_begin(e, nullptr, 0, &t) == MDB_SUCCESS);
    edit(t);
    REQUIRE(mdb_txn_commit(t) == MDB_SUCCESS);
    mdb_env_close(e);
}

MDB_dbi existing_db(MDB_txn* t, const char* name) {
    MDB_dbi dbi = 0;
    REQUIRE(mdb_dbi_open(t, name, 0, &dbi) == MDB_SUCCESS);
    return dbi;
}

}  // namespace

TEST_CASE("a store from before the rate index gets one built from its recent rows", "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    policy rate;
    rate.payments_per_minute = 2;
    {
        auto s = open_at(dir, clock);
        REQUIRE(s->add_agent("old", rate));
        expect_approve(*s, usdc_request("old", 1));
        expect_approve(*s, usdc_request("old", 1));
    }
    // Take the store back to its earlier layout: no idx_rate, no "rate_index" marker.
    edit_closed_store(dir, [](MDB_txn* t) {
        REQUIRE(mdb_drop(t, existing_db(t, "idx_rate"), 1) == MDB_SUCCESS);
        MDB_val key{10, const_cast<char*>("rate_index")};
        REQUIRE(mdb_del(t, existing_db(t, "meta"), &key, nullptr) == MDB_SUCCESS);
    });
    auto s = open_at(dir, clock);
    CHECK(s->check_counters().value() == "");
    auto d = s->reserve(usdc_request("old", 1));
    REQUIRE(d);
    CHECK(d->why == reason::rate_limited);
}

namespace {

/// The approvals the rate index holds, by agent name, read straight from LMDB (the store must be
/// closed).
std::map<std::string, std::uint64_t> rate_entries_by_agent(const purser::test::temp_dir& dir) {
    std::map<std::string, std::uint64_t> out;
    edit_closed_store(dir, [&](MDB_txn* t) {
        MDB_cursor* c = nullptr;
        REQUIRE(mdb_cursor_open(t, existing_db(t, "idx_rate"), &c) == MDB_SUCCESS);
        MDB_val k{}, v{};
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            // Key: the name's length byte, the name, then the millisecond. Value: a format byte,
            // then that millisecond's approvals (big-endian u64). Seconds' entries (a 0xff mark
            // first) count the same approvals again: left out.
            const auto* key = static_cast<const unsigned char*>(k.mv_data);
            if (key[0] == 0xff) continue;
            const auto* value = static_cast<const unsigned char*>(v.mv_data);
            REQUIRE(v.mv_size == 9);
            std::uint64_t approvals = 0;
            for (std::size_t i = 1; i < 9; ++i) approvals = approvals << 8 | value[i];
            out[std::string(reinterpret_cast<const char*>(key) + 1, key[0])] += approvals;
        }
        mdb_cursor_close(c);
    });
    return out;
}

}  // namespace

TEST_CASE(
    "only agents with a rate limit keep rate entries, and a limit set later counts what was paid",
    "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    {
        auto s = open_at(dir, clock);
        REQUIRE(s->add_agent("free", {}));
        policy limited;
        limited.payments_per_minute = 100;
        REQUIRE(s->add_agent("rated", limited));
        for (int i = 0; i < 3; ++i) {
            expect_approve(*s, usdc_request("free", 1));
            expect_approve(*s, usdc_request("rated", 1));
            clock.advance_ms(1);
        }
        // Released: no longer an approval, in the index or out of it.
        const auto back = expect_approve(*s, usdc_request("free", 1));
        REQUIRE(s->release(back.reservation_id, "never sent"));
        CHECK(s->check_counters().value() == "");
    }
    auto approvals = rate_entries_by_agent(dir);
    CHECK(approvals.count("free") == 0);
    CHECK(approvals["rated"] == 3);

    auto s = open_at(dir, clock);
    // A limit that comes starts from the approvals already in its window: three made, three
    // allowed, so the next one is declined at once.
    policy three;
    three.payments_per_minute = 3;
    REQUIRE(s->set_policy("free", three));
    auto d = s->reserve(usdc_request("free", 1));
    REQUIRE(d);
    CHECK(d->why == reason::rate_limited);
    CHECK(s->check_counters().value() == "");
    // A limit that goes takes the agent's entries with it; another that comes rebuilds them.
    REQUIRE(s->set_policy("free", {}));
    expect_approve(*s, usdc_request("free", 1));
    policy four;
    four.payments_per_minute = 4;
    REQUIRE(s->set_policy("free", four));
    d = s->reserve(usdc_request("free", 1));
    REQUIRE(d);
    CHECK(d->why == reason::rate_limited);
    CHECK(s->check_counters().value() == "");
    // Past the window, the approvals no longer count.
    clock.advance_ms(60'000);
    expect_approve(*s, usdc_request("free", 1));
    CHECK(s->check_counters().value() == "");
    s.reset();
    approvals = rate_entries_by_agent(dir);
    CHECK(approvals["free"] == 5);
    CHECK(approvals["rated"] == 3);
}

TEST_CASE(
    "a store whose rate index kept every agent keeps only the rate-limited ones after opening",
    "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    policy rate;
    rate.payments_per_minute = 2;
    {
        auto s = open_at(dir, clock);
        REQUIRE(s->add_agent("free", {}));
        REQUIRE(s->add_agent("rated", rate));
        expect_approve(*s, usdc_request("rated", 1));
        expect_approve(*s, usdc_request("rated", 1));
    }
    // What an earlier Purser left: an entry for the agent without a limit, and no marker.
    edit_closed_store(dir, [](MDB_txn* t) {
        std::string key = std::string(1, '\x04') + "free" + std::string(7, '\0') + '\x01';
        std::string value = std::string(1, '\x01') + std::string(7, '\0') + '\x01';
        MDB_val k{key.size(), key.data()};
        MDB_val v{value.size(), value.data()};
        REQUIRE(mdb_put(t, existing_db(t, "idx_rate"), &k, &v, 0) == MDB_SUCCESS);
        MDB_val marker{13, const_cast<char*>("rate_index_v2")};
        REQUIRE(mdb_del(t, existing_db(t, "meta"), &marker, nullptr) == MDB_SUCCESS);
    });
    CHECK(rate_entries_by_agent(dir).count("free") == 1);
    {
        auto s = open_at(dir, clock);
        CHECK(s->check_counters().value() == "");
        // The rated agent's approvals were rebuilt: its limit still holds.
        auto d = s->reserve(usdc_request("rated", 1));
        REQUIRE(d);
        CHECK(d->why == reason::rate_limited);
    }
    auto approvals = rate_entries_by_agent(dir);
    CHECK(approvals.count("free") == 0);
    CHECK(approvals["rated"] == 2);
}

TEST_CASE("agent remove: refused while payments may move, then rows stay and the name is kept",
          "[store][agent]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_at(dir, clock);
    policy p;
    p.daily = 1'000'000;
    auto bob = s->add_agent("bob", p);
    REQUIRE(bob);
    REQUIRE(s->add_agent("carol", p));
    auto paid = s->reserve(usdc_request("bob", 400'000)).value();
    REQUIRE(paid.approved);
    settlement facts;
    facts.tx_hash = "0x" + std::string(64, 'a');
    REQUIRE(s->commit(paid.reservation_id, facts));

    // A payment in flight: removing would lose the agent its settlement needs.
    auto open = s->reserve(usdc_request("carol", 100'000)).value();
    REQUIRE(open.approved);
    auto refused = s->remove_agent("carol");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == errc::payments_unsettled);
    CHECK(refused.error().detail.find("ledger reconcile") != std::string::npos);
    CHECK(s->get_agent("carol"));

    const auto rows_before = s->list_ledger({}).value().size();
    REQUIRE(s->remove_agent("bob"));
    CHECK(s->get_agent("bob").error().code == errc::agent_not_found);
    CHECK(s->authenticate("bob", bob->token).error().code == errc::agent_not_found);
    CHECK(s->remove_agent("bob").error().code == errc::agent_not_found);
    CHECK(s->set_frozen("bob", false).error().code == errc::agent_not_found);
    CHECK(s->list_agents().value().size() == 1);
    // A decision for the removed name is declined like an unknown agent, and recorded.
    auto after = s->reserve(usdc_request("bob", 1)).value();
    CHECK(after.why == reason::agent_unknown);
    // Its rows stay, and the name stays theirs: a new agent cannot take it.
    ledger_query by_bob;
    by_bob.agent = "bob";
    CHECK(s->list_ledger(by_bob).value().size() == 2);
    CHECK(s->list_ledger({}).value().size() == rows_before + 1);
    auto again = s->add_agent("bob", p);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == errc::agent_exists);
    CHECK(again.error().detail.find("removed") != std::string::npos);
    // The other agent is untouched, and every counter still agrees with the ledger.
    CHECK(s->usage("carol")->in_flight == 100'000);
    CHECK(s->check_counters().value().empty());
}

TEST_CASE("a rate-limited decline says when the window admits one more", "[store][policy]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = with_rate_agent(dir, clock, "rate", 3);
    const auto first = expect_approve(*s, usdc_request("rate", 1));
    CHECK(first.retry_after_ms == 0);
    clock.advance_ms(10'000);
    expect_approve(*s, usdc_request("rate", 1));
    expect_approve(*s, usdc_request("rate", 1));  // two at the same millisecond
    clock.advance_ms(5'000);
    auto d = s->reserve(usdc_request("rate", 1));
    REQUIRE(d);
    REQUIRE(d->why == reason::rate_limited);
    // The first approval, made 15 s ago, leaves the window in 45 s.
    CHECK(d->retry_after_ms == 45'000);
    clock.advance_ms(45'000);
    expect_approve(*s, usdc_request("rate", 1));  // exactly then
    // Three in the window again; one must leave, and the oldest two leave together in 10 s.
    d = s->reserve(usdc_request("rate", 1));
    REQUIRE(d);
    REQUIRE(d->why == reason::rate_limited);
    CHECK(d->retry_after_ms == 10'000);
    // Other declines say nothing about retrying.
    policy frozen;
    REQUIRE(s->add_agent("cold", frozen));
    REQUIRE(s->set_frozen("cold", true));
    d = s->reserve(usdc_request("cold", 1));
    REQUIRE(d);
    CHECK(d->why == reason::agent_frozen);
    CHECK(d->retry_after_ms == 0);
}
