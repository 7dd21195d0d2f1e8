// Byte containers and the hex and base64 text forms x402 puts them in.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "purser/protocol/result.hpp"

namespace purser::protocol {

using bytes = std::vector<std::uint8_t>;
using bytes32 = std::array<std::uint8_t, 32>;
using byte_view = std::span<const std::uint8_t>;

/// Lowercase hex, with "0x" in front when `prefix` is true.
[[nodiscard]] std::string to_hex(byte_view data, bool prefix = true);

/// Parses hex with or without "0x" (either case). Errors: invalid_hex (odd length, bad digit).
[[nodiscard]] result<bytes> from_hex(std::string_view text);

/// Parses exactly 32 bytes of "0x"-prefixed hex. Errors: invalid_hex, invalid_value (length).
[[nodiscard]] result<bytes32> bytes32_from_hex(std::string_view text);

/// RFC 4648 standard base64 with '=' padding: the form every x402 header uses.
[[nodiscard]] std::string base64_encode(byte_view data);
[[nodiscard]] std::string base64_encode(std::string_view text);

/// Lenient decoder for user input: standard or URL-safe alphabet, padded or not.
/// Errors: invalid_base64, too_large (over `max_input` characters).
[[nodiscard]] result<std::string> base64_decode(std::string_view text,
                                                std::size_t max_input = 1 << 20);

/// The decoder x402 servers and clients apply to headers: standard alphabet only, '=' padding
/// allowed but no whitespace and no URL-safe characters (official Base64EncodedRegex), and a
/// length that decodes to whole bytes. Errors: invalid_base64, too_large.
[[nodiscard]] result<std::string> base64_decode_header(std::string_view text,
                                                       std::size_t max_input = 64 * 1024);

}  // namespace purser::protocol
