// Offer selection: which entries of `accepts` this wallet can pay, best first.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"

namespace purser::protocol {

/// What the paying side can do.
struct payment_capabilities {
    std::set<std::string> schemes{"exact"};  ///< e.g. {"exact", "batch-settlement"}
    /// When non-empty, only these networks (CAIP-2 or v1 names) are considered.
    std::set<std::string> networks;
    /// Only assets in the registry (known decimals and peg) are payable: an unknown token cannot
    /// be valued against a cap, so it is skipped rather than chosen and then declined.
    bool known_assets_only = false;
    /// `exact` transfer methods this wallet can sign (extra.assetTransferMethod; absent means
    /// eip3009). Offers naming another (permit2, erc7710) are skipped.
    std::set<std::string> transfer_methods{"eip3009"};
};

/// A payable offer with everything resolved for signing.
struct candidate {
    std::size_t index = 0;                 ///< Position in accepts.
    const payment_requirements* offer = nullptr;
    const network_info* network = nullptr;
    const asset_info* asset = nullptr;     ///< Known asset entry (decimals, peg), or nullptr.
    address asset_address;
    address pay_to;
};

/// Why each rejected offer was rejected, for the no_supported_offer error detail.
struct selection {
    std::vector<candidate> candidates;     ///< Cheapest first; ties keep the server's order.
    std::vector<std::string> rejected;     ///< "accepts[1]: scheme upto not supported", ...
};

/// Filters `required.accepts` to what can be paid: a supported scheme, a known EVM network,
/// address-valued asset and payTo, a non-zero amount, `extra.name`/`extra.version` present and a
/// supported transfer method for `exact`, a known asset when asked. Never fails; an empty `candidates` means nothing fits, and `rejected` says why.
/// The pointers refer into `required` and `registry`, which must outlive the result.
[[nodiscard]] selection select_offers(const payment_required& required,
                                      const payment_capabilities& caps,
                                      const network_registry& registry);

}  // namespace purser::protocol
