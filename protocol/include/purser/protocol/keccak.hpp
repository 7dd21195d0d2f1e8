// Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not NIST SHA3-256's 0x06).
#pragma once

#include <string_view>

#include "purser/protocol/bytes.hpp"

namespace purser::protocol {

/// Keccak-256 of `data`, built on nettle's Keccak-f[1600] permutation.
[[nodiscard]] bytes32 keccak256(byte_view data);
[[nodiscard]] bytes32 keccak256(std::string_view text);

}  // namespace purser::protocol
