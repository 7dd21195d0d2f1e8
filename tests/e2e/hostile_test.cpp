// The hostile merchant (testnet/README.md, "Hostile merchant") through the real proxy binary:
// every route settles for real through the facilitator and then lies in one way. For each lie
// the agent's daily cap must hold ON CHAIN (what left the payer's wallet), the store must count
// at least what moved (`agent show` agrees with the chain), and nothing the merchant forged may
// reach the agent.
#include <signal.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "purser/protocol/uint256.hpp"
#include "purser/store/store.hpp"
#include "world.hpp"

using namespace purser;
using namespace purser::test;
using protocol::uint256;

namespace {

constexpr std::uint64_t daily_cap_atomic = 250'000;  // $0.25 of a 6-decimal USD token
const std::vector<std::string> capped = {"--per-request", "0.20", "--daily", "0.25"};

/// A proxy whose prover asks the testnet chain often, with a short skew margin, so a test can
/// watch rows past their validBefore being settled by proof.
void start_proving_proxy(world& w, std::uint64_t interval_ms = 300,
                         const std::vector<std::string>& extra = {}) {
    const auto config = w.dir() / "proxy.json";
    // A 10 s authorization window keeps the wait for expiry short.
    std::ofstream(config) << R"({"payment": {"proof_interval_ms": )" << interval_ms
                          << R"(, "skew_margin_seconds": 1, "max_window_seconds": 10}})";
    std::vector<std::string> args{"--config", config.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    w.start_proxy(args);
}

std::unique_ptr<store::store> open_store(const world& w) {
    auto s = store::store::open(w.dir() / "home" / "store");
    REQUIRE(s);
    return std::move(*s);
}

store::usd_micros counted_today(const world& w, const std::string& agent) {
    return open_store(w)->usage(agent)->spent_today;
}

struct lie_result {
    uint256 moved;                  ///< What left the payer's wallet on chain.
    std::vector<http_reply> replies;
};

/// Calls the hostile route `path` `calls` times through the proxy as `agent`.
lie_result tell(world& w, const std::string& agent, const std::string& token,
                const std::string& path, int calls, const std::vector<std::string>& curl_args = {}) {
    const uint256 before = w.balance(w.payer());
    lie_result out;
    for (int i = 0; i < calls; ++i) {
        std::vector<std::string> args = curl_args;
        args.push_back(w.env("PURSER_TESTNET_HOSTILE_HTTP") + path);
        out.replies.push_back(w.via_proxy(agent, token, args));
    }
    out.moved = *before.sub(w.balance(w.payer()));
    return out;
}

/// The cap holds on chain and the store counts at least what moved.
void expect_cap_held(const world& w, const std::string& agent, const lie_result& r) {
    INFO("moved on chain: " << r.moved.to_decimal());
    CHECK(r.moved <= uint256(daily_cap_atomic));
    CHECK(uint256(counted_today(w, agent)) >= r.moved);
}

bool any_forged(const http_reply& r) {
    for (const auto& [name, value] : r.headers) {
        if (value.find("forged") != std::string::npos) return true;
        if (value.find('\x1b') != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("hostile: an under-reported receipt amount cannot stretch the daily cap", "[e2e][hostile]") {
    world w;
    auto token = w.add_agent("bot", capped);
    w.start_proxy();
    auto r = tell(w, "bot", token, "/lie/under-report", 4);
    expect_cap_held(w, "bot", r);
    CHECK(r.moved == uint256(200'000));  // two paid at 0.10; the third would pass 0.25
    CHECK(r.replies[0].status == 200);
    CHECK(r.replies[2].header("purser-decision").value_or("").find("daily_limit_exceeded") !=
          std::string::npos);
    CHECK(counted_today(w, "bot") == 200'000);
    for (const auto& row : w.ledger("bot")) {
        if (row["status"] == "paid") {
            CHECK(row["charged"] == "100000");
            CHECK(row["detail"].get<std::string>().find("receipt amount 1 but") != std::string::npos);
        }
    }
}

TEST_CASE("hostile: settled then 500 stays counted past expiry and becomes paid on proof", "[e2e][hostile]") {
    world w;
    auto token = w.add_agent("bot", capped);
    start_proving_proxy(w);
    auto first = tell(w, "bot", token, "/lie/settle-then-500", 3);
    CHECK(first.replies[0].status == 500);
    CHECK(first.replies[0].header("purser-decision").value_or("").rfind("in_doubt; ledger=", 0) == 0);
    expect_cap_held(w, "bot", first);

    // Past the 8 s window and the 1 s skew margin the proxy asks the chain: both settled.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
    std::size_t paid = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        paid = 0;
        for (const auto& row : w.ledger("bot")) paid += row["status"] == "paid" ? 1 : 0;
        if (paid == 2) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    CHECK(paid == 2);
    // Expiry gave nothing back: more calls are still declined, and the chain agrees.
    auto later = tell(w, "bot", token, "/lie/settle-then-500", 2);
    CHECK(later.moved == uint256(0));
    CHECK(*first.moved.add(later.moved) <= uint256(daily_cap_atomic));
    CHECK(uint256(counted_today(w, "bot")) == first.moved);
}

TEST_CASE("hostile: settled then dropped or stalled answers carry Purser-Decision and stay counted", "[e2e][hostile]") {
    world w;
    auto token = w.add_agent("bot", capped);
    w.start_proxy({"--upstream-timeout-ms", "2000"});
    auto dropped = tell(w, "bot", token, "/lie/settle-then-drop", 1);
    CHECK(dropped.replies[0].status == 502);
    CHECK(dropped.replies[0].header("purser-decision").value_or("").rfind("in_doubt; ledger=", 0) == 0);
    auto stalled = tell(w, "bot", token, "/lie/settle-then-stall", 1);
    CHECK(stalled.replies[0].status == 504);
    CHECK(stalled.replies[0].header("purser-decision").value_or("").rfind("in_doubt; ledger=", 0) == 0);
    auto more = tell(w, "bot", token, "/lie/settle-then-drop", 2);
    lie_result all{*dropped.moved.add(*stalled.moved.add(more.moved)), {}};
    expect_cap_held(w, "bot", all);
}

TEST_CASE("hostile: CR LF and escape codes in a receipt reach neither the agent nor the terminal", "[e2e][hostile]") {
    world w;
    auto token = w.add_agent("bot", capped);
    w.start_proxy();
    // Two requests on one keep-alive connection: a split response would answer the second.
    const std::string base = w.env("PURSER_TESTNET_HOSTILE_HTTP");
    auto both = curl({"-x", w.proxy_url("bot", token), base + "/lie/crlf-receipt",
                      base + "/lie/escape-receipt"});
    INFO(both.raw);
    CHECK(both.raw.find("forged") == std::string::npos);
    CHECK(both.raw.find('\x1b') == std::string::npos);
    // Exactly two responses (a body has no trailing newline, so count occurrences, not lines).
    auto occurrences = [&](const std::string& needle) {
        std::size_t n = 0;
        for (auto p = both.raw.find(needle); p != std::string::npos; p = both.raw.find(needle, p + 1)) ++n;
        return n;
    };
    CHECK(occurrences("HTTP/1.1 ") == 2);
    CHECK(occurrences("Purser-Paid: 0.1 USDC eip155:31337 unverified") == 2);
    auto table = w.purser({"ledger"});
    CHECK(table.out.find('\x1b') == std::string::npos);
    auto csv = w.purser({"ledger", "--format", "csv"});
    CHECK(csv.out.find('\x1b') == std::string::npos);
    CHECK(counted_today(w, "bot") == 200'000);
}

TEST_CASE("hostile: forged Purser headers never reach the agent", "[e2e][hostile]") {
    world w;
    auto token = w.add_agent("bot", capped);
    w.start_proxy();
    auto r = tell(w, "bot", token, "/lie/forged-headers", 3);
    for (const auto& reply : r.replies) {
        INFO(reply.raw);
        CHECK_FALSE(any_forged(reply));
    }
    CHECK(r.replies[0].status == 200);
    CHECK(r.replies[0].header("purser-paid").value_or("").size() > 66);
    CHECK(r.replies[2].status == 402);  // declined: and the decline header is ours
    CHECK(r.replies[2].header("purser-decision").value_or("").find("daily_limit_exceeded") !=
          std::string::npos);
    expect_cap_held(w, "bot", r);
}

TEST_CASE("hostile: 30 offers pay the genuine one and an overcharging receipt is ignored", "[e2e][hostile]") {
    world w;
    auto token = w.add_agent("bot", capped);
    w.start_proxy();
    auto many = tell(w, "bot", token, "/lie/many-offers", 1);
    CHECK(many.replies[0].status == 200);
    CHECK(many.moved == uint256(100'000));
    auto over = tell(w, "bot", token, "/lie/overcharge-receipt", 2);
    CHECK(over.replies[0].status == 200);
    CHECK(over.replies[1].status == 402);
    lie_result all{*many.moved.add(over.moved), {}};
    expect_cap_held(w, "bot", all);
    CHECK(counted_today(w, "bot") == 200'000);  // the receipt's 100 USDC was never counted
}

TEST_CASE("hostile: a second 402 after settling and a payTo switch are never paid twice", "[e2e][hostile]") {
    world w;
    auto token = w.add_agent("bot", capped);
    w.start_proxy();
    auto again = tell(w, "bot", token, "/lie/second-402", 1);
    CHECK(again.replies[0].status == 402);
    CHECK(again.replies[0].header("purser-decision").value_or("").rfind("failed;", 0) == 0);
    CHECK(again.moved == uint256(100'000));  // one payment, not a second at the new price
    auto payto = tell(w, "bot", token, "/lie/payto-switch", 1);
    CHECK(payto.replies[0].status == 402);
    CHECK(payto.moved == uint256(0));
    // Both stay counted (signed is spent until proven otherwise): the cap is used up.
    auto after = tell(w, "bot", token, "/lie/second-402", 1);
    CHECK(after.moved == uint256(0));
    lie_result all{*again.moved.add(payto.moved), {}};
    expect_cap_held(w, "bot", all);
}

TEST_CASE("hostile: a proxy killed mid-payment keeps the row counted until the chain is asked", "[e2e][hostile]") {
    world w;
    auto token = w.add_agent("bot", capped);
    // No proving in the first life: the interval is longer than the test.
    start_proving_proxy(w, 3'600'000, {"--upstream-timeout-ms", "60000"});
    const uint256 before = w.balance(w.payer());
    // The merchant settles, then stalls; the proxy dies while it waits.
    auto agent = std::thread([&] {
        (void)w.via_proxy("bot", token, {w.env("PURSER_TESTNET_HOSTILE_HTTP") + "/lie/settle-then-stall"});
    });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (w.balance(w.payer()) == before && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(*before.sub(w.balance(w.payer())) == uint256(100'000));
    CHECK(w.kill_proxy() == 128 + SIGKILL);
    agent.join();

    // Restarted without a prover: the row is in doubt and counted, even past its validBefore
    // (10 s window plus the 1 s margin).
    start_proving_proxy(w, 3'600'000);
    std::this_thread::sleep_for(std::chrono::seconds(12));
    auto rows = w.ledger("bot");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0]["status"] == "in_doubt");
    CHECK(counted_today(w, "bot") == 100'000);
    CHECK(w.stop_proxy() == 0);

    // With the prover the chain is asked: the nonce was used, so the row becomes paid.
    start_proving_proxy(w, 300);
    std::string status;
    for (int i = 0; i < 60 && status != "paid"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        status = w.ledger("bot").at(0)["status"];
    }
    CHECK(status == "paid");
    CHECK(counted_today(w, "bot") == 100'000);
}
