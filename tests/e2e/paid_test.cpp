// Paid calls through the proxy with plain curl: HTTP and HTTPS (interception), v1 and v2.
#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include <fstream>
#include <random>

#include "world.hpp"

using purser::test::world;
using purser::protocol::uint256;

namespace {

// One paid GET: 200 with the merchant's body, a `paid` ledger row carrying the transaction hash,
// and the payer's balance down by exactly the price (the payee's up by the same).
void expect_paid_call(world& w, const std::string& agent, const std::string& token,
                      const std::string& url) {
    const uint256 price = w.price_of(url);
    const uint256 payer_before = w.balance(w.payer());
    const uint256 payee_before = w.balance(w.env("PURSER_TESTNET_PAYEE"));
    const std::size_t rows_before = w.ledger(agent).size();

    auto reply = w.via_proxy(agent, token, {url});
    INFO(reply.raw);
    REQUIRE(reply.status == 200);
    CHECK_FALSE(reply.body.empty());
    auto paid = reply.header("purser-paid");
    REQUIRE(paid);
    CHECK(reply.header("purser-remaining"));

    auto rows = w.ledger(agent);
    REQUIRE(rows.size() == rows_before + 1);
    const auto& row = rows.back();
    CHECK(row["status"] == "paid");
    CHECK(row["amount"] == price.to_decimal());
    std::string tx = row["tx_hash"];
    CHECK(tx.size() == 66);
    CHECK(paid->find(tx) != std::string::npos);

    CHECK(*payer_before.sub(w.balance(w.payer())) == price);
    CHECK(*w.balance(w.env("PURSER_TESTNET_PAYEE")).sub(payee_before) == price);
}

}  // namespace

TEST_CASE("paid 200 over HTTP and HTTPS from the v2 merchant", "[e2e]") {
    world w;
    auto token = w.add_agent("agent-v2", {"--per-request", "0.10", "--daily", "5"});
    w.start_proxy();
    expect_paid_call(w, "agent-v2", token, w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather");
    expect_paid_call(w, "agent-v2", token, w.env("PURSER_TESTNET_MERCHANT_HTTPS") + "/weather");
}

TEST_CASE("paid 200 over HTTP and HTTPS from the v1 merchant", "[e2e]") {
    world w;
    auto token = w.add_agent("agent-v1", {"--per-request", "0.10"});
    w.start_proxy();
    expect_paid_call(w, "agent-v1", token, w.env("PURSER_TESTNET_MERCHANT_V1_HTTP") + "/weather");
    if (w.env("PURSER_TESTNET_MERCHANT_V1_HTTPS").empty()) return;
    expect_paid_call(w, "agent-v1", token, w.env("PURSER_TESTNET_MERCHANT_V1_HTTPS") + "/weather");
}

TEST_CASE("a 1 MiB POST body reaches the merchant byte-identical on the paid replay", "[e2e]") {
    world w;
    auto token = w.add_agent("poster");
    w.start_proxy();
    std::mt19937 rng(1234);  // seed printed by the name: fixed
    std::string body(1 << 20, '\0');
    for (auto& c : body) c = static_cast<char>(rng() & 0xff);
    auto file = w.dir() / "body.bin";
    std::ofstream(file, std::ios::binary) << body;

    for (const auto& base : {w.env("PURSER_TESTNET_MERCHANT_HTTP"), w.env("PURSER_TESTNET_MERCHANT_HTTPS")}) {
        auto reply = w.via_proxy("poster", token,
                                 {"-X", "POST", "-H", "Content-Type: application/octet-stream",
                                  "--data-binary", "@" + file.string(), base + "/echo"});
        REQUIRE(reply.status == 200);
        CHECK(reply.header("purser-paid"));
        CHECK(reply.body.size() == body.size());
        CHECK(reply.body == body);
    }
    auto rows = w.ledger("poster");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0]["status"] == "paid");
    CHECK(rows[1]["status"] == "paid");
}

TEST_CASE("an SSE route's first event reaches curl before the stream ends", "[e2e]") {
    world w;
    auto token = w.add_agent("streamer");
    w.start_proxy();
    for (const auto& base : {w.env("PURSER_TESTNET_MERCHANT_HTTP"), w.env("PURSER_TESTNET_MERCHANT_HTTPS")}) {
        purser::test::process client(
            {"curl", "-sS", "-N", "-i", "--max-time", "60", "-x", w.proxy_url("streamer", token),
             "--cacert", w.ca_file(), base + "/stream"},
            {}, w.dir() / "logs", "sse-client");
        client.wait_for(std::regex("^data:"));
        // The first event is here: the stream must still be open and more events still to come.
        // A proxy that buffered the response would deliver every event at once, at the end.
        const bool open_at_first_event = client.running();
        const auto seen = client.output();
        const auto events_at_first = purser::test::count_lines(seen, "data:");
        CHECK(open_at_first_event);
        REQUIRE(client.wait_exit(std::chrono::seconds(60)) == 0);
        auto out = client.output();
        CHECK(out.find("Purser-Paid") != std::string::npos);
        const auto events_total = purser::test::count_lines(out, "data:");
        CHECK(events_total >= 3);
        CHECK(events_at_first < events_total);
    }
}
