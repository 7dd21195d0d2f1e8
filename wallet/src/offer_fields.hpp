// Reading the pieces of an offer both signers need: chain id, token domain, addresses.
#pragma once

#include <string_view>

#include "purser/protocol/address.hpp"
#include "purser/protocol/messages.hpp"
#include "purser/protocol/networks.hpp"
#include "purser/protocol/x402_types.hpp"

namespace purser::wallet::detail {

/// The registry to use when the caller gave none.
[[nodiscard]] const protocol::network_registry& default_registry();

/// `text` as an address; errors are unsupported_offer naming `field`.
[[nodiscard]] result<protocol::address> offer_address(std::string_view text, std::string_view field);

/// The token's EIP-712 domain from a network id, asset text and `extra` object.
[[nodiscard]] result<protocol::eip712_domain> token_domain(std::string_view network,
                                                           std::string_view asset,
                                                           const protocol::ojson& extra,
                                                           const protocol::network_registry& registry);

}  // namespace purser::wallet::detail
