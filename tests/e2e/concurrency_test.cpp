// Many concurrent paid requests from one agent: the allowance admits exactly what it covers.
#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include <fstream>
#include <sstream>

#include "purser/protocol/amount.hpp"
#include "world.hpp"

using purser::protocol::uint256;
using purser::test::world;

TEST_CASE("200 concurrent paid requests, allowance for 50: exactly 50 paid", "[e2e]") {
    world w;
    const std::string url = w.env("PURSER_TESTNET_MERCHANT_HTTP") + "/weather";
    const uint256 price = w.price_of(url);
    auto token = w.add_agent("swarm", {"--allowance", purser::protocol::format_units(*price.mul(uint256(50)), 6)});
    w.start_proxy();
    const uint256 payer_before = w.balance(w.payer());

    // One curl process, 200 transfers at once (--parallel), each printing its status code.
    auto config = w.dir() / "curl.cfg";
    {
        std::ofstream cfg(config);
        for (int i = 0; i < 200; ++i) {
            cfg << "url = \"" << url << "?i=" << i << "\"\n"
                << "output = \"/dev/null\"\n"
                << "write-out = \"%{http_code}\\n\"\n";
        }
    }
    auto r = purser::test::run({"curl", "-sS", "--parallel", "--parallel-immediate",
                                "--parallel-max", "200", "--max-time", "120",
                                "-x", w.proxy_url("swarm", token), "-K", config.string()});
    std::istringstream codes(r.out);
    std::string code;
    int ok = 0, declined = 0, other = 0;
    while (std::getline(codes, code)) {
        if (code == "200") ++ok;
        else if (code == "402") ++declined;
        else ++other;
    }
    INFO(r.err);
    CHECK(ok == 50);
    CHECK(declined == 150);
    CHECK(other == 0);

    auto rows = w.ledger("swarm");
    int paid = 0, refused = 0;
    uint256 paid_sum;
    for (const auto& row : rows) {
        if (row["status"] == "paid") {
            ++paid;
            paid_sum = *paid_sum.add(*uint256::from_decimal(row["amount"].get<std::string>()));
        } else if (row["status"] == "declined") {
            refused += row["repeats"].get<int>();  // identical declines fold into one row
            CHECK(row["reason"] == "insufficient_allowance");
        }
    }
    CHECK(paid == 50);
    CHECK(refused == 150);
    CHECK(paid_sum == *price.mul(uint256(50)));
    CHECK(*payer_before.sub(w.balance(w.payer())) == paid_sum);
}
