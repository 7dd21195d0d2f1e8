// Token amounts between human decimal text ("0.01") and atomic units (10000 at 6 decimals).
#pragma once

#include <string>
#include <string_view>

#include "purser/protocol/uint256.hpp"

namespace purser::protocol {

/// "1", "0.01", ".5", "12.000" -> atomic units at `decimals` (0..77). No sign, exponent or
/// thousands separators. Errors: invalid_decimal, too_many_decimals (more fractional digits than
/// `decimals`, other than trailing zeros), overflow.
[[nodiscard]] result<uint256> parse_units(std::string_view text, unsigned decimals);

/// Atomic units -> shortest exact decimal text: 10000 at 6 -> "0.01", 1000000 -> "1".
[[nodiscard]] std::string format_units(const uint256& atomic, unsigned decimals);

}  // namespace purser::protocol
