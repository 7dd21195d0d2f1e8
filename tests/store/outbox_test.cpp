// The fleet outbox: every ledger change queued in its own transaction, read in batches,
// acknowledged after shipping, off unless turned on, and never lost to a crash.
#include "purser/store/store.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <set>
#include <thread>

#include "crasher.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::test::manual_clock;
using purser::test::open_store;
using purser::test::usdc_request;

namespace {

open_options with_outbox(outbox_mode m) {
    open_options o;
    o.outbox = m;
    return o;
}

std::map<std::uint64_t, outbox_entry> pending_by_id(store& s) {
    std::map<std::uint64_t, outbox_entry> out;
    auto batch = s.outbox_batch(100000).value();
    for (auto& e : batch) out[e.row_id] = std::move(e);
    return out;
}

}  // namespace

TEST_CASE("a store keeps no outbox unless told to", "[store][outbox]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_store(dir.path(), clock);
    REQUIRE(s->add_agent("bot", {}));
    auto d = s->reserve(usdc_request("bot", 1000)).value();
    REQUIRE(d.approved);
    REQUIRE(s->commit(d.reservation_id, {"0xabc", {}, 200, 5}));
    REQUIRE(s->record_decline(usdc_request("bot", 1), reason::no_supported_offer));
    CHECK_FALSE(s->outbox_enabled().value());
    CHECK(s->outbox_pending().value() == 0);
    CHECK(s->outbox_batch(10).value().empty());
}

TEST_CASE("every new row, status change and fold queues the row once with a newer version", "[store][outbox]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_store(dir.path(), clock, with_outbox(outbox_mode::on));
    CHECK(s->outbox_enabled().value());
    policy tight;
    tight.per_request = 5000;
    REQUIRE(s->add_agent("bot", tight));

    auto paid = s->reserve(usdc_request("bot", 1000)).value();
    auto doubt = s->reserve(usdc_request("bot", 2000)).value();
    REQUIRE(paid.approved);
    REQUIRE(doubt.approved);
    auto first = pending_by_id(*s);
    REQUIRE(first.size() == 2);
    CHECK(first.at(paid.reservation_id).row->state == status::reserved);

    REQUIRE(s->commit(paid.reservation_id, {"0xfeed", {}, 200, 7}));
    REQUIRE(s->mark_in_doubt(doubt.reservation_id, "timeout"));
    auto second = pending_by_id(*s);
    REQUIRE(second.size() == 2);  // one entry per row, however often it changed
    CHECK(second.at(paid.reservation_id).row->state == status::paid);
    CHECK(second.at(paid.reservation_id).row->tx_hash == "0xfeed");
    CHECK(second.at(paid.reservation_id).version > first.at(paid.reservation_id).version);
    CHECK(second.at(doubt.reservation_id).row->state == status::in_doubt);

    // Declines of the same agent, host and reason fold into one row: its count change ships too.
    auto over = s->reserve(usdc_request("bot", 9000)).value();
    REQUIRE_FALSE(over.approved);
    const auto before_fold = pending_by_id(*s).at(over.ledger_id).version;
    REQUIRE(s->outbox_ack(s->outbox_batch(100).value()).value() == 3);
    CHECK(s->outbox_pending().value() == 0);
    clock.advance_ms(1000);
    auto again = s->reserve(usdc_request("bot", 9000)).value();
    REQUIRE(again.ledger_id == over.ledger_id);
    auto folded = pending_by_id(*s);
    REQUIRE(folded.size() == 1);
    CHECK(folded.at(over.ledger_id).row->repeats == 2);
    CHECK(folded.at(over.ledger_id).version > before_fold);
}

TEST_CASE("an acknowledgement keeps a row that changed after its batch was read", "[store][outbox]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_store(dir.path(), clock, with_outbox(outbox_mode::on));
    REQUIRE(s->add_agent("bot", {}));
    auto a = s->reserve(usdc_request("bot", 1000)).value();
    auto b = s->reserve(usdc_request("bot", 1000)).value();
    auto batch = s->outbox_batch(1).value();  // the limit holds, lowest id first
    REQUIRE(batch.size() == 1);
    CHECK(batch[0].row_id == a.reservation_id);
    batch = s->outbox_batch(10).value();
    REQUIRE(batch.size() == 2);
    // Row a settles while the batch is on its way: the old state's acknowledgement must not
    // drop the new state.
    REQUIRE(s->commit(a.reservation_id, {"0x1", {}, 200, 1}));
    CHECK(s->outbox_ack(batch).value() == 1);
    auto left = s->outbox_batch(10).value();
    REQUIRE(left.size() == 1);
    CHECK(left[0].row_id == a.reservation_id);
    CHECK(left[0].row->state == status::paid);
    CHECK(s->outbox_ack(left).value() == 1);
    CHECK(s->outbox_ack(left).value() == 0);  // acknowledging twice is harmless
    (void)b;
}

TEST_CASE("the outbox mode is kept in the store, so every process writing it follows", "[store][outbox]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    std::uint64_t id = 0;
    std::uint64_t version = 0;
    {
        auto proxy = open_store(dir.path(), clock, with_outbox(outbox_mode::on));
        REQUIRE(proxy->add_agent("bot", {}));
        auto d = proxy->reserve(usdc_request("bot", 1000)).value();
        id = d.reservation_id;
        REQUIRE(proxy->mark_in_doubt(id, "timeout"));
        version = proxy->outbox_batch(10).value().at(0).version;
        REQUIRE(proxy->outbox_ack(proxy->outbox_batch(10).value()).value() == 1);
    }
    {
        // A CLI command (as_stored) proving the row paid queues the change for the proxy.
        auto cli = open_store(dir.path(), clock);
        REQUIRE(cli->commit(id, {"0x2", {}, 0, 0}, "authorizationState true"));
        auto e = cli->outbox_batch(10).value();
        REQUIRE(e.size() == 1);
        CHECK(e[0].row->state == status::paid);
        CHECK(e[0].version > version);
        version = e[0].version;
    }
    {
        // Turned off: nothing more is queued, and what waits stays for a later shipper.
        auto off = open_store(dir.path(), clock, with_outbox(outbox_mode::off));
        CHECK_FALSE(off->outbox_enabled().value());
        REQUIRE(off->reserve(usdc_request("bot", 1000)).value().approved);
        CHECK(off->outbox_pending().value() == 1);
    }
    {
        // On again: versions go on from where they were, never back.
        auto on = open_store(dir.path(), clock, with_outbox(outbox_mode::on));
        auto d = on->reserve(usdc_request("bot", 1000)).value();
        auto e = pending_by_id(*on);
        // The CLI's change, the new row, and the off run's reservation, which opening just
        // recovered as in doubt (its process is gone): that change ships too.
        CHECK(e.size() == 3);
        CHECK(e.at(d.reservation_id).version > version);
    }
}

TEST_CASE("prune keeps rows the fleet database has not received yet", "[store][outbox]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = open_store(dir.path(), clock, with_outbox(outbox_mode::on));
    REQUIRE(s->add_agent("bot", {}));
    for (int i = 0; i < 3; ++i) REQUIRE(s->record_decline(usdc_request("bot", 1), reason::no_supported_offer,
                                                          "x" + std::to_string(i)));
    // The fold index makes the three one row; make a second, shipped, row an hour apart.
    auto shipped = s->outbox_batch(10).value();
    REQUIRE(shipped.size() == 1);
    REQUIRE(s->outbox_ack(shipped).value() == 1);
    clock.advance_ms(2 * 60'000);
    REQUIRE(s->record_decline(usdc_request("bot", 1), reason::wallet_locked));
    clock.advance_ms(3 * 3'600'000);
    auto report = s->prune(clock.now->load() - 3'600'000).value();
    CHECK(report.rows == 1);
    CHECK(report.kept_unshipped == 1);
    CHECK(s->list_ledger({}).value().size() == 1);
    CHECK(s->outbox_batch(10).value().at(0).row.has_value());
}

namespace {

/// Reserves and settles forever on an outbox store, 8 threads through group commit.
[[noreturn]] void outbox_writer(const std::filesystem::path& dir, int fd) {
    open_options o;
    o.outbox = outbox_mode::on;
    auto s = store::open(dir, o);
    if (!s) ::_exit(10);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&s, fd] {
            for (std::uint64_t i = 0;; ++i) {
                auto d = (*s)->reserve(usdc_request("victim", 1000 + i % 7));
                if (!d || !d->approved) ::_exit(11);
                if (i % 2 == 0 && !(*s)->commit(d->reservation_id, {"0x" + std::to_string(i), {}, 200, 3})) ::_exit(12);
                const std::uint64_t id = d->reservation_id;
                if (::write(fd, &id, sizeof id) != static_cast<ssize_t>(sizeof id)) ::_exit(13);
            }
        });
    }
    for (auto& t : threads) t.join();
    ::_exit(14);
}

}  // namespace

TEST_CASE("SIGKILL mid-stream: every row on disk is in the outbox at its latest state", "[store][outbox][crash]") {
    purser::test::temp_dir dir;
    const auto path = dir.path() / "store";
    int read_fd = -1;
    const pid_t pid = purser::test::start_crasher(path, outbox_writer, read_fd);
    std::uint64_t id = 0;
    std::size_t seen = 0;
    while (seen < 300 && ::read(read_fd, &id, sizeof id) == static_cast<ssize_t>(sizeof id)) ++seen;
    REQUIRE(::kill(pid, SIGKILL) == 0);
    CHECK(purser::test::wait_exit(pid) == 128 + SIGKILL);
    ::close(read_fd);
    REQUIRE(seen >= 300);

    // Opening recovers the dead process's reservations (in doubt): that change queues too.
    open_options o;
    o.outbox = outbox_mode::on;
    auto s = std::move(store::open(path, o).value());
    const auto rows = s->list_ledger({}).value();
    auto pending = pending_by_id(*s);
    REQUIRE(rows.size() >= 300);
    CHECK(pending.size() == rows.size());
    for (const auto& r : rows) {
        INFO("row " << r.id);
        REQUIRE(pending.count(r.id) == 1);
        CHECK(pending.at(r.id).row->state == r.state);
    }
}
