// IOU channels in the store: a voucher counts the increase of the channel's signed high, a
// deposit is its own uncounted row, and every step moves rows and channel together.
#include "purser/store/channel.hpp"

#include <algorithm>
#include <cctype>

#include <catch2/catch.hpp>

#include "purser/store/store.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

using namespace purser::store;
using purser::protocol::uint256;
using purser::test::manual_clock;
using purser::test::usdc_request;

namespace {

const std::string channel_id = "0x" + std::string(63, '0') + "c";

/// A voucher of cumulative `max` on the test channel, with `deposit` signed along.
reserve_request voucher(const std::string& agent, std::uint64_t max, std::uint64_t deposit = 0,
                        const std::string& id = channel_id) {
    reserve_request q = usdc_request(agent, 0);
    q.scheme = "batch-settlement";
    voucher_request v;
    v.fresh.id = id;
    v.fresh.network = q.network;
    v.fresh.token = q.asset;
    v.fresh.receiver = q.pay_to;
    v.fresh.merchant = q.host;
    v.max_claimable = uint256(max);
    v.deposit = uint256(deposit);
    v.deposit_nonce = "0x" + std::string(64, 'd');
    v.deposit_expires_at = purser::test::t0_ms / 1000 + 300;
    q.voucher = v;
    return q;
}

voucher_settlement accepted(std::uint64_t max, std::uint64_t charged_cumulative,
                            bool deposit_landed = false) {
    voucher_settlement f;
    f.signature = "0xsig" + std::to_string(max);
    f.max_claimable = uint256(max);
    f.charged = uint256(charged_cumulative);
    f.claimed = uint256(0);
    f.deposit_landed = deposit_landed;
    f.deposit_tx = deposit_landed ? "0x" + std::string(64, 'a') : "";
    return f;
}

}  // namespace

TEST_CASE("a voucher counts the rise of the signed high, and a deposit counts against no agent", "[store][iou]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = purser::test::open_store(dir.path(), clock);
    policy p;
    p.daily = 10'000;
    REQUIRE(s->add_agent("a", p));

    // First call: deposit 5000 with a voucher for 1000.
    auto d1 = s->reserve(voucher("a", 1000, 5000)).value();
    REQUIRE(d1.approved);
    CHECK(d1.counted_atomic == uint256(1000));
    REQUIRE(d1.deposit_id == d1.reservation_id + 1);
    CHECK(s->usage("a")->spent_today == 1000);
    auto dep = s->get_row(d1.deposit_id).value();
    CHECK(dep.kind == row_kind::deposit);
    CHECK(dep.amount_atomic == uint256(5000));
    CHECK(dep.counted_usd() == 0);
    auto c = s->get_channel(channel_id).value().value();
    CHECK(c.signed_max == uint256(1000));
    CHECK(c.deposit_pending == uint256(5000));
    CHECK(c.in_flight == d1.reservation_id);

    auto paid = s->commit_voucher(d1.reservation_id, d1.deposit_id, accepted(1000, 1000, true));
    REQUIRE(paid);
    CHECK(paid->state == status::paid);
    c = s->get_channel(channel_id).value().value();
    CHECK(c.deposited == uint256(5000));
    CHECK(c.deposit_pending == uint256(0));
    CHECK(c.charged == uint256(1000));
    CHECK(c.signature == "0xsig1000");
    CHECK(c.in_flight == 0);
    CHECK(c.available() == uint256(4000));
    CHECK(s->get_row(d1.deposit_id)->state == status::paid);

    // The merchant charged less than signed once: the next voucher starts from its cumulative
    // and costs only what rises above the old high.
    auto d2 = s->reserve(voucher("a", 2000)).value();
    REQUIRE(d2.approved);
    REQUIRE(s->commit_voucher(d2.reservation_id, 0, accepted(2000, 1500)));
    auto d3 = s->reserve(voucher("a", 2500)).value();  // 1500 + 1000, high was 2000
    REQUIRE(d3.approved);
    CHECK(d3.counted_atomic == uint256(500));
    CHECK(s->usage("a")->spent_today == 2500);
    CHECK(s->check_counters().value().empty());

    // Beyond the deposit: iou_insufficient, nothing signed, nothing counted.
    REQUIRE(s->commit_voucher(d3.reservation_id, 0, accepted(2500, 2500)));
    auto d4 = s->reserve(voucher("a", 5001)).value();
    CHECK_FALSE(d4.approved);
    CHECK(d4.why == reason::iou_insufficient);
    CHECK(s->get_channel(channel_id).value()->signed_max == uint256(2500));
    CHECK(s->usage("a")->spent_today == 2500);
}

TEST_CASE("a voucher never sent gives its high back, one the merchant may hold keeps it", "[store][iou]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = purser::test::open_store(dir.path(), clock);
    REQUIRE(s->add_agent("a", policy{}));
    auto d1 = s->reserve(voucher("a", 1000, 3000)).value();
    REQUIRE(d1.approved);
    REQUIRE(s->release_voucher(d1.reservation_id, d1.deposit_id, "not sent"));
    auto c = s->get_channel(channel_id).value().value();
    CHECK(c.signed_max == uint256(0));
    CHECK(c.deposit_pending == uint256(0));
    CHECK(s->get_row(d1.deposit_id)->state == status::released);
    CHECK(s->usage("a")->spent_lifetime == 0);

    auto d2 = s->reserve(voucher("a", 1000, 3000)).value();
    REQUIRE(d2.approved);
    auto doubt = s->unsettled_voucher(d2.reservation_id, d2.deposit_id, status::in_doubt,
                                      "timed out", "0xsig", uint256(1000));
    REQUIRE(doubt);
    c = s->get_channel(channel_id).value().value();
    CHECK(c.signed_max == uint256(1000));
    CHECK(c.signature == "0xsig");
    CHECK(s->get_row(d2.deposit_id)->state == status::in_doubt);
    CHECK(s->usage("a")->spent_lifetime == 1000);
    CHECK(s->check_counters().value().empty());
}

TEST_CASE("a quarantined channel takes no voucher, and a resync never passes the signed high", "[store][iou]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = purser::test::open_store(dir.path(), clock);
    REQUIRE(s->add_agent("a", policy{}));
    auto d1 = s->reserve(voucher("a", 1000, 3000)).value();
    REQUIRE(s->commit_voucher(d1.reservation_id, d1.deposit_id, accepted(1000, 1000, true)));
    CHECK_FALSE(s->resync_channel(channel_id, uint256(1001), std::nullopt));
    REQUIRE(s->resync_channel(channel_id, uint256(400), uint256(0)));
    CHECK(s->get_channel(channel_id).value()->charged == uint256(400));

    REQUIRE(s->set_channel_state(channel_id, channel_state::quarantined, "charged above the offer"));
    CHECK(s->get_channel_funds({channel_id}).value().at(0)->state == channel_state::quarantined);
    auto d2 = s->reserve(voucher("a", 2000)).value();
    CHECK_FALSE(d2.approved);
    CHECK(d2.why == reason::iou_quarantined);
    CHECK_FALSE(s->set_channel_state(channel_id, channel_state::open));
    auto listed = s->list_channels().value();
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].note == "charged above the offer");
}

TEST_CASE("deposit caps bound one channel and all escrow together", "[store][iou]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = purser::test::open_store(dir.path(), clock);
    REQUIRE(s->add_agent("a", policy{}));
    auto q = voucher("a", 1000, 6000);
    q.voucher->channel_cap = uint256(5000);
    CHECK(s->reserve(q).value().why == reason::iou_insufficient);
    q.voucher->channel_cap.reset();
    q.voucher->total_cap = uint256(5999);
    CHECK(s->reserve(q).value().why == reason::iou_insufficient);
    q.voucher->total_cap = uint256(6000);
    CHECK(s->reserve(q).value().approved);
}

TEST_CASE("an explicit deposit is reserved within the escrow caps, settles into the channel, and an exit shrinks it", "[store][iou]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = purser::test::open_store(dir.path(), clock);
    channel fresh;
    fresh.id = channel_id;
    fresh.network = "eip155:31337";
    fresh.merchant = "merchant.test";
    ledger_row request;
    request.host = "merchant.test";
    request.scheme = "batch-settlement";
    request.amount_atomic = uint256(5000);
    request.nonce = "0x" + std::string(64, 'e');

    // Past the channel's cap, or all channels' cap: refused, and nothing written.
    auto over_channel = s->reserve_deposit(fresh, request, uint256(4999), std::nullopt);
    REQUIRE_FALSE(over_channel);
    CHECK(over_channel.error().detail.find("max_channel") != std::string::npos);
    CHECK_FALSE(s->reserve_deposit(fresh, request, std::nullopt, uint256(4999)));
    CHECK_FALSE(*s->get_channel(channel_id));

    auto id = s->reserve_deposit(fresh, request, uint256(10'000), uint256(10'000));
    REQUIRE(id);
    auto pending = *s->get_channel(channel_id);
    REQUIRE(pending);
    CHECK(pending->deposit_pending == uint256(5000));
    CHECK(pending->deposited == uint256(0));
    auto row = s->get_row(*id);
    REQUIRE(row);
    CHECK(row->kind == row_kind::deposit);
    CHECK(row->state == status::reserved);
    // Pending deposits count against the caps too: a second 5001 would pass 10,000.
    request.amount_atomic = uint256(5001);
    CHECK_FALSE(s->reserve_deposit(fresh, request, uint256(10'000), std::nullopt));

    // In doubt keeps it pending (and its channel named); paid moves it into deposited.
    REQUIRE(s->settle_deposit(*id, status::in_doubt, "0xtx", "no receipt yet"));
    CHECK((*s->get_channel(channel_id))->deposit_pending == uint256(5000));
    auto paid = s->settle_deposit(*id, status::paid, "0xtx", "");
    REQUIRE(paid);
    CHECK(paid->state == status::paid);
    auto funded = **s->get_channel(channel_id);
    CHECK(funded.deposited == uint256(5000));
    CHECK(funded.deposit_pending == uint256(0));
    CHECK_FALSE(s->settle_deposit(*id, status::released, "", ""));  // settled once only

    // The merchant claimed 1000; an exit asking 4999 back never shrinks the record below that.
    REQUIRE(s->resync_channel(channel_id, uint256(0), uint256(1000)));
    auto exited = s->record_channel_exit(channel_id, uint256(4999), channel_state::closed, "withdrew");
    REQUIRE(exited);
    CHECK(exited->deposited == uint256(1000));
    CHECK(exited->state == channel_state::closed);
    // A closed channel takes no further explicit deposit.
    request.amount_atomic = uint256(1);
    CHECK_FALSE(s->reserve_deposit(fresh, request, std::nullopt, std::nullopt));
}

TEST_CASE("several channels with one merchant carry vouchers at once, each counting its own high under one total cap", "[store][iou]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = purser::test::open_store(dir.path(), clock);
    policy p;
    p.daily = 10'000;
    REQUIRE(s->add_agent("a", p));
    const std::string second = "0x" + std::string(63, '0') + "d";
    auto on = [&](const std::string& id, std::uint64_t max, std::uint64_t deposit, std::uint64_t total) {
        auto q = voucher("a", max, deposit, id);
        q.voucher->total_cap = uint256(total);
        return s->reserve(q).value();
    };

    auto a = on(channel_id, 1000, 3000, 5000);
    REQUIRE(a.approved);
    // The second channel's deposit would take escrow past the total cap: declined, nothing moved.
    auto refused = on(second, 1000, 3000, 5000);
    CHECK_FALSE(refused.approved);
    CHECK(refused.why == reason::iou_insufficient);
    CHECK(s->escrow_held().value() == uint256(3000));
    CHECK_FALSE(s->get_channel(second).value());

    // With room for both, both vouchers are in flight at the same time, each on its own channel.
    auto b = on(second, 1000, 3000, 6000);
    REQUIRE(b.approved);
    auto ca = s->get_channel(channel_id).value().value();
    auto cb = s->get_channel(second).value().value();
    CHECK(ca.in_flight == a.reservation_id);
    CHECK(cb.in_flight == b.reservation_id);
    CHECK(ca.signed_max == uint256(1000));
    CHECK(cb.signed_max == uint256(1000));
    CHECK(s->escrow_held().value() == uint256(6000));
    CHECK(s->usage("a")->spent_today == 2000);

    // One answered, one never sent: each channel moves alone.
    REQUIRE(s->commit_voucher(a.reservation_id, a.deposit_id, accepted(1000, 1000, true)));
    REQUIRE(s->release_voucher(b.reservation_id, b.deposit_id, "not sent"));
    ca = s->get_channel(channel_id).value().value();
    cb = s->get_channel(second).value().value();
    // The group read in one snapshot: each known one, in the order asked, and an unknown one.
    const std::string unknown = "0x" + std::string(63, '0') + "e";
    std::string shouted = channel_id;
    std::transform(shouted.begin() + 2, shouted.end(), shouted.begin() + 2, [](unsigned char ch) {
        return static_cast<char>(std::toupper(ch));
    });
    auto group = s->get_channel_funds({second, unknown, channel_id, shouted}).value();
    REQUIRE(group.size() == 4);
    auto same = [](const std::optional<purser::store::channel_funds>& f, const purser::store::channel& c) {
        REQUIRE(f);
        CHECK(f->deposited == c.deposited);
        CHECK(f->deposit_pending == c.deposit_pending);
        CHECK(f->charged == c.charged);
        CHECK(f->state == c.state);
    };
    same(group[0], cb);
    CHECK_FALSE(group[1]);
    same(group[2], ca);
    same(group[3], ca);  // ids are matched whatever their case
    CHECK(ca.deposited == uint256(3000));
    CHECK(ca.charged == uint256(1000));
    CHECK(ca.in_flight == 0);
    CHECK(cb.signed_max == uint256(0));
    CHECK(cb.deposit_pending == uint256(0));
    CHECK(s->escrow_held().value() == uint256(3000));
    CHECK(s->usage("a")->spent_today == 1000);

    // A quarantine is the channel's own in the store; the payment flow keeps the whole merchant
    // away from vouchers (tests/e2e/iou_test.cpp).
    REQUIRE(s->set_channel_state(channel_id, channel_state::quarantined, "lied"));
    CHECK(on(channel_id, 2000, 0, 6000).why == reason::iou_quarantined);
    CHECK(on(second, 1000, 3000, 6000).approved);
    CHECK(s->check_counters().value().empty());
}

TEST_CASE("commit and commit_voucher say what the agent has left, from their own transaction",
          "[store][iou]") {
    purser::test::temp_dir dir;
    manual_clock clock;
    auto s = purser::test::open_store(dir.path(), clock);
    REQUIRE(s->add_agent("a", {}, 10'000));

    auto exact = s->reserve(usdc_request("a", 3'000)).value();
    REQUIRE(exact.approved);
    settlement facts;
    facts.tx_hash = "0x" + std::string(64, 'b');
    std::optional<agent_usage> left;
    REQUIRE(s->commit(exact.reservation_id, facts, {}, &left));
    REQUIRE(left);
    CHECK(left->allowance == 7'000u);
    CHECK(left->spent_today == 3'000);
    CHECK(left->in_flight == 0);

    auto v = s->reserve(voucher("a", 1'000, 5'000)).value();
    REQUIRE(v.approved);
    left.reset();
    REQUIRE(s->commit_voucher(v.reservation_id, v.deposit_id, accepted(1'000, 1'000, true), {}, &left));
    REQUIRE(left);
    CHECK(left->allowance == 6'000u);
    CHECK(left->spent_today == 4'000);
    // The same figures a later read gives: nothing else ran in between.
    const auto read = s->usage("a").value();
    CHECK(read.allowance == left->allowance);
    CHECK(read.spent_today == left->spent_today);
    CHECK(read.in_flight == left->in_flight);

    // A commit that is refused leaves `left` as it was.
    left.reset();
    CHECK_FALSE(s->commit(exact.reservation_id, facts, {}, &left));
    CHECK_FALSE(left);
}
