#include "purser/protocol/networks.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <set>
#include <utility>

#include "networks_detail.hpp"
#include "purser/protocol/errc.hpp"

namespace purser::protocol {
namespace {

struct v1_name_entry {
    std::string_view name;
    std::uint64_t chain_id;
};

// The v1 name -> chain id table of @x402/evm/v1 (EVM_NETWORK_CHAIN_ID_MAP, x402.md §3), plus the
// local testnet's name.
constexpr std::array<v1_name_entry, 24> v1_names{{
    {"ethereum", 1},
    {"sepolia", 11155111},
    {"abstract", 2741},
    {"abstract-testnet", 11124},
    {"base-sepolia", 84532},
    {"base", 8453},
    {"avalanche-fuji", 43113},
    {"avalanche", 43114},
    {"skale-base-sepolia", 324705682},
    {"monad", 143},
    {"stable-testnet", 2201},
    {"flare", 14},
    {"iotex", 4689},
    {"sei", 1329},
    {"sei-testnet", 1328},
    {"polygon", 137},
    {"polygon-amoy", 80002},
    {"peaq", 3338},
    {"story", 1514},
    {"educhain", 41923},
    {"megaeth", 4326},
    {"stable", 988},
    {"celo", 42220},
    {testnet_v1_name, testnet_chain_id},
}};

struct usdc_entry {
    std::uint64_t chain_id;
    std::string_view token;
    std::string_view eip712_name;
};

// USDC deployments from DEFAULT_ASSETS (x402.md §3) and the legacy v1 table (avalanche-fuji).
// The EIP-712 name differs by chain: it is what each token contract returns from name().
constexpr std::array<usdc_entry, 13> usdc_tokens{{
    {8453, "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin"},
    {84532, "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC"},
    {testnet_chain_id, testnet_usdc, "USDC"},
    {1, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USD Coin"},
    {43114, "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", "USD Coin"},
    {43113, "0x5425890298aed601595a70AB815c96711a31Bc65", "USD Coin"},
    {137, "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USD Coin"},
    {42161, "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", "USD Coin"},
    {421614, "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d", "USD Coin"},
    {143, "0x754704Bc059F8C67012fEd69BC8A327a5aafb603", "USDC"},
    {1329, "0xe15fC38F6D8c56aF07bbCBe3BAf5708A2Bf42392", "USDC"},
    {1328, "0x4fCF1784B31630811181f670Aea7A7bEF803eaED", "USDC"},
    {42220, "0xcebA9300f2b948710d2653dD7B07f33A8B32118C", "USDC"},
}};

std::string caip2_of(std::uint64_t chain_id) { return "eip155:" + std::to_string(chain_id); }

// A builtin table entry that does not parse is a programming error in this file; the tests
// build the registry, so it can never ship.
address builtin_address(std::string_view text) {
    auto a = address::parse(text);
    if (!a) std::abort();
    return *a;
}

std::string key_path(std::size_t i, std::string_view key) {
    return "networks[" + std::to_string(i) + "]." + std::string(key);
}

result<asset_info> asset_from_json(const nlohmann::json& j, const std::string& path) {
    static const std::set<std::string> known{"address",     "symbol",        "decimals",
                                             "eip712Name",  "eip712Version", "usdPegged"};
    if (!j.is_object()) return fail(errc::wrong_type, path + ": expected an object");
    for (const auto& [key, value] : j.items()) {
        if (!known.contains(key)) return fail(errc::invalid_value, path + "." + key + ": unknown key");
    }
    asset_info a;
    auto addr = j.find("address");
    if (addr == j.end()) return fail(errc::missing_field, path + ".address: required");
    if (!addr->is_string()) return fail(errc::wrong_type, path + ".address: expected a string");
    auto parsed = address::parse(addr->get<std::string>());
    if (!parsed) return fail(errc::invalid_address, path + ".address: " + parsed.error().detail);
    a.token = *parsed;

    auto sym = j.find("symbol");
    if (sym == j.end()) return fail(errc::missing_field, path + ".symbol: required");
    if (!sym->is_string() || sym->get<std::string>().empty()) {
        return fail(errc::wrong_type, path + ".symbol: expected a non-empty string");
    }
    a.symbol = sym->get<std::string>();

    auto dec = j.find("decimals");
    if (dec == j.end()) return fail(errc::missing_field, path + ".decimals: required");
    if (!dec->is_number_unsigned()) {
        return fail(errc::wrong_type, path + ".decimals: expected a non-negative integer");
    }
    if (dec->get<std::uint64_t>() > 77) {
        return fail(errc::invalid_value, path + ".decimals: must be at most 77");
    }
    a.decimals = static_cast<unsigned>(dec->get<std::uint64_t>());

    for (auto [key, out] : {std::pair{"eip712Name", &a.eip712_name},
                            std::pair{"eip712Version", &a.eip712_version}}) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) continue;
        if (!it->is_string()) return fail(errc::wrong_type, path + "." + key + ": expected a string");
        *out = it->get<std::string>();
    }
    if (auto it = j.find("usdPegged"); it != j.end() && !it->is_null()) {
        if (!it->is_boolean()) return fail(errc::wrong_type, path + ".usdPegged: expected a boolean");
        a.usd_pegged = it->get<bool>();
    }
    return a;
}

result<network_info> network_from_json(const nlohmann::json& j, std::size_t i) {
    static const std::set<std::string> known{"caip2", "v1Name", "chainId", "assets"};
    const std::string self = "networks[" + std::to_string(i) + "]";
    if (!j.is_object()) return fail(errc::wrong_type, self + ": expected an object");
    for (const auto& [key, value] : j.items()) {
        if (!known.contains(key)) return fail(errc::invalid_value, key_path(i, key) + ": unknown key");
    }
    network_info net;
    auto caip2 = j.find("caip2");
    if (caip2 == j.end()) return fail(errc::missing_field, key_path(i, "caip2") + ": required");
    if (!caip2->is_string()) return fail(errc::wrong_type, key_path(i, "caip2") + ": expected a string");
    net.caip2 = caip2->get<std::string>();
    auto chain_from_id = evm_chain_id(net.caip2);
    if (!chain_from_id) {
        return fail(errc::invalid_value,
                    key_path(i, "caip2") + ": " + chain_from_id.error().detail);
    }

    auto chain = j.find("chainId");
    if (chain == j.end()) return fail(errc::missing_field, key_path(i, "chainId") + ": required");
    if (!chain->is_number_unsigned() || chain->get<std::uint64_t>() == 0) {
        return fail(errc::wrong_type, key_path(i, "chainId") + ": expected a positive integer");
    }
    net.chain_id = chain->get<std::uint64_t>();
    if (net.chain_id != *chain_from_id) {
        return fail(errc::invalid_value, key_path(i, "chainId") + ": " +
                                             std::to_string(net.chain_id) + " does not match " +
                                             net.caip2);
    }

    if (auto v1 = j.find("v1Name"); v1 != j.end() && !v1->is_null()) {
        if (!v1->is_string()) return fail(errc::wrong_type, key_path(i, "v1Name") + ": expected a string");
        net.v1_name = v1->get<std::string>();
        if (net.v1_name.find(':') != std::string::npos) {
            return fail(errc::invalid_value, key_path(i, "v1Name") + ": a v1 name has no ':'");
        }
    }
    if (auto assets = j.find("assets"); assets != j.end() && !assets->is_null()) {
        if (!assets->is_array()) return fail(errc::wrong_type, key_path(i, "assets") + ": expected an array");
        for (std::size_t k = 0; k < assets->size(); ++k) {
            PURSER_TRY(a, asset_from_json((*assets)[k],
                                          key_path(i, "assets") + "[" + std::to_string(k) + "]"));
            net.assets.push_back(std::move(a));
        }
    }
    return net;
}

}  // namespace

namespace detail {

bool is_evm_network(std::string_view network) {
    if (network.starts_with("eip155:")) return true;
    return std::any_of(v1_names.begin(), v1_names.end(),
                       [&](const v1_name_entry& e) { return e.name == network; });
}

}  // namespace detail

network_registry network_registry::builtin() {
    network_registry reg;
    for (const auto& e : v1_names) {
        network_info net;
        net.caip2 = caip2_of(e.chain_id);
        net.v1_name = std::string(e.name);
        net.chain_id = e.chain_id;
        reg.add(std::move(net));
    }
    // Chains with USDC but no v1 name (Arbitrum and its testnet).
    for (const auto& u : usdc_tokens) {
        network_info net;
        net.caip2 = caip2_of(u.chain_id);
        net.chain_id = u.chain_id;
        if (const network_info* known = reg.find(net.caip2)) net.v1_name = known->v1_name;
        asset_info usdc;
        usdc.token = builtin_address(u.token);
        usdc.symbol = "USDC";
        usdc.decimals = 6;
        usdc.eip712_name = std::string(u.eip712_name);
        usdc.eip712_version = "2";
        usdc.usd_pegged = true;
        net.assets.push_back(std::move(usdc));
        reg.add(std::move(net));
    }
    return reg;
}

void network_registry::add(network_info net) {
    auto it = std::find_if(networks_.begin(), networks_.end(),
                           [&](const network_info& n) { return n.caip2 == net.caip2; });
    if (it == networks_.end()) {
        networks_.push_back(std::move(net));
        return;
    }
    std::vector<asset_info> merged = std::move(it->assets);
    for (auto& a : net.assets) {
        auto same = std::find_if(merged.begin(), merged.end(),
                                 [&](const asset_info& m) { return m.token == a.token; });
        if (same != merged.end()) {
            *same = std::move(a);
        } else {
            merged.push_back(std::move(a));
        }
    }
    *it = std::move(net);
    it->assets = std::move(merged);
}

result<void> network_registry::add_from_json(const nlohmann::json& config) {
    if (!config.is_array()) return fail(errc::wrong_type, "networks: expected an array");
    // Validate everything first, so a bad entry leaves the registry unchanged.
    std::vector<network_info> parsed;
    for (std::size_t i = 0; i < config.size(); ++i) {
        PURSER_TRY(net, network_from_json(config[i], i));
        parsed.push_back(std::move(net));
    }
    for (auto& net : parsed) add(std::move(net));
    return {};
}

const network_info* network_registry::find(std::string_view id_or_name) const {
    if (id_or_name.empty()) return nullptr;
    for (const auto& n : networks_) {
        if (n.caip2 == id_or_name || (!n.v1_name.empty() && n.v1_name == id_or_name)) return &n;
    }
    return nullptr;
}

const asset_info* network_registry::find_asset(const network_info& net, const address& token) const {
    for (const auto& a : net.assets) {
        if (a.token == token) return &a;
    }
    return nullptr;
}

result<std::uint64_t> evm_chain_id(std::string_view caip2) {
    constexpr std::string_view prefix = "eip155:";
    if (!caip2.starts_with(prefix)) {
        return fail(errc::unknown_network,
                    "\"" + std::string(caip2.substr(0, 80)) + "\" is not an eip155 network");
    }
    std::string_view ref = caip2.substr(prefix.size());
    if (ref.empty() || (ref.size() > 1 && ref[0] == '0')) {
        return fail(errc::invalid_value,
                    "\"" + std::string(caip2.substr(0, 80)) + "\": chain id is not a decimal integer");
    }
    std::uint64_t id = 0;
    for (char c : ref) {
        if (c < '0' || c > '9') {
            return fail(errc::invalid_value, "\"" + std::string(caip2.substr(0, 80)) +
                                                 "\": chain id is not a decimal integer");
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (id > (UINT64_MAX - digit) / 10) {
            return fail(errc::invalid_value,
                        "\"" + std::string(caip2.substr(0, 80)) + "\": chain id exceeds 64 bits");
        }
        id = id * 10 + digit;
    }
    if (id == 0) return fail(errc::invalid_value, "\"" + std::string(caip2) + "\": chain id is zero");
    return id;
}

}  // namespace purser::protocol
