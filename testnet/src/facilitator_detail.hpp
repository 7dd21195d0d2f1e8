// Shared pieces of the facilitator's scheme handlers.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "purser/testnet/chain.hpp"

namespace purser::testnet::detail {

using nlohmann::json;

/// A verification outcome: empty reason means valid.
struct check {
    std::string reason;
    std::string message;
    std::string payer;
    json extra;  ///< batch: channel snapshot
    [[nodiscard]] bool ok() const { return reason.empty(); }
};

inline check reject(std::string reason, std::string message = {}, std::string payer = {}) {
    return check{std::move(reason), std::move(message), std::move(payer), json()};
}

/// The network name a request uses for this chain: "purser-testnet" (v1) or "eip155:31337".
[[nodiscard]] bool is_our_network(int version, const std::string& network);

/// Decimal string or JSON number -> uint256; nullopt when neither.
[[nodiscard]] std::optional<uint256> to_u256(const json& j);

/// A settle response body.
[[nodiscard]] json settle_failure(const std::string& reason, const std::string& message,
                                  const std::string& network, const std::string& payer);

check verify_exact(chain& c, int version, const json& payload, const json& requirements);
json settle_exact(chain& c, int version, const json& payload, const json& requirements);

check verify_batch(chain& c, const json& payload, const json& requirements);
json settle_batch(chain& c, const bytes32& key, const address& signer, const json& payload,
                  const json& requirements);

}  // namespace purser::testnet::detail
