// Networks (v1 names, CAIP-2 ids, chain ids) and the stablecoins Purser knows on each.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "purser/protocol/address.hpp"
#include "purser/protocol/result.hpp"

namespace purser::protocol {

struct asset_info {
    address token;
    std::string symbol;           ///< "USDC"
    unsigned decimals = 6;
    std::string eip712_name;      ///< Domain name the token contract uses ("USDC", "USD Coin").
    std::string eip712_version;   ///< "2"
    bool usd_pegged = false;      ///< 1 token unit = 1 USD, so caps in USD apply to it.
};

struct network_info {
    std::string caip2;            ///< "eip155:84532"
    std::string v1_name;          ///< "base-sepolia"; empty when the network has no v1 name.
    std::uint64_t chain_id = 0;
    std::vector<asset_info> assets;
};

/// The chain id, v1 name and CAIP-2 id of the local testnet (testnet/).
inline constexpr std::uint64_t testnet_chain_id = 31337;
inline constexpr std::string_view testnet_caip2 = "eip155:31337";
inline constexpr std::string_view testnet_v1_name = "purser-testnet";
/// The testnet USDC contract address (the first Hardhat deployment address; obviously local).
inline constexpr std::string_view testnet_usdc = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

class network_registry {
public:
    /// base, base-sepolia and the local testnet, with their USDC; plus the v1 name table of
    /// x402.md §3 (chain ids only) so v1 names resolve.
    [[nodiscard]] static network_registry builtin();

    /// Adds or replaces a network (by CAIP-2 id); assets are merged by token address.
    void add(network_info net);

    /// Adds networks from configuration JSON: [{"caip2","v1Name"?,"chainId","assets":[{"address",
    /// "symbol","decimals","eip712Name","eip712Version","usdPegged"}]}].
    /// Errors: wrong_type, missing_field, invalid_value, invalid_address.
    [[nodiscard]] result<void> add_from_json(const nlohmann::json& config);

    /// By CAIP-2 id ("eip155:8453") or v1 name ("base"); nullptr when unknown.
    [[nodiscard]] const network_info* find(std::string_view id_or_name) const;
    /// The asset on `net` with address `token`; nullptr when unknown.
    [[nodiscard]] const asset_info* find_asset(const network_info& net, const address& token) const;

    [[nodiscard]] const std::vector<network_info>& all() const { return networks_; }

private:
    std::vector<network_info> networks_;
};

/// Chain id from a CAIP-2 "eip155:<decimal>" id. Errors: unknown_network, invalid_value.
[[nodiscard]] result<std::uint64_t> evm_chain_id(std::string_view caip2);

}  // namespace purser::protocol
