#include "purser/protocol/select.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"

using namespace purser::protocol;

namespace {

constexpr const char* pay_to = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
constexpr const char* base_usdc = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
constexpr const char* sepolia_usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

ojson offer(const char* scheme, const char* network, const char* amount, const char* asset,
            bool with_domain = true) {
    ojson o = ojson::object();
    o["scheme"] = scheme;
    o["network"] = network;
    o["amount"] = amount;
    o["asset"] = asset;
    o["payTo"] = pay_to;
    o["maxTimeoutSeconds"] = 60;
    if (with_domain) o["extra"] = ojson::parse(R"({"name":"USDC","version":"2"})");
    return o;
}

payment_required required_of(std::vector<ojson> accepts, int version = 2) {
    ojson root = ojson::object();
    root["x402Version"] = version;
    root["accepts"] = ojson::array();
    for (auto& a : accepts) root["accepts"].push_back(std::move(a));
    auto pr = parse_payment_required(root.dump());
    REQUIRE(pr);
    return std::move(*pr);
}

std::vector<std::size_t> order(const selection& s) {
    std::vector<std::size_t> out;
    for (const auto& c : s.candidates) out.push_back(c.index);
    return out;
}

}  // namespace

TEST_CASE("select: cheapest first among same-decimal assets, ties keep server order", "[protocol][select]") {
    const auto reg = network_registry::builtin();
    auto pr = required_of({offer("exact", "eip155:8453", "3000", base_usdc),
                           offer("exact", "eip155:84532", "1000", sepolia_usdc),
                           offer("exact", "eip155:8453", "1000", base_usdc),
                           offer("exact", "eip155:84532", "2000", sepolia_usdc)});
    auto s = select_offers(pr, {}, reg);
    CHECK(s.rejected.empty());
    CHECK(order(s) == std::vector<std::size_t>{1, 2, 3, 0});
    const candidate& best = s.candidates.front();
    CHECK(best.offer == &pr.accepts[1]);
    CHECK(best.network == reg.find("base-sepolia"));
    REQUIRE(best.asset != nullptr);
    CHECK(best.asset->eip712_name == "USDC");
    CHECK(best.asset_address == *address::parse(sepolia_usdc));
    CHECK(best.pay_to == *address::parse(pay_to));
}

TEST_CASE("select: amounts compare only in equal decimals and otherwise server order", "[protocol][select]") {
    auto reg = network_registry::builtin();
    REQUIRE(reg.add_from_json(nlohmann::json::parse(R"([{"caip2":"eip155:8453","chainId":8453,"v1Name":"base",
      "assets":[{"address":"0x50c5725949A6F0c72E6C4a641F24049A917DB0Cb","symbol":"DAI","decimals":18}]}])")));
    auto pr = required_of({offer("exact", "eip155:8453", "1000000000000000000", "0x50c5725949A6F0c72E6C4a641F24049A917DB0Cb"),
                           offer("exact", "eip155:8453", "1000000", base_usdc)});
    auto s = select_offers(pr, {}, reg);
    CHECK(order(s) == std::vector<std::size_t>{0, 1});
    // An unknown token's decimals are unknown too.
    auto unknown = required_of({offer("exact", "eip155:8453", "900", "0x1111111111111111111111111111111111111111"),
                                offer("exact", "eip155:8453", "5", base_usdc)});
    CHECK(order(select_offers(unknown, {}, reg)) == std::vector<std::size_t>{0, 1});
    // The same unknown token twice is one unit.
    auto same = required_of({offer("exact", "eip155:8453", "900", "0x1111111111111111111111111111111111111111"),
                             offer("exact", "eip155:8453", "5", "0x1111111111111111111111111111111111111111")});
    auto ss = select_offers(same, {}, reg);
    CHECK(order(ss) == std::vector<std::size_t>{1, 0});
    CHECK(ss.candidates[0].asset == nullptr);
}

TEST_CASE("select: unsupported schemes and unpayable offers are rejected with reasons", "[protocol][select]") {
    const auto reg = network_registry::builtin();
    ojson no_domain = offer("exact", "eip155:84532", "10", sepolia_usdc, false);
    ojson half_domain = offer("exact", "eip155:84532", "10", sepolia_usdc);
    half_domain["extra"].erase("version");
    ojson zero_pay_to = offer("exact", "eip155:84532", "10", sepolia_usdc);
    zero_pay_to["payTo"] = "0x0000000000000000000000000000000000000000";
    auto pr = required_of({offer("upto", "eip155:84532", "10", sepolia_usdc),
                           offer("exact", "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1", "10", "So11111111111111111111111111111111111111112"),
                           offer("exact", "eip155:999999", "10", sepolia_usdc),
                           offer("exact", "eip155:84532", "0", sepolia_usdc),
                           no_domain,
                           half_domain,
                           zero_pay_to,
                           offer("exact", "eip155:84532", "10", sepolia_usdc)});
    auto s = select_offers(pr, {}, reg);
    REQUIRE(s.candidates.size() == 1);
    CHECK(s.candidates[0].index == 7);
    REQUIRE(s.rejected.size() == 7);
    CHECK(s.rejected[0] == "accepts[0]: scheme upto not supported");
    CHECK(s.rejected[1] == "accepts[1]: network solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1 is not an EVM network");
    CHECK(s.rejected[2] == "accepts[2]: network eip155:999999 unknown");
    CHECK(s.rejected[3] == "accepts[3]: amount is zero");
    CHECK(s.rejected[4].rfind("accepts[4]: exact offer lacks extra.name/extra.version", 0) == 0);
    CHECK(s.rejected[5].rfind("accepts[5]: exact offer lacks", 0) == 0);
    CHECK(s.rejected[6] == "accepts[6]: payTo is the zero address");

    // With upto enabled (and no domain needed for it), the first offer becomes payable.
    payment_capabilities caps;
    caps.schemes = {"exact", "upto"};
    auto s2 = select_offers(pr, caps, reg);
    CHECK(order(s2) == std::vector<std::size_t>{0, 7});
}

TEST_CASE("select: the network filter accepts CAIP-2 ids and v1 names", "[protocol][select]") {
    const auto reg = network_registry::builtin();
    auto pr = required_of({offer("exact", "eip155:8453", "1", base_usdc),
                           offer("exact", "eip155:84532", "2", sepolia_usdc),
                           offer("exact", "eip155:31337", "3", std::string(testnet_usdc).c_str())});
    payment_capabilities caps;
    caps.networks = {"base-sepolia", "eip155:31337"};
    auto s = select_offers(pr, caps, reg);
    CHECK(order(s) == std::vector<std::size_t>{1, 2});
    REQUIRE(s.rejected.size() == 1);
    CHECK(s.rejected[0] == "accepts[0]: network eip155:8453 not allowed");
    REQUIRE(s.candidates[1].asset != nullptr);
    CHECK(s.candidates[1].network->v1_name == testnet_v1_name);
}

TEST_CASE("select: v1 offers resolve their network names", "[protocol][select]") {
    const auto reg = network_registry::builtin();
    ojson a = ojson::object();
    a["scheme"] = "exact";
    a["network"] = "base-sepolia";
    a["maxAmountRequired"] = "10000";
    a["resource"] = "https://api.example.com/x";
    a["description"] = "";
    a["payTo"] = pay_to;
    a["maxTimeoutSeconds"] = 60;
    a["asset"] = sepolia_usdc;
    a["extra"] = ojson::parse(R"({"name":"USDC","version":"2"})");
    ojson b = a;
    b["network"] = "solana-devnet";
    b["asset"] = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";
    b["payTo"] = "2wKupLR9q6wXYppw8Gr2NvWxKBUqm4PPJKkQfoxHDBg4";
    ojson c = a;
    c["network"] = "purser-testnet";
    c["asset"] = std::string(testnet_usdc);
    auto pr = required_of({a, b, c}, 1);
    payment_capabilities caps;
    caps.networks = {"eip155:84532", "purser-testnet"};
    auto s = select_offers(pr, caps, reg);
    CHECK(order(s) == std::vector<std::size_t>{0, 2});
    CHECK(s.candidates[0].network->chain_id == 84532);
    CHECK(s.candidates[1].network->chain_id == testnet_chain_id);
    REQUIRE(s.rejected.size() == 1);
    CHECK(s.rejected[0] == "accepts[1]: network solana-devnet is not an EVM network");
}

TEST_CASE("select: nothing payable gives no candidates and every reason", "[protocol][select]") {
    const auto reg = network_registry::builtin();
    auto pr = required_of({offer("batch-settlement", "eip155:8453", "1", base_usdc),
                           offer("upto", "eip155:8453", "1", base_usdc)});
    auto s = select_offers(pr, {}, reg);
    CHECK(s.candidates.empty());
    CHECK(s.rejected.size() == 2);
}
