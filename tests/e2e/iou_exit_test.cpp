// The wallet's own escrow transactions end to end: `purser iou deposit` funds a channel with the
// merchant before any call, vouchers draw on it through the real proxy, and `purser iou
// withdraw` takes the rest back through the timed exit: started, refused before the delay,
// finalized after it, with every unit accounted for on chain.
#include <catch2/catch.hpp>

#include <fstream>

#include "process.hpp"
#include "test_support.hpp"
#include "world.hpp"

using purser::protocol::uint256;
using purser::test::world;

namespace {

/// Moves the testnet chain's clock (its testnet_increaseTime RPC).
void advance_chain(const world& w, std::uint64_t seconds) {
    nlohmann::json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "testnet_increaseTime"}, {"params", {seconds}}};
    auto r = purser::test::run({"curl", "-sS", "--noproxy", "*", "-H", "Content-Type: application/json", "--data",
                                req.dump(), w.env("PURSER_TESTNET_RPC")});
    REQUIRE(r.out.find("\"result\"") != std::string::npos);
}

nlohmann::json channel_of(const world& w, const std::string& url) {
    auto listed = w.purser({"iou", "balance", "--merchant", url, "--format", "json"});
    INFO(listed.out + listed.err);
    REQUIRE(listed.exit_code == 0);
    return nlohmann::json::parse(listed.out);
}

}  // namespace

TEST_CASE("iou deposit funds a channel that vouchers draw on, and iou withdraw takes the rest back after the delay", "[e2e][iou]") {
    world w;
    auto token = w.add_agent("exit", {"--per-request", "0.01", "--daily", "1"});
    // The proxy never deposits by itself here: the channel is funded explicitly.
    const auto config = w.dir() / "exit-config.json";
    std::ofstream(config) << R"({"payment": {"iou": {"deposit": "0", "max_channel": "0.05"}}})";
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/metered";
    const std::string rpc = w.env("PURSER_TESTNET_RPC");
    const std::string keystore = w.env("PURSER_TESTNET_KEYSTORE");
    const uint256 start = w.balance(w.payer());

    // Over the configured cap: refused before anything is signed.
    auto too_much = w.purser({"iou", "deposit", "--merchant", url, "--amount", "0.06", "--rpc", rpc,
                              "--keystore", keystore, "--config", config.string()});
    CHECK(too_much.exit_code != 0);
    CHECK(too_much.err.find("max_channel") != std::string::npos);
    CHECK(w.balance(w.payer()) == start);

    auto deposited = w.purser({"iou", "deposit", "--merchant", url, "--amount", "0.05", "--rpc", rpc,
                               "--keystore", keystore, "--config", config.string()});
    INFO(deposited.out + deposited.err);
    REQUIRE(deposited.exit_code == 0);
    CHECK(deposited.out.find("deposited 0.05") != std::string::npos);
    CHECK(*start.sub(w.balance(w.payer())) == uint256(50'000));
    auto ch = channel_of(w, url);
    const std::string channel = ch["channel"];
    CHECK(ch["deposited"] == "50000");
    CHECK(ch["deposit_pending"] == "0");
    CHECK(w.escrow(channel).first == uint256(50'000));
    // The ledger has the deposit as its own row, counted against no agent.
    auto rows = w.purser({"ledger", "--format", "json"});
    CHECK(rows.out.find("\"kind\":\"deposit\"") != std::string::npos);

    // Ten calls by voucher through the proxy, with no deposit of its own.
    w.start_proxy({"--config", config.string()});
    for (int i = 0; i < 10; ++i) {
        auto reply = w.via_proxy("exit", token, {url});
        INFO(reply.raw);
        REQUIRE(reply.status == 200);
    }
    CHECK(*start.sub(w.balance(w.payer())) == uint256(50'000));
    CHECK(channel_of(w, url)["signed_max"] == "5000");

    // The merchant claims what it charged, then the payer starts the timed exit.
    auto settled = w.purser({"testnet", "settle", "--dir", (w.dir() / "testnet").string()});
    REQUIRE(settled.exit_code == 0);
    auto started = w.purser({"iou", "withdraw", "--merchant", url, "--rpc", rpc, "--keystore", keystore});
    INFO(started.out + started.err);
    REQUIRE(started.exit_code == 0);
    CHECK(started.out.find("withdrawal of 0.045 started") != std::string::npos);
    CHECK(channel_of(w, url)["state"] == "withdrawing");

    // No voucher is signed on a channel being withdrawn from: the merchant's other offer
    // (exact) pays the call instead.
    const uint256 before_exact = w.balance(w.payer());
    auto by_exact = w.via_proxy("exit", token, {url});
    INFO(by_exact.raw);
    REQUIRE(by_exact.status == 200);
    auto paid = by_exact.header("purser-paid");
    REQUIRE(paid);
    CHECK(paid->find("voucher:") == std::string::npos);
    const uint256 exact_price = *before_exact.sub(w.balance(w.payer()));
    CHECK(exact_price == uint256(500));
    CHECK(channel_of(w, url)["signed_max"] == "5000");

    // Before the delay the escrow keeps the money.
    auto early = w.purser({"iou", "withdraw", "--merchant", url, "--rpc", rpc, "--keystore", keystore});
    INFO(early.out + early.err);
    REQUIRE(early.exit_code == 0);
    CHECK(early.out.find("can be finalized in") != std::string::npos);
    CHECK(w.escrow(channel).first == uint256(50'000));

    advance_chain(w, 901);
    auto finalized = w.purser({"iou", "withdraw", "--merchant", url, "--rpc", rpc, "--keystore", keystore});
    INFO(finalized.out + finalized.err);
    REQUIRE(finalized.exit_code == 0);
    CHECK(finalized.out.find("withdrew 0.045") != std::string::npos);
    // Every unit accounted for: the wallet is down exactly the ten vouchers the merchant
    // claimed and the one exact payment.
    CHECK(*start.sub(w.balance(w.payer())) == uint256(5'000 + 500));
    auto after = channel_of(w, url);
    CHECK(after["state"] == "closed");
    CHECK(after["deposited"] == "5000");
    CHECK(after["available"] == "0");
}

TEST_CASE("iou withdraw leaves a channel the store has lost, from what the escrow holds", "[e2e][iou]") {
    world w;
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/metered";
    const std::string rpc = w.env("PURSER_TESTNET_RPC");
    const std::string keystore = w.env("PURSER_TESTNET_KEYSTORE");
    auto deposited = w.purser({"iou", "deposit", "--merchant", url, "--amount", "0.02", "--rpc", rpc,
                               "--keystore", keystore});
    INFO(deposited.out + deposited.err);
    REQUIRE(deposited.exit_code == 0);
    // Another, empty store: it knows nothing of the channel.
    const auto amnesiac = w.dir() / "empty-store.json";
    std::ofstream(amnesiac) << R"({"store_dir": ")" << (w.dir() / "empty-store").string() << R"("})";
    auto started = w.purser({"iou", "withdraw", "--merchant", url, "--rpc", rpc, "--keystore", keystore,
                             "--config", amnesiac.string()});
    INFO(started.out + started.err);
    REQUIRE(started.exit_code == 0);
    CHECK(started.out.find("withdrawal of 0.02 started") != std::string::npos);
    auto listed = w.purser({"iou", "balance", "--format", "json", "--config", amnesiac.string()});
    REQUIRE(listed.exit_code == 0);
    auto ch = nlohmann::json::parse(listed.out);
    CHECK(ch["state"] == "withdrawing");
    CHECK(ch["deposited"] == "20000");
}

TEST_CASE("iou withdraw without --channel starts and then finalizes the exit of every channel with the merchant", "[e2e][iou]") {
    world w;
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/metered";
    const std::string rpc = w.env("PURSER_TESTNET_RPC");
    const std::string keystore = w.env("PURSER_TESTNET_KEYSTORE");
    const auto two = w.dir() / "two-channels.json";
    std::ofstream(two) << R"({"payment": {"iou": {"channels": 2}}})";
    const uint256 start = w.balance(w.payer());
    for (const char* index : {"0", "1"}) {
        auto deposited = w.purser({"iou", "deposit", "--merchant", url, "--amount", "0.02", "--rpc", rpc, "--keystore",
                                   keystore, "--config", two.string(), "--channel", index});
        INFO(deposited.out + deposited.err);
        REQUIRE(deposited.exit_code == 0);
    }
    CHECK(*start.sub(w.balance(w.payer())) == uint256(40'000));
    // A store that lost both channels, with the same payment.iou.channels: each is found on chain.
    const auto amnesiac = w.dir() / "empty-store-two.json";
    std::ofstream(amnesiac) << R"({"store_dir": ")" << (w.dir() / "empty-store-two").string()
                            << R"(", "payment": {"iou": {"channels": 2}}})";
    auto count = [](const std::string& text, const std::string& what) {
        std::size_t n = 0;
        for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
        return n;
    };
    auto started = w.purser({"iou", "withdraw", "--merchant", url, "--rpc", rpc, "--keystore", keystore, "--config",
                             amnesiac.string()});
    INFO(started.out + started.err);
    REQUIRE(started.exit_code == 0);
    CHECK(count(started.out, "withdrawal of 0.02 started") == 2);

    advance_chain(w, 901);
    auto finalized = w.purser({"iou", "withdraw", "--merchant", url, "--rpc", rpc, "--keystore", keystore, "--config",
                               amnesiac.string()});
    INFO(finalized.out + finalized.err);
    REQUIRE(finalized.exit_code == 0);
    CHECK(count(finalized.out, "withdrew 0.02") == 2);
    CHECK(w.balance(w.payer()) == start);
}

TEST_CASE("iou refund counts what the escrow returned when the merchant's refund receipt lies", "[e2e][iou][hostile]") {
    const std::string lie = GENERATE(std::string("iou-refund-overstated"), std::string("iou-refund-understated"));
    world w;
    auto token = w.add_agent("refunded", {"--per-request", "0.01", "--daily", "1"});
    const auto config = w.dir() / "refund-config.json";
    std::ofstream(config) << R"({"payment": {"iou": {"deposit": "0.05"}}})";
    const std::string url = w.env("PURSER_TESTNET_HOSTILE_HTTP") + "/lie/" + lie;
    const uint256 start = w.balance(w.payer());
    w.start_proxy({"--config", config.string()});
    for (int i = 0; i < 3; ++i) {
        auto reply = w.via_proxy("refunded", token, {url});
        INFO(reply.raw);
        REQUIRE(reply.status == 200);
    }
    CHECK(*start.sub(w.balance(w.payer())) == uint256(50'000));

    // The receipt says twice what came back, or 1 unit; the escrow says 0.047.
    auto refunded = w.purser({"iou", "refund", "--merchant", url, "--rpc", w.env("PURSER_TESTNET_RPC"), "--keystore",
                              w.env("PURSER_TESTNET_KEYSTORE"), "--config", config.string()});
    INFO(refunded.out + refunded.err);
    REQUIRE(refunded.exit_code == 0);
    CHECK(refunded.out.find("refunded 0.047 ") != std::string::npos);
    CHECK(refunded.out.find("amount from the escrow on chain") != std::string::npos);
    CHECK(*start.sub(w.balance(w.payer())) == uint256(3'000));
    auto ch = channel_of(w, url);
    CHECK(ch["state"] == "closed");
    CHECK(ch["deposited"] == "3000");
    CHECK(ch["available"] == "0");
}

TEST_CASE("the testnet chain refuses raw transactions that are not well-formed escrow calls for its chain", "[e2e][iou]") {
    world w;
    auto rpc_call = [&](const std::string& method, const nlohmann::json& params) {
        nlohmann::json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
        auto r = purser::test::run({"curl", "-sS", "--noproxy", "*", "-H", "Content-Type: application/json", "--data",
                                    req.dump(), w.env("PURSER_TESTNET_RPC")});
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        REQUIRE_FALSE(j.is_discarded());
        return j;
    };
    const auto txs = purser::test::load_vectors("eip1559_transactions.json")["transactions"];
    auto nonce = [&] { return rpc_call("eth_getTransactionCount", {w.payer(), "pending"})["result"]; };
    REQUIRE(nonce() == "0x0");

    // Not RLP; a valid transaction signed for another chain (viem's vector for 84532).
    CHECK(rpc_call("eth_sendRawTransaction", {"0x02ff"})["error"].is_object());
    auto other_chain = rpc_call("eth_sendRawTransaction", nlohmann::json::array({txs[1]["raw"]}));
    REQUIRE(other_chain["error"].is_object());
    CHECK(other_chain["error"]["message"].get<std::string>().find("chain 84532") != std::string::npos);
    CHECK(nonce() == "0x0");

    // viem's vector for this chain, nonce 0, to the escrow with no call data: accepted as a
    // transaction, reverted as a call, and its nonce used, as on Ethereum.
    auto empty_call = rpc_call("eth_sendRawTransaction", nlohmann::json::array({txs[0]["raw"]}));
    INFO(empty_call.dump());
    REQUIRE(empty_call["result"] == txs[0]["hash"]);
    auto receipt = rpc_call("eth_getTransactionReceipt", nlohmann::json::array({txs[0]["hash"]}));
    CHECK(receipt["result"]["status"] == "0x0");
    CHECK(nonce() == "0x1");
    // The same bytes again are refused: known hash, and a used nonce.
    CHECK(rpc_call("eth_sendRawTransaction", nlohmann::json::array({txs[0]["raw"]}))["error"].is_object());
    CHECK(nonce() == "0x1");
}
