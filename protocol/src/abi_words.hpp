// Solidity ABI head words, as both abi.encode (call data) and EIP-712's encodeData lay them out:
// every value one 32-byte big-endian word, an address left-padded with zeros.
#pragma once

#include "purser/protocol/address.hpp"
#include "purser/protocol/bytes.hpp"
#include "purser/protocol/uint256.hpp"

namespace purser::protocol::detail {

inline void put_word(bytes& out, const bytes32& w) { out.insert(out.end(), w.begin(), w.end()); }
inline void put_uint(bytes& out, const uint256& v) { put_word(out, v.to_be_bytes()); }
inline void put_address(bytes& out, const address& a) {
    out.insert(out.end(), 12, std::uint8_t{0});
    out.insert(out.end(), a.raw().begin(), a.raw().end());
}

}  // namespace purser::protocol::detail
