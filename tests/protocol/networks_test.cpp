#include "purser/protocol/networks.hpp"

#include <catch2/catch.hpp>

#include "purser/protocol/errc.hpp"

using namespace purser::protocol;

TEST_CASE("builtin networks: base, base-sepolia and the local testnet with their USDC", "[protocol][networks]") {
    const auto reg = network_registry::builtin();

    const network_info* base = reg.find("base");
    REQUIRE(base != nullptr);
    CHECK(base == reg.find("eip155:8453"));
    CHECK(base->chain_id == 8453);
    const asset_info* usdc = reg.find_asset(*base, *address::parse("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"));
    REQUIRE(usdc != nullptr);
    CHECK(usdc->symbol == "USDC");
    CHECK(usdc->eip712_name == "USD Coin");
    CHECK(usdc->eip712_version == "2");
    CHECK(usdc->decimals == 6);
    CHECK(usdc->usd_pegged);

    const network_info* sepolia = reg.find("eip155:84532");
    REQUIRE(sepolia != nullptr);
    CHECK(sepolia->v1_name == "base-sepolia");
    // Lowercase lookups find the same token: addresses compare as bytes.
    const asset_info* susdc = reg.find_asset(*sepolia, *address::parse("0x036cbd53842c5426634e7929541ec2318f3dcf7e"));
    REQUIRE(susdc != nullptr);
    CHECK(susdc->eip712_name == "USDC");

    const network_info* local = reg.find(testnet_v1_name);
    REQUIRE(local != nullptr);
    CHECK(local->caip2 == testnet_caip2);
    CHECK(local->chain_id == testnet_chain_id);
    const asset_info* tusdc = reg.find_asset(*local, *address::parse(testnet_usdc));
    REQUIRE(tusdc != nullptr);
    CHECK(tusdc->eip712_name == "USDC");
    CHECK(tusdc->eip712_version == "2");
    CHECK(tusdc->decimals == 6);
    CHECK(tusdc->usd_pegged);

    CHECK(reg.find("nowhere") == nullptr);
    CHECK(reg.find("") == nullptr);
    CHECK(reg.find("solana") == nullptr);
    CHECK(reg.find_asset(*base, *address::parse("0x036CbD53842c5426634e7929541eC2318f3dCF7e")) == nullptr);
}

TEST_CASE("builtin networks: every v1 name of x402.md §3 resolves to its chain id", "[protocol][networks]") {
    const auto reg = network_registry::builtin();
    const std::pair<const char*, std::uint64_t> table[] = {
        {"ethereum", 1}, {"sepolia", 11155111}, {"abstract", 2741}, {"abstract-testnet", 11124},
        {"base-sepolia", 84532}, {"base", 8453}, {"avalanche-fuji", 43113}, {"avalanche", 43114},
        {"skale-base-sepolia", 324705682}, {"monad", 143}, {"stable-testnet", 2201}, {"flare", 14},
        {"iotex", 4689}, {"sei", 1329}, {"sei-testnet", 1328}, {"polygon", 137},
        {"polygon-amoy", 80002}, {"peaq", 3338}, {"story", 1514}, {"educhain", 41923},
        {"megaeth", 4326}, {"stable", 988}, {"celo", 42220}};
    for (const auto& [name, id] : table) {
        INFO(name);
        const network_info* n = reg.find(name);
        REQUIRE(n != nullptr);
        CHECK(n->chain_id == id);
        CHECK(n->caip2 == "eip155:" + std::to_string(id));
        CHECK(reg.find(n->caip2) == n);
    }
    // Monad's USDC signs as "USDC" (x402 PR #3105), Ethereum's as "USD Coin".
    const network_info* monad = reg.find("monad");
    REQUIRE(monad->assets.size() == 1);
    CHECK(monad->assets[0].eip712_name == "USDC");
    CHECK(reg.find("ethereum")->assets.at(0).eip712_name == "USD Coin");
    // Arbitrum has USDC but no v1 name.
    const network_info* arb = reg.find("eip155:42161");
    REQUIRE(arb != nullptr);
    CHECK(arb->v1_name.empty());
}

TEST_CASE("evm_chain_id parses eip155 CAIP-2 ids strictly", "[protocol][networks]") {
    CHECK(*evm_chain_id("eip155:8453") == 8453);
    CHECK(*evm_chain_id("eip155:31337") == 31337);
    CHECK(*evm_chain_id("eip155:18446744073709551615") == 18446744073709551615ULL);
    CHECK(evm_chain_id("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp").error().code ==
          make_error_code(errc::unknown_network));
    CHECK(evm_chain_id("base").error().code == make_error_code(errc::unknown_network));
    for (const char* bad : {"eip155:", "eip155:abc", "eip155:-1", "eip155:08453", "eip155:0",
                            "eip155:1.5", "eip155:99999999999999999999", "eip155:8453 "}) {
        INFO(bad);
        auto r = evm_chain_id(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == make_error_code(errc::invalid_value));
    }
}

TEST_CASE("add_from_json adds networks and merges assets by address", "[protocol][networks]") {
    auto reg = network_registry::builtin();
    const auto before = reg.all().size();
    auto ok = reg.add_from_json(nlohmann::json::parse(R"([
      {"caip2":"eip155:31337","chainId":31337,"v1Name":"purser-testnet","assets":[
        {"address":"0x5FbDB2315678afecb367f032d93F642f64180aa3","symbol":"USDC","decimals":6,
         "eip712Name":"USDC","eip712Version":"2","usdPegged":true},
        {"address":"0xe7f1725e7734ce288f8367e1bb143e90bb3f0512","symbol":"EURC","decimals":6}]},
      {"caip2":"eip155:10","chainId":10,"assets":[]}])"));
    REQUIRE(ok);
    CHECK(reg.all().size() == before + 1);
    const network_info* local = reg.find("purser-testnet");
    REQUIRE(local != nullptr);
    CHECK(local->assets.size() == 2);
    const asset_info* eurc = reg.find_asset(*local, *address::parse("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"));
    REQUIRE(eurc != nullptr);
    CHECK(eurc->symbol == "EURC");
    CHECK_FALSE(eurc->usd_pegged);
    REQUIRE(reg.find("eip155:10") != nullptr);
    CHECK(reg.find("eip155:10")->v1_name.empty());
}

TEST_CASE("add_from_json rejects bad configuration and changes nothing", "[protocol][networks]") {
    struct bad {
        const char* json;
        errc code;
        const char* detail;
    };
    const bad cases[] = {
        {R"({"caip2":"eip155:1"})", errc::wrong_type, "networks: expected an array"},
        {R"([5])", errc::wrong_type, "networks[0]"},
        {R"([{"chainId":1}])", errc::missing_field, "networks[0].caip2"},
        {R"([{"caip2":"eip155:1"}])", errc::missing_field, "networks[0].chainId"},
        {R"([{"caip2":"eip155:1","chainId":2}])", errc::invalid_value, "networks[0].chainId"},
        {R"([{"caip2":"solana:abc","chainId":2}])", errc::invalid_value, "networks[0].caip2"},
        {R"([{"caip2":"eip155:1","chainId":"1"}])", errc::wrong_type, "networks[0].chainId"},
        {R"([{"caip2":"eip155:1","chainId":1,"colour":"red"}])", errc::invalid_value, "networks[0].colour"},
        {R"([{"caip2":"eip155:1","chainId":1,"v1Name":"eip155:1"}])", errc::invalid_value, "networks[0].v1Name"},
        {R"([{"caip2":"eip155:1","chainId":1,"assets":{}}])", errc::wrong_type, "networks[0].assets"},
        {R"([{"caip2":"eip155:1","chainId":1,"assets":[{"symbol":"X","decimals":6}]}])", errc::missing_field, "networks[0].assets[0].address"},
        {R"([{"caip2":"eip155:1","chainId":1,"assets":[{"address":"0x12","symbol":"X","decimals":6}]}])", errc::invalid_address, "networks[0].assets[0].address"},
        {R"([{"caip2":"eip155:1","chainId":1,"assets":[{"address":"0x5FbDB2315678afecb367f032d93F642f64180aa3","decimals":6}]}])", errc::missing_field, "networks[0].assets[0].symbol"},
        {R"([{"caip2":"eip155:1","chainId":1,"assets":[{"address":"0x5FbDB2315678afecb367f032d93F642f64180aa3","symbol":"X","decimals":-1}]}])", errc::wrong_type, "networks[0].assets[0].decimals"},
        {R"([{"caip2":"eip155:1","chainId":1,"assets":[{"address":"0x5FbDB2315678afecb367f032d93F642f64180aa3","symbol":"X","decimals":78}]}])", errc::invalid_value, "networks[0].assets[0].decimals"},
        {R"([{"caip2":"eip155:1","chainId":1,"assets":[{"address":"0x5FbDB2315678afecb367f032d93F642f64180aa3","symbol":"X","decimals":6,"usdPegged":"yes"}]}])", errc::wrong_type, "usdPegged"},
        // The first entry is fine; the second is not; neither may land.
        {R"([{"caip2":"eip155:77","chainId":77},{"caip2":"eip155:78","chainId":79}])", errc::invalid_value, "networks[1].chainId"},
    };
    for (const auto& c : cases) {
        INFO(c.json);
        auto reg = network_registry::builtin();
        const auto before = reg.all().size();
        auto r = reg.add_from_json(nlohmann::json::parse(c.json));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == make_error_code(c.code));
        CHECK(r.error().detail.find(c.detail) != std::string::npos);
        CHECK(reg.all().size() == before);
        CHECK(reg.find("eip155:77") == nullptr);
        CHECK(reg.find("ethereum")->assets.size() == 1);
    }
}

TEST_CASE("add replaces a network's metadata and keeps its other assets", "[protocol][networks]") {
    auto reg = network_registry::builtin();
    network_info base;
    base.caip2 = "eip155:8453";
    base.v1_name = "base";
    base.chain_id = 8453;
    asset_info usdc;
    usdc.token = *address::parse("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913");
    usdc.symbol = "USDC.e";
    usdc.decimals = 6;
    base.assets.push_back(usdc);
    reg.add(base);
    const network_info* n = reg.find("base");
    REQUIRE(n->assets.size() == 1);
    CHECK(n->assets[0].symbol == "USDC.e");
}
