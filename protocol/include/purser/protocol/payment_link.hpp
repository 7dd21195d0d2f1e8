// EIP-681 payment links: what a phone wallet scans to send a token to an address.
#pragma once

#include <cstdint>
#include <string>

#include "purser/protocol/address.hpp"
#include "purser/protocol/uint256.hpp"

namespace purser::protocol {

/// "ethereum:<token>@<chainId>/transfer?address=<recipient>&uint256=<amount>": an ERC-20
/// transfer of `amount` atomic units (a plain integer, never scientific notation) to `recipient`.
[[nodiscard]] std::string erc20_transfer_link(const address& token, std::uint64_t chain_id,
                                              const address& recipient, const uint256& amount);

}  // namespace purser::protocol
