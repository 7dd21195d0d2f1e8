// Private: what the message parsers need to know about networks without building a registry.
#pragma once

#include <string_view>

namespace purser::protocol::detail {

/// True for "eip155:<anything>" and for the v1 names of EVM chains (x402.md §3), i.e. networks
/// whose payTo and asset must be 20-byte addresses.
[[nodiscard]] bool is_evm_network(std::string_view network);

}  // namespace purser::protocol::detail
