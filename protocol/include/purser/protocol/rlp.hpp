// Ethereum's Recursive Length Prefix encoding (Yellow Paper, appendix B): the byte format of
// signed transactions. Purser writes it to send its own escrow transactions (deposit, withdraw);
// the testnet chain reads it, so the decoder treats its input as hostile and accepts only the
// canonical form (one encoding per value), bounded in depth.
#pragma once

#include <vector>

#include "purser/protocol/bytes.hpp"
#include "purser/protocol/result.hpp"
#include "purser/protocol/uint256.hpp"

namespace purser::protocol::rlp {

/// A byte string item: 0x00..0x7f stand for themselves; otherwise a length prefix.
[[nodiscard]] bytes encode_string(byte_view data);
/// An integer as its big-endian bytes without leading zeros (zero is the empty string).
[[nodiscard]] bytes encode_uint(const uint256& value);
/// A list of items that are already encoded.
[[nodiscard]] bytes encode_list(const std::vector<bytes>& encoded_items);

/// A decoded item: a byte string (`is_list` false, `data`) or a list of items.
struct item {
    bool is_list = false;
    bytes data;
    std::vector<item> items;
};

/// Lists nest at most this deep; transactions need two.
inline constexpr int max_depth = 8;

/// Decodes exactly one item that spans all of `input`.
/// Errors: invalid_value (truncated, trailing bytes, a non-canonical length or single byte, too
/// deep), too_large (a length that does not fit the input).
[[nodiscard]] result<item> decode(byte_view input);

/// A string item read as an integer: at most 32 bytes, no leading zero byte.
/// Errors: wrong_type (a list), invalid_value (leading zero), overflow (over 32 bytes).
[[nodiscard]] result<uint256> to_uint(const item& it);

}  // namespace purser::protocol::rlp
