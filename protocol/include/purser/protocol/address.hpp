// 20-byte Ethereum addresses and their EIP-55 mixed-case checksum form.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "purser/protocol/result.hpp"

namespace purser::protocol {

class address {
public:
    address() = default;
    explicit address(const std::array<std::uint8_t, 20>& raw) : raw_(raw) {}

    /// Parses "0x" + 40 hex digits. All-lowercase and all-uppercase are accepted as they are;
    /// mixed case must carry a valid EIP-55 checksum. Errors: invalid_address.
    [[nodiscard]] static result<address> parse(std::string_view text);

    /// EIP-55 checksummed "0x..." form (what viem's getAddress returns).
    [[nodiscard]] std::string to_checksum() const;
    /// "0x" + 40 lowercase hex digits.
    [[nodiscard]] std::string to_lower() const;

    [[nodiscard]] const std::array<std::uint8_t, 20>& raw() const { return raw_; }
    [[nodiscard]] bool is_zero() const;

    friend auto operator<=>(const address&, const address&) = default;

private:
    std::array<std::uint8_t, 20> raw_{};
};

}  // namespace purser::protocol
