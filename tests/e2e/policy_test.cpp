// Declines through the proxy: the merchant's 402 reaches the agent with Purser-Decision, nothing
// is signed (no reserved row ever exists) and the payer's balance does not move.
#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <thread>

#include "purser/protocol/amount.hpp"
#include "world.hpp"

using purser::protocol::format_units;
using purser::protocol::uint256;
using purser::test::world;

namespace {

std::string usd(const uint256& atomic) { return format_units(atomic, 6); }

void expect_declined(world& w, const std::string& agent, const std::string& token,
                     const std::string& url, const std::string& reason) {
    const uint256 before = w.balance(w.payer());
    auto reply = w.via_proxy(agent, token, {url});
    INFO(reply.raw);
    CHECK(reply.status == 402);
    auto decision = reply.header("purser-decision");
    REQUIRE(decision);
    CHECK(decision->rfind("declined; reason=" + reason, 0) == 0);
    CHECK_FALSE(reply.header("purser-paid"));
    CHECK(w.balance(w.payer()) == before);
    auto rows = w.ledger(agent);
    REQUIRE_FALSE(rows.empty());
    CHECK(rows.back()["status"] == "declined");
    CHECK(rows.back()["reason"] == reason);
}

}  // namespace

TEST_CASE("over the per-request limit: declined, nothing signed", "[e2e]") {
    world w;
    auto token = w.add_agent("frugal", {"--per-request", "0.10"});
    w.start_proxy();
    expect_declined(w, "frugal", token, w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/premium",
                    "per_request_limit_exceeded");
    expect_declined(w, "frugal", token, w.env("PURSER_TESTNET_MERCHANT_HTTPS") + "/premium",
                    "per_request_limit_exceeded");
}

TEST_CASE("over the daily cap and the allowance: the next call is declined", "[e2e]") {
    world w;
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    const uint256 price = w.price_of(url);
    auto daily = w.add_agent("daily", {"--daily", usd(*price.mul(uint256(2)))});
    auto prepaid = w.add_agent("prepaid", {"--allowance", usd(price)});
    w.start_proxy();

    CHECK(w.via_proxy("daily", daily, {url}).status == 200);
    CHECK(w.via_proxy("daily", daily, {url}).status == 200);
    expect_declined(w, "daily", daily, url, "daily_limit_exceeded");

    auto first = w.via_proxy("prepaid", prepaid, {url});
    CHECK(first.status == 200);
    CHECK(first.header("purser-remaining") == "0 USD");
    expect_declined(w, "prepaid", prepaid, url, "insufficient_allowance");
    // Funding the allowance from the CLI takes effect on the running proxy's next decision.
    REQUIRE(w.purser({"agent", "fund", "prepaid", "--amount", usd(price)}).exit_code == 0);
    CHECK(w.via_proxy("prepaid", prepaid, {url}).status == 200);
}

TEST_CASE("a frozen agent is declined and freezing takes effect without a restart", "[e2e]") {
    world w;
    auto token = w.add_agent("icy");
    w.start_proxy();
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    CHECK(w.via_proxy("icy", token, {url}).status == 200);
    REQUIRE(w.purser({"agent", "freeze", "icy"}).exit_code == 0);
    expect_declined(w, "icy", token, url, "agent_frozen");
    REQUIRE(w.purser({"agent", "unfreeze", "icy"}).exit_code == 0);
    CHECK(w.via_proxy("icy", token, {url}).status == 200);
}

TEST_CASE("no or wrong proxy credentials: 407, and nothing reaches the merchant", "[e2e]") {
    world w;
    auto token = w.add_agent("known");
    w.start_proxy();
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    auto anonymous = purser::test::curl({"-x", "http://" + w.proxy_address(), url});
    CHECK(anonymous.status == 407);
    CHECK(anonymous.header("proxy-authenticate"));
    auto wrong = w.via_proxy("known", std::string(64, '0'), {url});
    CHECK(wrong.status == 407);
    auto https = w.via_proxy("known", "nope", {w.env("PURSER_TESTNET_MERCHANT_HTTPS") + "/weather"});
    CHECK(https.exit_code != 0);  // curl reports the CONNECT's 407 as a failure
    CHECK(https.raw.find("407") != std::string::npos);
    CHECK(w.ledger("known").empty());
}

TEST_CASE("over the in-flight limit: an unsettled payment blocks the next one", "[e2e]") {
    world w;
    // A wallet with no funds: the merchant's facilitator refuses the payment, so the signed
    // authorization stays counted in flight until it expires (signed is spent until proven
    // otherwise), and the in-flight limit declines the next request.
    auto keystore = (w.dir() / "empty-wallet.json").string();
    REQUIRE(w.purser({"wallet", "new", "--keystore", keystore}).exit_code == 0);
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    const uint256 price = w.price_of(url);
    auto token = w.add_agent("broke", {"--in-flight", usd(price)});
    w.start_proxy({"--keystore", keystore});

    auto refused = w.via_proxy("broke", token, {url});
    CHECK(refused.status == 402);
    CHECK(refused.header("purser-decision").value_or("").rfind("failed;", 0) == 0);
    auto rows = w.ledger("broke");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0]["status"] == "failed");
    expect_declined(w, "broke", token, url, "in_flight_limit_exceeded");
}

TEST_CASE("over the rate limit: declined with Retry-After, and not answered at once", "[e2e]") {
    world w;
    auto token = w.add_agent("hasty", {"--rate", "1"});
    w.start_proxy();
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    CHECK(w.via_proxy("hasty", token, {url}).status == 200);
    for (int i = 0; i < 2; ++i) {
        const auto started = std::chrono::steady_clock::now();
        auto reply = w.via_proxy("hasty", token, {url});
        const auto took = std::chrono::steady_clock::now() - started;
        INFO(reply.raw);
        CHECK(reply.status == 402);
        CHECK(reply.header("purser-decision").value_or("").rfind("declined; reason=rate_limited", 0) == 0);
        // The approval leaves the 60 s window within a minute: the agent is told so, in whole
        // seconds, and its retry is held (at most a second) instead of answered at once, so
        // retrying in a loop cannot take the proxy and the merchant from other agents.
        auto retry_after = reply.header("retry-after");
        REQUIRE(retry_after);
        const int seconds = std::stoi(*retry_after);
        CHECK(seconds >= 1);
        CHECK(seconds <= 60);
        CHECK(took >= std::chrono::milliseconds(900));
    }
    auto rows = w.ledger("hasty");
    REQUIRE(rows.size() == 2);  // one paid, the two declines folded into one row
    CHECK(rows.back()["reason"] == "rate_limited");
}
