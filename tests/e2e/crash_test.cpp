// A crash in the middle of paying: SIGKILL the proxy while 64 agents' paid requests are in
// flight. Every signature that left the process must have a durable ledger row (reserve before
// sign), so after the crash `ledger reconcile` brings the ledger to exactly what moved on chain:
// the payer's on-chain loss equals what the ledger counts as paid, row for row.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "world.hpp"

using namespace purser;
using namespace purser::test;

TEST_CASE("SIGKILL amid 64 concurrent paid requests: after reconcile the ledger is what moved on chain",
          "[e2e][crash]") {
    world w;
    const auto token = w.add_agent("crowd");
    w.start_proxy();
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    const auto price = w.price_of(url);
    const auto before = w.balance(w.payer());

    std::vector<std::thread> agents;
    for (int i = 0; i < 64; ++i) {
        agents.emplace_back([&w, &token, &url] { (void)w.via_proxy("crowd", token, {url}); });
    }
    // Kill as soon as money has started to move: some payments settled, others are signed and
    // on the wire, others still being decided.
    for (int i = 0; i < 600 && w.balance(w.payer()) == before; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    w.kill_proxy();
    for (auto& t : agents) t.join();

    const auto after = w.settled_balance(w.payer(), std::chrono::seconds(2));
    const auto moved = *before.sub(after);
    REQUIRE(moved != protocol::uint256(0));

    auto reconciled = w.purser({"ledger", "reconcile", "--rpc", w.env("PURSER_TESTNET_RPC"), "--keystore",
                                w.env("PURSER_TESTNET_KEYSTORE")});
    INFO(reconciled.out << reconciled.err);
    REQUIRE(reconciled.exit_code == 0);

    protocol::uint256 paid_sum;
    std::size_t paid_rows = 0, open_rows = 0;
    for (const auto& row : w.ledger("crowd")) {
        const auto status = row.at("status").get<std::string>();
        if (status == "paid") {
            ++paid_rows;
            paid_sum = *paid_sum.add(*protocol::uint256::from_decimal(row.at("amount").get<std::string>()));
        } else if (status == "reserved") {
            FAIL("a reservation of the killed proxy was not recovered as in_doubt");
        } else if (status == "in_doubt" || status == "failed") {
            ++open_rows;  // signed or not, its nonce is unused on chain: it stays counted
        }
    }
    INFO(paid_rows << " paid rows, " << open_rows << " still open, moved " << moved.to_decimal());
    // Every transfer on chain has its paid row, and no paid row lacks a transfer.
    CHECK(paid_sum == moved);
    CHECK(*price.mul(protocol::uint256(paid_rows)) == moved);
}
