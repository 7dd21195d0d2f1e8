#include "purser/protocol/select.hpp"

#include <algorithm>
#include <optional>

namespace purser::protocol {
namespace {

// Solana and other non-EVM chains: CAIP-2 ids with another namespace, or their v1 names.
bool is_non_evm(std::string_view network) {
    if (network == "solana" || network == "solana-devnet") return true;
    const auto colon = network.find(':');
    return colon != std::string_view::npos && network.substr(0, colon) != "eip155";
}

bool network_allowed(const payment_capabilities& caps, const payment_requirements& offer,
                     const network_info& net) {
    if (caps.networks.empty()) return true;
    return caps.networks.contains(offer.network) || caps.networks.contains(net.caip2) ||
           (!net.v1_name.empty() && caps.networks.contains(net.v1_name));
}

bool has_string(const ojson& obj, const char* key) {
    if (!obj.is_object()) return false;
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
}

// Atomic amounts compare as prices only in the same unit: every candidate is the same token (same
// network and address), or every candidate's token is known with the same number of decimals.
bool amounts_comparable(const std::vector<candidate>& cs) {
    if (cs.size() < 2) return true;
    const bool same_token = std::all_of(cs.begin(), cs.end(), [&](const candidate& c) {
        return c.network == cs.front().network && c.asset_address == cs.front().asset_address;
    });
    if (same_token) return true;
    std::optional<unsigned> decimals;
    for (const auto& c : cs) {
        if (c.asset == nullptr) return false;
        if (decimals && *decimals != c.asset->decimals) return false;
        decimals = c.asset->decimals;
    }
    return true;
}

}  // namespace

selection select_offers(const payment_required& required, const payment_capabilities& caps,
                        const network_registry& registry) {
    selection out;
    for (std::size_t i = 0; i < required.accepts.size(); ++i) {
        const payment_requirements& offer = required.accepts[i];
        const std::string where = "accepts[" + std::to_string(i) + "]: ";
        auto reject = [&](const std::string& why) { out.rejected.push_back(where + why); };

        if (!caps.schemes.contains(offer.scheme)) {
            reject("scheme " + offer.scheme + " not supported");
            continue;
        }
        if (is_non_evm(offer.network)) {
            reject("network " + offer.network + " is not an EVM network");
            continue;
        }
        const network_info* net = registry.find(offer.network);
        if (net == nullptr) {
            reject("network " + offer.network + " unknown");
            continue;
        }
        if (!network_allowed(caps, offer, *net)) {
            reject("network " + offer.network + " not allowed");
            continue;
        }
        if (offer.amount.is_zero()) {
            reject("amount is zero");
            continue;
        }
        auto asset = address::parse(offer.asset);
        if (!asset) {
            reject("asset is not an address (" + asset.error().detail + ")");
            continue;
        }
        auto pay_to = address::parse(offer.pay_to);
        if (!pay_to) {
            reject("payTo is not an address (" + pay_to.error().detail + ")");
            continue;
        }
        if (pay_to->is_zero()) {
            reject("payTo is the zero address");
            continue;
        }
        // `exact` signs over the token's EIP-712 domain, which only the server's extra names.
        if (offer.scheme == "exact" &&
            (!has_string(offer.extra, "name") || !has_string(offer.extra, "version"))) {
            reject("exact offer lacks extra.name/extra.version (the token's EIP-712 domain)");
            continue;
        }
        if (offer.scheme == "exact") {
            std::string method = "eip3009";
            if (offer.extra.is_object()) {
                auto m = offer.extra.find("assetTransferMethod");
                if (m != offer.extra.end() && m->is_string()) method = m->get<std::string>();
            }
            if (!caps.transfer_methods.contains(method)) {
                reject("transfer method " + method + " not supported");
                continue;
            }
        }
        const asset_info* known = registry.find_asset(*net, *asset);
        if (caps.known_assets_only && known == nullptr) {
            reject("asset " + offer.asset + " unknown on " + net->caip2 + " (cannot be valued)");
            continue;
        }
        candidate c;
        c.index = i;
        c.offer = &offer;
        c.network = net;
        c.asset = known;
        c.asset_address = *asset;
        c.pay_to = *pay_to;
        out.candidates.push_back(c);
    }
    // Cheapest first only when amounts are in the same unit; with mixed decimals (or unknown
    // tokens) atomic units say nothing about price, so the server's order stands. stable_sort
    // keeps the server's order among equal amounts.
    if (amounts_comparable(out.candidates)) {
        std::stable_sort(out.candidates.begin(), out.candidates.end(),
                         [](const candidate& a, const candidate& b) {
                             return a.offer->amount < b.offer->amount;
                         });
    }
    return out;
}

}  // namespace purser::protocol
