// IOU payments end to end: the real proxy binary pays the testnet merchant's batch-settlement
// offer with one deposit and cumulative vouchers, counts what it signed, and stops at the deposit.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <regex>
#include <future>
#include <vector>

#include <lmdb.h>

#include "world.hpp"

using purser::protocol::uint256;
using purser::test::world;

namespace {

/// A proxy configuration that funds channels with `deposit` and lets one channel hold no more.
std::filesystem::path iou_config(const world& w, const std::string& deposit,
                                 const std::string& max_channel) {
    const auto path = w.dir() / "iou-config.json";
    std::ofstream(path) << R"({"payment": {"iou": {"deposit": ")" << deposit
                        << R"(", "max_channel": ")" << max_channel << R"("}}})";
    return path;
}

}  // namespace

TEST_CASE("one deposit pays a thousand calls by voucher, and the next is declined iou_insufficient", "[e2e][iou]") {
    world w;
    auto token = w.add_agent("meter", {"--per-request", "0.01", "--daily", "5"});
    w.start_proxy({"--config", iou_config(w, "0.50", "0.50").string()});
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/metered";
    const uint256 payer_before = w.balance(w.payer());

    auto first = w.via_proxy("meter", token, {url});
    INFO(first.raw);
    REQUIRE(first.status == 200);
    auto paid = first.header("purser-paid");
    REQUIRE(paid);
    CHECK(paid->find("voucher:") != std::string::npos);
    // What the agent has left, from the voucher's commit (no prepaid allowance: unlimited).
    CHECK(first.header("purser-remaining") == std::optional<std::string>("unlimited"));
    // The deposit left the wallet for escrow, and nothing else did.
    CHECK(*payer_before.sub(w.balance(w.payer())) == uint256(500'000));

    auto rows = w.ledger("meter");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0]["kind"] == "payment");
    CHECK(rows[0]["scheme"] == "batch-settlement");
    CHECK(rows[0]["amount"] == "500");
    CHECK(rows[0]["status"] == "paid");
    CHECK(rows[1]["kind"] == "deposit");
    CHECK(rows[1]["amount"] == "500000");
    CHECK(rows[1]["status"] == "paid");
    const std::string channel = rows[0]["nonce"];
    auto [balance, claimed] = w.escrow(channel);
    CHECK(balance == uint256(500'000));
    CHECK(claimed == uint256(0));

    // 999 more calls, from four agents' connections at once: one voucher per channel at a time.
    std::vector<std::future<int>> workers;
    for (int k = 0; k < 4; ++k) {
        workers.push_back(std::async(std::launch::async, [&, k] {
            int ok = 0;
            for (int i = k; i < 999; i += 4) {
                auto reply = w.via_proxy("meter", token, {url});
                if (reply.status == 200 && reply.header("purser-paid")) ++ok;
            }
            return ok;
        }));
    }
    int ok = 0;
    for (auto& f : workers) ok += f.get();
    CHECK(ok == 999);
    CHECK(*payer_before.sub(w.balance(w.payer())) == uint256(500'000));

    // The deposit is used up: the 1,001st call would need a deposit past max_channel.
    auto over = w.via_proxy("meter", token, {url});
    CHECK(over.status == 402);
    auto decision = over.header("purser-decision");
    REQUIRE(decision);
    CHECK(decision->find("reason=iou_insufficient") != std::string::npos);

    // The merchant claims and settles: its gain on chain is exactly the sum of the charges.
    const uint256 payee_before = w.balance(w.env("PURSER_TESTNET_PAYEE"));
    auto settled = w.purser({"testnet", "settle", "--dir", (w.dir() / "testnet").string()});
    INFO(settled.out + settled.err);
    REQUIRE(settled.exit_code == 0);
    CHECK(*w.balance(w.env("PURSER_TESTNET_PAYEE")).sub(payee_before) == uint256(500'000));
    CHECK(w.escrow(channel).second == uint256(500'000));

    // The channel as `purser iou balance` shows it: all of the deposit charged, nothing left.
    auto listed = w.purser({"iou", "balance", "--merchant", url, "--format", "json"});
    INFO(listed.out + listed.err);
    REQUIRE(listed.exit_code == 0);
    auto ch = nlohmann::json::parse(listed.out);
    CHECK(ch["channel"] == channel);
    CHECK(ch["state"] == "open");
    CHECK(ch["deposited"] == "500000");
    CHECK(ch["charged"] == "500000");
    CHECK(ch["signed_max"] == "500000");
    CHECK(ch["available"] == "0");
    auto table = w.purser({"iou", "balance"});
    CHECK(table.out.find("0.5") != std::string::npos);

    // Counted: exactly what was signed, 1,000 x 0.0005.
    auto shown = w.purser({"agent", "show", "meter"});
    INFO(shown.out);
    CHECK(std::regex_search(shown.out, std::regex(R"(spent today: +\$0\.50?\n)")));
}

TEST_CASE("voucher payments keep the caps under 100 concurrent calls, and survive a proxy restart", "[e2e][iou]") {
    world w;
    // 0.0005 a call: the daily cap allows exactly 20 calls.
    auto token = w.add_agent("burst", {"--per-request", "0.01", "--daily", "0.01"});
    // max_channel above 1.15 tokens: amounts of many units are accepted (they once overflowed
    // the check at 77 decimals).
    const auto config = iou_config(w, "0.05", "500");
    w.start_proxy({"--config", config.string()});
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/metered";
    const uint256 payer_start = w.balance(w.payer());

    std::vector<std::future<unsigned>> calls;
    for (int i = 0; i < 100; ++i) {
        calls.push_back(std::async(std::launch::async, [&] {
            return w.via_proxy("burst", token, {url}).status;
        }));
    }
    int paid = 0;
    int refused = 0;
    for (auto& c : calls) {
        const unsigned status = c.get();
        if (status == 200) ++paid;
        if (status == 402) ++refused;
    }
    CHECK(paid == 20);
    CHECK(refused == 80);
    // What the merchant can ever claim is what was signed: the daily cap, not a unit more.
    auto listed = w.purser({"iou", "balance", "--format", "json"});
    REQUIRE(listed.exit_code == 0);
    auto ch = nlohmann::json::parse(listed.out);
    CHECK(ch["signed_max"] == "10000");
    CHECK(ch["charged"] == "10000");

    // A restart keeps the channel: the next voucher continues the running total, and the
    // merchant accepts it at once (no corrective 402).
    CHECK(w.stop_proxy() == 0);
    w.purser({"agent", "set", "burst", "--daily", "1"});
    w.start_proxy({"--config", config.string()});
    auto after = w.via_proxy("burst", token, {url});
    INFO(after.raw);
    CHECK(after.status == 200);
    auto paid_header = after.header("purser-paid");
    REQUIRE(paid_header);
    CHECK(paid_header->find("/10500") != std::string::npos);

    // The cooperative refund: the merchant returns what it has not charged, and the wallet ends
    // down exactly the 21 calls.
    auto refunded = w.purser({"iou", "refund", "--merchant", url, "--keystore",
                              w.env("PURSER_TESTNET_KEYSTORE"), "--rpc", w.env("PURSER_TESTNET_RPC")});
    INFO(refunded.out + refunded.err);
    REQUIRE(refunded.exit_code == 0);
    // Measured on the escrow, not read from the merchant's receipt.
    CHECK(refunded.out.find("refunded 0.0395") != std::string::npos);
    CHECK(refunded.out.find("amount from the escrow on chain") != std::string::npos);
    CHECK(*payer_start.sub(w.balance(w.payer())) == uint256(10'500));
    auto closed = nlohmann::json::parse(w.purser({"iou", "balance", "--format", "json"}).out);
    CHECK(closed["state"] == "closed");
    CHECK(closed["deposited"] == "10500");
}

TEST_CASE("a merchant that misreports a voucher's charge gets its channel quarantined", "[e2e][iou][hostile]") {
    for (const std::string lie : {"iou-overcharge", "iou-stale-state"}) {
        INFO(lie);
        world w;
        auto token = w.add_agent("victim", {"--per-request", "0.01", "--daily", "1"});
        w.start_proxy({"--config", iou_config(w, "0.01", "1").string()});
        const std::string url = w.env("PURSER_TESTNET_HOSTILE_HTTP") + "/lie/" + lie;
        const uint256 payer_before = w.balance(w.payer());

        auto first = w.via_proxy("victim", token, {url});
        INFO(first.raw);
        REQUIRE(first.status == 200);
        auto decision = first.header("purser-decision");
        REQUIRE(decision);
        CHECK(decision->find("channel=quarantined") != std::string::npos);

        auto listed = w.purser({"iou", "balance", "--format", "json"});
        REQUIRE(listed.exit_code == 0);
        auto ch = nlohmann::json::parse(listed.out);
        CHECK(ch["state"] == "quarantined");
        CHECK(ch["signed_max"] == "1000");
        // Nothing the merchant reported was adopted: the running total is what was signed.
        CHECK(ch["charged"] == "1000");

        // No further voucher goes to that channel, and the agent learns why.
        auto again = w.via_proxy("victim", token, {url});
        CHECK(again.status == 402);
        auto refused = again.header("purser-decision");
        REQUIRE(refused);
        CHECK(refused->find("reason=iou_quarantined") != std::string::npos);

        // Counted: the one voucher signed; on chain only the deposit left the wallet.
        auto rows = w.ledger("victim");
        REQUIRE(rows.size() == 3);
        CHECK(rows[0]["amount"] == "1000");
        CHECK(rows[0]["status"] == "paid");
        CHECK(rows[2]["reason"] == "iou_quarantined");
        auto shown = w.purser({"agent", "show", "victim"});
        CHECK(std::regex_search(shown.out, std::regex(R"(spent today: +\$0\.001\n)")));
        CHECK(*payer_before.sub(w.balance(w.payer())) == uint256(10'000));
    }
}

namespace {

/// Empties the store's channel records, as a lost or restored-from-old-backup store would be.
void forget_channels(const std::filesystem::path& store_dir) {
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_maxdbs(env, 16) == 0);
    REQUIRE(mdb_env_open(env, store_dir.c_str(), 0, 0600) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    MDB_dbi dbi = 0;
    REQUIRE(mdb_dbi_open(txn, "channels", 0, &dbi) == 0);
    REQUIRE(mdb_drop(txn, dbi, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
}

}  // namespace

TEST_CASE("a proxy that lost its channel state starts again from the chain and the merchant's signed state", "[e2e][iou]") {
    world w;
    auto token = w.add_agent("amnesia", {"--per-request", "0.01", "--daily", "1"});
    const auto config = iou_config(w, "0.05", "1");
    w.start_proxy({"--config", config.string()});
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/metered";
    const uint256 payer_before = w.balance(w.payer());
    for (int i = 0; i < 10; ++i) REQUIRE(w.via_proxy("amnesia", token, {url}).status == 200);

    CHECK(w.stop_proxy() == 0);
    forget_channels(w.dir() / "home" / "store");
    w.start_proxy({"--config", config.string()});

    // The escrow still holds the deposit, so no second deposit is made; the merchant's
    // corrective 402 carries this wallet's own signature for 10 calls, which is adopted, and the
    // request is paid again once from there: the agent sees only the paid answer.
    auto resumed = w.via_proxy("amnesia", token, {url});
    INFO(resumed.raw);
    REQUIRE(resumed.status == 200);
    auto paid = resumed.header("purser-paid");
    REQUIRE(paid);
    CHECK(paid->find("/5500") != std::string::npos);
    // The refused voucher has its own failed row, and the retry its paid one.
    auto rows = w.ledger("amnesia");
    REQUIRE(rows.size() >= 12);
    CHECK(rows[rows.size() - 2]["status"] == "failed");
    CHECK(rows.back()["status"] == "paid");
    CHECK(*payer_before.sub(w.balance(w.payer())) == uint256(50'000));

    auto listed = w.purser({"iou", "balance", "--format", "json"});
    REQUIRE(listed.exit_code == 0);
    auto ch = nlohmann::json::parse(listed.out);
    CHECK(ch["deposited"] == "50000");
    CHECK(ch["charged"] == "5500");
    CHECK(ch["signed_max"] == "5500");
}

namespace {

/// `purser iou balance --format json`: one JSON object a line, one line a channel.
std::vector<nlohmann::json> channels_of(world& w) {
    auto listed = w.purser({"iou", "balance", "--format", "json"});
    REQUIRE(listed.exit_code == 0);
    std::vector<nlohmann::json> out;
    std::istringstream lines(listed.out);
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    }
    return out;
}

uint256 sum_of(const std::vector<nlohmann::json>& channels, const char* field) {
    uint256 total;
    for (const auto& c : channels) {
        total = *total.add(*uint256::from_decimal(c[field].get<std::string>()));
    }
    return total;
}

}  // namespace

TEST_CASE("several channels with one merchant spread concurrent vouchers, keep every cap on chain, and each resumes after a restart", "[e2e][iou]") {
    world w;
    // 0.0005 a call: the daily cap allows exactly 20 calls.
    auto token = w.add_agent("spread", {"--per-request", "0.01", "--daily", "0.01"});
    const auto config = w.dir() / "iou-channels.json";
    // Up to 4 channels of 0.05 each, and no more than 0.2 in escrow altogether.
    std::ofstream(config) << R"({"payment": {"iou": {"deposit": "0.05", "max_channel": "0.05",
                                 "max_total": "0.2", "channels": 4}}})";
    w.start_proxy({"--config", config.string()});
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/metered";
    const uint256 payer_start = w.balance(w.payer());
    const uint256 payee_start = w.balance(w.env("PURSER_TESTNET_PAYEE"));

    auto burst = [&](int n) {
        std::vector<std::future<unsigned>> calls;
        for (int i = 0; i < n; ++i) {
            calls.push_back(std::async(std::launch::async, [&] {
                return w.via_proxy("spread", token, {url}).status;
            }));
        }
        std::map<unsigned, int> statuses;
        for (auto& c : calls) ++statuses[c.get()];
        return statuses;
    };
    auto first = burst(100);
    CHECK(first[200] == 20);
    CHECK(first[402] == 80);

    // The calls went over more than one channel, each funded by its own deposit within the caps,
    // and what all of them together may claim is the daily cap, not a unit more.
    auto channels = channels_of(w);
    CHECK(channels.size() >= 2);
    CHECK(channels.size() <= 4);
    for (const auto& c : channels) {
        INFO(c.dump());
        CHECK(c["state"] == "open");
        CHECK(c["deposited"] == "50000");
        CHECK(c["signed_max"] == c["charged"]);
    }
    CHECK(sum_of(channels, "signed_max") == uint256(10'000));
    CHECK(sum_of(channels, "charged") == uint256(10'000));
    // On chain: the wallet paid exactly the deposits, and the escrow holds each of them.
    CHECK(*payer_start.sub(w.balance(w.payer())) == sum_of(channels, "deposited"));
    for (const auto& c : channels) CHECK(w.escrow(c["channel"].get<std::string>()).first == uint256(50'000));

    // A restart keeps every channel: concurrent calls continue each running total, and the
    // merchant accepts every voucher at once (a corrective 402 would be a 402 here).
    CHECK(w.stop_proxy() == 0);
    w.purser({"agent", "set", "spread", "--daily", "1"});
    w.start_proxy({"--config", config.string()});
    auto second = burst(16);
    CHECK(second[200] == 16);
    auto after = channels_of(w);
    CHECK(after.size() >= channels.size());
    CHECK(sum_of(after, "charged") == uint256(18'000));
    for (const auto& row : w.ledger("spread")) CHECK(row["status"] != "failed");

    // The merchant claims and settles every channel: its gain is exactly the sum of the charges.
    auto settled = w.purser({"testnet", "settle", "--dir", (w.dir() / "testnet").string()});
    INFO(settled.out + settled.err);
    REQUIRE(settled.exit_code == 0);
    CHECK(*w.balance(w.env("PURSER_TESTNET_PAYEE")).sub(payee_start) == uint256(18'000));
    uint256 claimed;
    for (const auto& c : after) claimed = *claimed.add(w.escrow(c["channel"].get<std::string>()).second);
    CHECK(claimed == uint256(18'000));

    // One refund run, without --channel, returns what the merchant did not charge on every
    // channel: the wallet is down exactly the charges, and each channel is closed and empty.
    auto refunded = w.purser({"iou", "refund", "--merchant", url, "--rpc", w.env("PURSER_TESTNET_RPC"), "--keystore",
                              w.env("PURSER_TESTNET_KEYSTORE"), "--config", config.string()});
    INFO(refunded.out + refunded.err);
    REQUIRE(refunded.exit_code == 0);
    CHECK(*payer_start.sub(w.balance(w.payer())) == uint256(18'000));
    for (const auto& c : channels_of(w)) {
        INFO(c.dump());
        CHECK(c["state"] == "closed");
        const auto held = w.escrow(c["channel"].get<std::string>());
        CHECK(held.first <= held.second);  // nothing left that the merchant did not claim
    }
}

TEST_CASE("payment.iou.channels takes an integer from 1 to 64, and the proxy names the key otherwise", "[e2e][iou]") {
    world w;
    for (const std::string bad : {"0", "65", "\"4\"", "2.5"}) {
        INFO(bad);
        const auto config = w.dir() / "bad-channels.json";
        std::ofstream(config) << R"({"payment": {"iou": {"channels": )" << bad << "}}}";
        auto started = w.purser({"proxy", "--config", config.string(), "--listen", "127.0.0.1:0", "--detach",
                                 "--log", "/dev/null"});
        CHECK(started.exit_code != 0);
        CHECK(started.err.find("payment.iou.channels") != std::string::npos);
    }
}

TEST_CASE("a merchant that lied on one channel gets no voucher on another of its channels", "[e2e][iou][hostile]") {
    world w;
    auto token = w.add_agent("victim", {"--per-request", "0.01", "--daily", "1"});
    const auto config = w.dir() / "iou-two-channels.json";
    std::ofstream(config) << R"({"payment": {"iou": {"deposit": "0.01", "max_channel": "1", "channels": 2}}})";
    w.start_proxy({"--config", config.string()});
    const std::string url = w.env("PURSER_TESTNET_HOSTILE_HTTP") + "/lie/iou-overcharge";
    const uint256 payer_before = w.balance(w.payer());

    auto first = w.via_proxy("victim", token, {url});
    INFO(first.raw);
    REQUIRE(first.status == 200);
    auto quarantined = first.header("purser-decision");
    REQUIRE(quarantined);
    CHECK(quarantined->find("channel=quarantined") != std::string::npos);

    // The second channel is free and could be opened with a deposit: it is not.
    for (int i = 0; i < 3; ++i) {
        auto again = w.via_proxy("victim", token, {url});
        CHECK(again.status == 402);
        auto refused = again.header("purser-decision");
        REQUIRE(refused);
        CHECK(refused->find("reason=iou_quarantined") != std::string::npos);
    }
    auto channels = channels_of(w);
    REQUIRE(channels.size() == 1);
    CHECK(channels[0]["state"] == "quarantined");
    CHECK(*payer_before.sub(w.balance(w.payer())) == uint256(10'000));
}
